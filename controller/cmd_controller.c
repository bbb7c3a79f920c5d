/*
 * `godwit controller (--dir DIR | --git URL [--branch B] [--path P]
 * [--interval 30s]) [--state-dir DIR] [--once] [--notify-url URL]
 * [--log-level LEVEL] [--max-migrations N] [--id NAME] [--listen
 * [ADDR:]PORT] [--secret-env-prefix P] [--secret-dir DIR[:DIR]]
 * [--follow-symlinks] [--state-group-read]`.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "controller/controller.h"
#include "controller/source.h"
#include "lib/log.h"
#include "lib/util.h"
#include "spec/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

static const char usage[] =
    "usage: godwit controller (--dir DIR | --git URL [--branch B] [--path P] [--interval 30s])\n"
    "                         [--state-dir DIR] [--once] [--notify-url URL] [--log-level LEVEL]\n"
    "                         [--max-migrations N] [--id NAME] [--listen [ADDR:]PORT]\n"
    "                         [--secret-env-prefix P] [--secret-dir DIR[:DIR...]]\n"
    "                         [--follow-symlinks] [--state-group-read]\n"
    "                         [--verify-commits FILE] [--commit-status URL [--status-url-base "
    "URL]]\n";

/*
 * The state directory: made private (0700, or 0750 with
 * --state-group-read) even when it exists already, and everything the
 * process creates (libgit2's files too) follows the same mode. Its files
 * are the controller's own: never handed out as a secret.
 */
static int private_state(const char *dir, bool group)
{
	struct gw_err err = GW_ERR_INIT;
	struct stat st;
	int r;

	util_set_group_readable(group);
	umask(group ? 027 : 077);
	if ((r = util_mkdir_p(dir, util_dir_mode())) < 0) {
		fprintf(stderr, "godwit controller: state directory %s: %s\n", dir, strerror(-r));
		return 2;
	}
	if (stat(dir, &st) == 0 && (st.st_mode & 07777 & ~util_dir_mode()) &&
	    st.st_uid == geteuid() && chmod(dir, util_dir_mode()) < 0) {
		fprintf(stderr, "godwit controller: state directory %s: %s\n", dir,
			strerror(errno));
		return 2;
	}
	if (spec_secret_protect_path(dir, &err) < 0) {
		fprintf(stderr, "godwit controller: state directory %s\n", err.msg);
		return 2;
	}
	return 0;
}

/* Blanks the user part of a URL in place: the argument is in argv, which
 * the process list shows. */
static void blank_userinfo(char *url)
{
	char *p = strstr(url, "://"), *at = NULL, *q;

	if (!p)
		return;
	for (q = p + 3; *q && *q != '/'; q++)
		if (*q == '@')
			at = q;
	for (q = p + 3; at && q < at; q++)
		*q = '*';
}

int cmd_controller(int argc, char **argv)
{
	struct controller_opts o = {0};
	struct gw_err err = GW_ERR_INIT;
	const char *interval = NULL, *level = NULL, *max = NULL, *env_prefix = NULL,
		   *secret_dirs = NULL;
	char *clean_url = NULL;
	bool help = false, follow_links = false, group_read = false;
	const struct cli_opt opts[] = {
	    {"dir", &o.dir, NULL},
	    {"git", &o.git_url, NULL},
	    {"branch", &o.branch, NULL},
	    {"path", &o.path, NULL},
	    {"interval", &interval, NULL},
	    {"state-dir", &o.state_dir, NULL},
	    {"once", NULL, &o.once},
	    {"notify-url", &o.notify_url, NULL},
	    {"log-level", &level, NULL},
	    {"help", NULL, &help},
	    {"secret-env-prefix", &env_prefix, NULL},
	    {"secret-dir", &secret_dirs, NULL},
	    {"follow-symlinks", NULL, &follow_links},
	    {"state-group-read", NULL, &group_read},
	    {"max-migrations", &max, NULL},
	    {"id", &o.id, NULL},
	    {"listen", &o.listen, NULL},
	    {"verify-commits", &o.verify_commits, NULL},
	    {"commit-status", &o.commit_status, NULL},
	    {"status-url-base", &o.status_url_base, NULL},
	};
	char **pos = NULL;
	size_t npos = 0;
	int rc;

	if ((rc = cli_parse("controller", argc, argv, opts, ARRAY_SIZE(opts), &pos, &npos)) != 0)
		return rc;
	free(pos);
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	if (npos || (!o.dir == !o.git_url) || (o.dir && (o.branch || o.path))) {
		fprintf(stderr,
			"godwit controller: give exactly one of --dir or --git "
			"(--branch and --path go with --git)\n%s",
			usage);
		return 2;
	}
	if ((o.verify_commits || o.commit_status) && !o.git_url) {
		fprintf(stderr, "godwit controller: --%s goes with --git\n",
			o.verify_commits ? "verify-commits" : "commit-status");
		return 2;
	}
	if (o.status_url_base && !o.commit_status) {
		fprintf(stderr, "godwit controller: --status-url-base goes with --commit-status\n");
		return 2;
	}
	if (interval && (util_parse_duration(&o.interval_ms, interval) < 0 || o.interval_ms <= 0)) {
		fprintf(stderr, "godwit controller: --interval %s: not a duration (e.g. 30s, 5m)\n",
			interval);
		return 2;
	}
	if (max) {
		int64_t n;

		if (util_parse_int64(&n, max, 1, 100000) < 0) {
			fprintf(
			    stderr,
			    "godwit controller: --max-migrations %s: a number from 1 to 100000\n",
			    max);
			return 2;
		}
		o.max_migrations = (int)n;
	}
	if (o.id && (!*o.id || strlen(o.id) > 100 || strpbrk(o.id, "\"\\\n\r\t"))) {
		fprintf(stderr, "godwit controller: --id: 1 to 100 characters, no quotes, "
				"backslashes or control characters\n");
		return 2;
	}
	if (!level)
		level = getenv("GODWIT_LOG_LEVEL");
	if (level) {
		if (log_level_parse(level) < 0) {
			fprintf(stderr,
				"godwit controller: --log-level %s: one of error, warn, "
				"info, debug\n",
				level);
			return 2;
		}
		log_set_level((enum log_level)log_level_parse(level));
	}
	if (!o.state_dir)
		o.state_dir = cli_default_state_dir();
	if ((rc = private_state(o.state_dir, group_read)) != 0)
		return rc;
	if (spec_secret_policy_set(env_prefix, secret_dirs, &err) < 0) {
		fprintf(stderr, "godwit controller: %s\n", err.msg);
		return 2;
	}
	source_dir_follow_outside_links(follow_links);
	if (o.git_url) {
		if ((rc = source_git_url_take_credential(&clean_url, o.git_url)) < 0) {
			fprintf(stderr, "godwit controller: out of memory\n");
			return 2;
		}
		if (rc == 1) {
			blank_userinfo((char *)o.git_url);
			log_warn(NULL,
				 "--git %s: the URL carries a credential: it is kept out of logs "
				 "and the state directory, but the process list showed it at "
				 "start: prefer GODWIT_GIT_TOKEN",
				 clean_url);
		}
		o.git_url = clean_url;
	}
	o.actions = &engine_actions;
	rc = controller_run(&o, &err);
	if (rc == 2)
		fprintf(stderr, "godwit controller: %s\n", err.msg);
	free(clean_url);
	return rc;
}
