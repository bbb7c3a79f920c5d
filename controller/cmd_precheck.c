/*
 * godwit precheck FILE [--json]: run the precheck items now and print them
 * as a table (or one JSON object); exit 1 when any item fails, 2 on usage
 * errors.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "engine/precheck.h"
#include "lib/json.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* --json: {"items": [{"id", "result", "cause", "fix"}...], "passed",
 * "warned", "failed"} on one line. */
static int print_json(const struct precheck_list *l, const struct precheck_summary *sum)
{
	struct buf b = BUF_INIT;
	size_t i;
	int e = buf_puts(&b, "{\"items\": [");

	for (i = 0; i < l->n && e == 0; i++) {
		const struct precheck_item *it = &l->items[i];
		e |= buf_puts(&b, i ? ", {\"id\": " : "{\"id\": ");
		e |= json_str(&b, it->id);
		e |= buf_printf(
		    &b, ", \"result\": \"%s\", \"cause\": ", precheck_result_name(it->result));
		e |= json_str(&b, it->cause);
		e |= buf_puts(&b, ", \"fix\": ");
		e |= json_str(&b, it->fix);
		e |= buf_putc(&b, '}');
	}
	e |= buf_printf(&b, "], \"passed\": %d, \"warned\": %d, \"failed\": %d}\n", sum->passed,
			sum->warned, sum->failed);
	if (e) {
		fprintf(stderr, "godwit precheck: out of memory\n");
		buf_release(&b);
		return 1;
	}
	fputs(buf_cstr(&b), stdout);
	buf_release(&b);
	return sum->failed ? 1 : 0;
}

int cmd_precheck(int argc, char **argv)
{
	bool json = false;
	struct cli_opt opts[] = {{"json", NULL, &json}};
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

	if (cli_parse("precheck", argc, argv, opts, ARRAY_SIZE(opts), &pos, &npos))
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
	} else if (json) {
		rc = print_json(&list, &sum);
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
