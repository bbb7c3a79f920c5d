/* godwit verify FILE [--state-dir DIR]: compare source and destination. */
#include "lib/common.h"
#include "controller/commands.h"
#include "engine/engine.h"
#include "lib/log.h"
#include "lib/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static volatile int verify_cancel;

static void on_signal(int sig)
{
	(void)sig;
	verify_cancel = 1;
}

int cmd_verify(int argc, char **argv)
{
	const char *state_dir = NULL;
	struct cli_opt opts[] = {{"state-dir", &state_dir, NULL}};
	struct diag_list diags = DIAG_LIST_INIT;
	struct spec *spec = NULL;
	struct progress prog;
	struct action_io io;
	struct buf out = BUF_INIT;
	char **pos = NULL;
	size_t npos = 0;
	int r, rc = 2;

	if (cli_parse("verify", argc, argv, opts, ARRAY_SIZE(opts), &pos, &npos))
		return 2;
	if (npos != 1) {
		fprintf(stderr,
			"godwit verify: one spec FILE expected (see godwit verify --help)\n");
		goto out;
	}
	if (spec_load_file(&spec, pos[0], &diags) < 0) {
		if (diag_list_format(&out, &diags) == 0)
			fputs(buf_cstr(&out), stderr);
		rc = 1;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	log_set_level(LOG_WARN);
	progress_init(&prog);
	memset(&io, 0, sizeof(io));
	io.spec = spec;
	io.task = spec->name;
	io.state_dir = state_dir;
	io.cancel = &verify_cancel;
	io.stop_requested = &verify_cancel;
	io.progress = &prog;
	r = engine_verify(&io);
	fputs(buf_cstr(&io.report), stdout);
	if (state_dir && io.report.len) {
		struct buf path = BUF_INIT, dir = BUF_INIT;
		if (buf_printf(&dir, "%s/tasks/%s", state_dir, spec->name) == 0 &&
		    buf_printf(&path, "%s/verify.yaml", buf_cstr(&dir)) == 0 &&
		    util_mkdir_p(buf_cstr(&dir), 0755) == 0)
			(void)util_write_file_atomic(buf_cstr(&path), io.report.ptr, io.report.len);
		buf_release(&path);
		buf_release(&dir);
	}
	if (r < 0 && !(r == GW_EFATAL && io.report.len))
		fprintf(stderr, "godwit verify: %s: %s\n", spec->name, io.err.msg);
	rc = r == 0 ? 0 : 1;
	buf_release(&io.report);
	progress_release(&prog);
out:
	free(pos);
	spec_free(spec);
	diag_list_release(&diags);
	buf_release(&out);
	return rc;
}
