/*
 * The controller's loop: follows a spec source (controller/source.h), keeps
 * one struct task per migration, ticks every task on each source change and
 * on a timer, writes the status files, and handles signals (SIGTERM/SIGINT:
 * cancel workers, they checkpoint, exit; SIGHUP: rescan now). The loop only
 * polls; every action and every connection runs in a task's threads.
 */
#ifndef GODWIT_CONTROLLER_H
#define GODWIT_CONTROLLER_H

#include "lib/common.h"
#include "lib/err.h"
#include "reconcile/actions.h"

struct controller_opts {
	const char *dir;
	const char *git_url;
	const char *branch;
	const char *path;
	int64_t interval_ms;
	const char *state_dir;
	bool once;
	const char *notify_url;
	const char *verify_commits;    /* --verify-commits FILE (with --git) */
	const char *commit_status;     /* --commit-status URL (with --git) */
	const char *status_url_base;   /* --status-url-base URL */
	const struct actions *actions; /* &engine_actions */
	int64_t tick_ms;	       /* timer period; default 500 */
	int64_t shutdown_grace_ms;     /* how long SIGTERM waits for workers */
	int max_migrations;	       /* drive at most this many at once; 0: all */
	const char *id;		       /* this controller's name; NULL: host:pid */
	const char *listen;	       /* [ADDR:]PORT of the HTTP endpoint; NULL: none */
};

/* Runs until a signal (0) or, with --once, until every migration is steady
 * (0, or 1 if one is Invalid, PrecheckFailed or Failed). Returns 2 on a
 * setup error (message in *err). */
int controller_run(const struct controller_opts *o, struct gw_err *err);

#endif
