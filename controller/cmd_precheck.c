/* godwit precheck FILE: run the precheck items now and print them. */
#include "lib/common.h"
#include "controller/commands.h"
#include "engine/precheck.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int cmd_precheck(int argc, char **argv)
{
	struct cli_opt opts[] = {{"json", NULL, NULL}};
	struct diag_list diags = DIAG_LIST_INIT;
	struct spec *spec = NULL;
	struct precheck_summary sum;
	struct precheck_list list = {NULL, 0};
	struct progress prog;
	struct action_io io;
	struct buf out = BUF_INIT;
	volatile int never = 0;
	char **pos = NULL;
	size_t npos = 0, i;
	int rc = 2;

	if (cli_parse("precheck", argc, argv, opts, 0, &pos, &npos))
		return 2;
	if (npos != 1) {
		fprintf(stderr,
			"godwit precheck: one spec FILE expected (see godwit precheck --help)\n");
		goto out;
	}
	if (spec_load_file(&spec, pos[0], &diags) < 0) {
		if (diag_list_format(&out, &diags) == 0)
			fputs(buf_cstr(&out), stderr);
		rc = 1;
		goto out;
	}
	log_set_level(LOG_ERROR);
	progress_init(&prog);
	memset(&io, 0, sizeof(io));
	io.spec = spec;
	io.task = spec->name;
	io.cancel = &never;
	io.stop_requested = &never;
	io.progress = &prog;
	if (precheck_run(&io, &sum, &list) < 0) {
		fprintf(stderr, "godwit precheck: %s: %s\n", spec->name, io.err.msg);
		rc = 1;
	} else {
		printf("%-24s %-6s %s\n", "ITEM", "RESULT", "CAUSE / FIX");
		for (i = 0; i < list.n; i++) {
			const struct precheck_item *it = &list.items[i];
			printf("%-24s %-6s %s\n", it->id, precheck_result_name(it->result),
			       it->cause);
			if (it->result != PC_PASS && it->fix[0])
				printf("%-24s %-6s fix: %s\n", "", "", it->fix);
		}
		printf("\n%d passed, %d warned, %d failed\n", sum.passed, sum.warned, sum.failed);
		rc = sum.failed ? 1 : 0;
	}
	free(list.items);
	buf_release(&io.report);
	progress_release(&prog);
out:
	free(pos);
	spec_free(spec);
	diag_list_release(&diags);
	buf_release(&out);
	return rc;
}
