/*
 * `godwit controller (--dir DIR | --git URL [--branch B] [--path P]
 * [--interval 30s]) [--state-dir DIR] [--once] [--notify-url URL]
 * [--log-level LEVEL]`.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "controller/controller.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/banned.h"

static const char usage[] =
    "usage: godwit controller (--dir DIR | --git URL [--branch B] [--path P] [--interval 30s])\n"
    "                         [--state-dir DIR] [--once] [--notify-url URL] [--log-level LEVEL]\n"
    "                         [--verify-commits FILE] [--commit-status URL [--status-url-base "
    "URL]]\n";

int cmd_controller(int argc, char **argv)
{
	struct controller_opts o = {0};
	struct gw_err err = GW_ERR_INIT;
	const char *interval = NULL, *level = NULL;
	bool help = false;
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
	o.actions = &engine_actions;
	rc = controller_run(&o, &err);
	if (rc == 2)
		fprintf(stderr, "godwit controller: %s\n", err.msg);
	return rc;
}
