/* godwit: entry point, the command table and --help. */
#include "lib/common.h"
#include "controller/commands.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *summary;
	const char *help; /* flags and details */
};

static const struct command commands[] = {
    {"validate", cmd_validate, "godwit validate PATH...", "check specs; exit 1 on any error",
     "  PATH is a spec file or a directory (walked for *.yaml and *.yml).\n"
     "  Prints \"FILE: ok\" per valid spec, or FILE:LINE:COL: message per problem.\n"
     "  Exit 0 when every spec is valid, 1 otherwise.\n"},
    {"plan", cmd_plan,
     "godwit plan PATH... [--state-dir DIR] [--format text|json]\n"
     "       godwit plan --git-range BASE..HEAD [--path DIR] [--state-dir DIR]\n"
     "                   [--format markdown|json]",
     "what the controller would do next, per spec; what merging a pull request will do",
     "  --state-dir DIR  where the controller keeps its state (default ./godwit-state\n"
     "                   or $GODWIT_STATE_DIR; with --git-range only when given)\n"
     "  --format F       text (default) or json; with --git-range markdown (default)\n"
     "                   or json (--json is --format json)\n"
     "  --git-range BASE..HEAD\n"
     "                   plan the specs that the commits BASE..HEAD of the git\n"
     "                   repository here add, change or delete (from the merge base\n"
     "                   to HEAD), judged against BASE's: new migrations and their\n"
     "                   steps, pause, cutover with its stop settings, deletions (a\n"
     "                   stop; data kept), changes refused as SpecImmutable (certain\n"
     "                   with --state-dir, else a warning), conflicts with other\n"
     "                   specs, invalid specs. Exit 0 when clean, 1 with errors, 2\n"
     "                   when the range cannot be read. Markdown for a pull request\n"
     "                   comment (samples/.github/workflows/godwit-plan.yml).\n"
     "  --path DIR       with --git-range: the folder of the specs (default: all)\n"
     "  Read-only: connects to nothing. Irreversible actions are marked\n"
     "  [IRREVERSIBLE] (text) or **IRREVERSIBLE** (markdown).\n"},
    {"precheck", cmd_precheck, "godwit precheck FILE", "run the precheck items now and print them",
     "  Prints every item with pass, warn or fail, the cause and the fix.\n"
     "  Exit 1 when any item fails.\n"},
    {"controller", cmd_controller,
     "godwit controller (--dir DIR | --git URL [--branch B] [--path P] [--interval 30s])\n"
     "                  [--state-dir DIR] [--once] [--notify-url URL]\n"
     "                  [--max-migrations N] [--id NAME] [--listen [ADDR:]PORT]\n"
     "                  [--secret-env-prefix P] [--secret-dir DIR[:DIR...]]\n"
     "                  [--follow-symlinks] [--state-group-read]\n"
     "                  [--verify-commits FILE] [--commit-status URL [--status-url-base URL]]",
     "watch specs and drive each migration until it converges",
     "  --dir DIR          follow a directory of specs (inotify)\n"
     "  --git URL          follow a branch of a git repository (file://, https, ssh)\n"
     "  --branch B         branch to follow (default: the remote's HEAD)\n"
     "  --path P           folder of the repository holding specs (default: all)\n"
     "  --interval D       how often to fetch (default 30s), or with --dir to rescan\n"
     "                     the whole directory besides inotify (default 60s)\n"
     "  --state-dir DIR    status files, audit log, metrics (default ./godwit-state)\n"
     "  --once             reconcile until every migration is steady, then exit:\n"
     "                     0 if none is Invalid, PrecheckFailed or Failed and none\n"
     "                     is refused for a Conflict with another spec, else 1\n"
     "  --notify-url URL   POST a JSON document on every phase change\n"
     "  --verify-commits FILE\n"
     "                     with --git: act only on a tip commit whose signature\n"
     "                     verifies against FILE and that descends from the commit\n"
     "                     last verified; otherwise keep the specs of that commit\n"
     "                     (condition Verified, audit line, `godwit status`).\n"
     "                     FILE is an OpenPGP keyring when it starts with\n"
     "                     '-----BEGIN PGP PUBLIC KEY BLOCK-----' or is binary\n"
     "                     (gpg --export, a keybox): checked with gpgv; any other\n"
     "                     file is an SSH allowed-signers file (git's\n"
     "                     gpg.ssh.allowedSignersFile): checked with ssh-keygen -Y\n"
     "                     (namespace git; the signer is the file's principal)\n"
     "  --commit-status URL\n"
     "                     with --git: set a commit status 'godwit/NAME' on the\n"
     "                     commit that last changed each spec (pending, success,\n"
     "                     failure). URL is the repository's API URL:\n"
     "                     https://api.github.com/repos/OWNER/REPO,\n"
     "                     https://HOST/api/v1/repos/OWNER/REPO (Gitea, Forgejo) or\n"
     "                     https://HOST/api/v4/projects/ID (GitLab). The token comes\n"
     "                     from GODWIT_FORGE_TOKEN, is sent to that host only,\n"
     "                     over https (plain http to loopback only), never logged\n"
     "  --status-url-base URL\n"
     "                     the statuses' link: URL/NAME\n"
     "  --log-level L      error, warn, info (default) or debug\n"
     "  --max-migrations N drive at most N migrations at once; converged ones let\n"
     "                     their lock go; other replicas on the same specs take the\n"
     "                     rest (default: no limit)\n"
     "  --id NAME          this controller's name in status and logs (default\n"
     "                     host:pid)\n"
     "  --listen [A:]PORT  serve /metrics, /healthz, /readyz and /status over HTTP\n"
     "                     (a bare port listens on 127.0.0.1; default: off)\n"
     "  --secret-env-prefix P  fromEnv may name only variables starting with P\n"
     "                     (default: any variable but the controller's own:\n"
     "                     ALIBABA_CLOUD_*, GODWIT_*, proxy settings)\n"
     "  --secret-dir DIRS  fromFile may name only regular files inside these\n"
     "                     directories, ':'-separated (default: any regular file but\n"
     "                     the controller's own: /proc, /sys, its state directory,\n"
     "                     $GODWIT_GIT_SSH_KEY, ~/.ssh, ~/.git-credentials, ~/.netrc,\n"
     "                     ~/.aliyun)\n"
     "  --follow-symlinks  also read specs that are symlinks to files outside --dir\n"
     "                     (default: not read, with a warning)\n"
     "  --state-group-read state directory 0750 and its files 0640, for a reader in\n"
     "                     the directory's group (default 0700 and 0600)\n"
     "  Credentials in a --git URL are kept out of logs and the state directory;\n"
     "  prefer $GODWIT_GIT_TOKEN. See docs/security.md.\n"
     "  SIGTERM/SIGINT checkpoint and exit; SIGHUP rescans or fetches now.\n"},
    {"status", cmd_status, "godwit status [NAME] [--state-dir DIR] [--json]",
     "show migrations and where they stand",
     "  Without NAME: a table of every migration. With NAME: its conditions,\n"
     "  precheck results and recent audit entries.\n"
     "  --state-dir DIR  (default ./godwit-state or $GODWIT_STATE_DIR)\n"
     "  --json           machine-readable output\n"},
    {"verify", cmd_verify, "godwit verify FILE [--state-dir DIR]",
     "compare source and destination data, chunk by chunk",
     "  Checksums each chunk on both servers, drills into mismatches and lists\n"
     "  the differing keys, re-checking before reporting. Exit 0 when equal,\n"
     "  1 with a report when not.\n"
     "  --state-dir DIR  also keep the report as DIR/tasks/NAME/verify.yaml\n"},
    {"binlog", cmd_binlog, "godwit binlog FILE...",
     "decode binlog files offline: one JSON object per event",
     "  Reads MySQL 5.5-9.x and MariaDB binlog files (also .gz), including\n"
     "  compressed transaction payloads and binary JSON.\n"},
    {"_action", cmd_action, "godwit _action FILE ACTION", NULL,
     "  Runs one engine action once (for tests and debugging).\n"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "godwit %s: declarative MySQL/MariaDB migrations\n\nUsage:\n", GODWIT_VERSION);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary) /* hidden commands have none */
			fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n  godwit COMMAND --help   flags of one command\n"
		   "  godwit --version\n");
}

int main(int argc, char **argv)
{
	size_t i;
	int j;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("godwit %s\n", GODWIT_VERSION);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		/* After "--" everything is a name, even "--help". */
		for (j = 2; j < argc && strcmp(argv[j], "--"); j++) {
			if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
				printf("Usage: %s\n\n%s.\n\n%s", commands[i].usage,
				       commands[i].summary ? commands[i].summary : "internal",
				       commands[i].help);
				return 0;
			}
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	if (argv[1][0] == '-')
		fprintf(stderr, "godwit: unknown flag %s (see godwit --help)\n", argv[1]);
	else
		fprintf(stderr, "godwit: unknown command '%s' (see godwit --help)\n", argv[1]);
	return 2;
}
