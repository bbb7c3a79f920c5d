/*
 * `godwit _action FILE ACTION`: runs one action of the engine once, outside
 * the controller, and prints its report. Not part of the user contract;
 * for tests and for engineers debugging one action.
 * ACTION: precheck | whitelist-add | whitelist-remove | schema |
 *         schema-after-full | schema-cutover | full | incremental | verify
 * For incremental, the file $GODWIT_STOP_FILE appearing requests the stop.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "engine/engine.h"
#include "lib/log.h"
#include "lib/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

static volatile int action_cancel;
static volatile int action_stop;

static void on_signal(int sig)
{
	(void)sig;
	action_cancel = 1;
}

static void *stop_watcher(void *arg)
{
	const char *path = arg;

	while (!action_cancel && !action_stop) {
		if (access(path, F_OK) == 0)
			action_stop = 1;
		util_sleep_ms(100, &action_cancel);
	}
	return NULL;
}

int cmd_action(int argc, char **argv)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct action_io io;
	struct progress prog;
	struct spec *spec = NULL;
	struct precheck_summary ps;
	const char *what, *stop_file = getenv("GODWIT_STOP_FILE");
	struct buf out = BUF_INIT;
	pthread_t watcher;
	bool watching = false;
	int r, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: godwit _action FILE ACTION\n");
		return 2;
	}
	if (getenv("GODWIT_LOG_LEVEL") && log_level_parse(getenv("GODWIT_LOG_LEVEL")) >= 0)
		log_set_level((enum log_level)log_level_parse(getenv("GODWIT_LOG_LEVEL")));
	if (spec_load_file(&spec, argv[1], &diags) < 0) {
		if (diag_list_format(&out, &diags) == 0)
			fputs(buf_cstr(&out), stderr);
		diag_list_release(&diags);
		buf_release(&out);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	progress_init(&prog);
	memset(&io, 0, sizeof(io));
	io.spec = spec;
	io.task = spec->name;
	io.cancel = &action_cancel;
	io.stop_requested = &action_stop;
	io.progress = &prog;
	what = argv[2];
	if (!strcmp(what, "precheck")) {
		memset(&ps, 0, sizeof(ps));
		r = engine_actions.precheck(&io, &ps);
		printf("passed: %d\nwarned: %d\nfailed: %d\n", ps.passed, ps.warned, ps.failed);
	} else if (!strcmp(what, "whitelist-add") || !strcmp(what, "whitelist-remove")) {
		r = engine_actions.whitelist(&io, !strcmp(what, "whitelist-add"));
	} else if (!strcmp(what, "schema")) {
		r = engine_actions.schema(&io, SCHEMA_CREATE);
	} else if (!strcmp(what, "schema-after-full")) {
		r = engine_actions.schema(&io, SCHEMA_AFTER_FULL);
	} else if (!strcmp(what, "schema-cutover")) {
		r = engine_actions.schema(&io, SCHEMA_CUTOVER);
	} else if (!strcmp(what, "full")) {
		r = engine_actions.full(&io);
	} else if (!strcmp(what, "incremental")) {
		if (stop_file &&
		    pthread_create(&watcher, NULL, stop_watcher, (void *)stop_file) == 0)
			watching = true;
		r = engine_actions.incremental(&io);
		action_cancel = 1;
		if (watching)
			pthread_join(watcher, NULL);
	} else if (!strcmp(what, "verify")) {
		r = engine_actions.verify(&io);
	} else {
		fprintf(stderr, "godwit _action: unknown action '%s'\n", what);
		rc = 2;
		goto out;
	}
	if (io.report.len)
		fputs(buf_cstr(&io.report), stdout);
	if (io.warning[0])
		printf("warning: %s\n", io.warning);
	{
		char pos[4096];
		progress_get_position(&prog, pos, sizeof(pos));
		printf("rows: %llu/%llu\nevents: %llu\nposition: %s\n",
		       (unsigned long long)prog.rows_done, (unsigned long long)prog.rows_total,
		       (unsigned long long)prog.events_applied, pos);
	}
	if (r < 0)
		fprintf(stderr, "godwit _action %s: %s: %s\n", what, err_code_name(r), io.err.msg);
	printf("result: %s\n", r == 0 ? "ok" : err_code_name(r));
	rc = r == 0 ? 0 : 1;
out:
	buf_release(&io.report);
	progress_release(&prog);
	spec_free(spec);
	buf_release(&out);
	return rc;
}
