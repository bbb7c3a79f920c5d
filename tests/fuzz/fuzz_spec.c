/* libFuzzer target: the spec loader on arbitrary bytes. */
#include "lib/common.h"
#include "lib/buf.h"
#include "spec/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct buf out = BUF_INIT;
	struct spec *s = NULL;
	int r = spec_load_buffer(&s, "fuzz.yaml", (const char *)data, size, &diags);

	/* Either a spec or at least one diagnostic, never both. */
	if ((r == 0) != (s != NULL) || (r == 0) != (diags.n == 0))
		abort();
	if (diag_list_format(&out, &diags) == 0 && diags.n && !strstr(buf_cstr(&out), "fuzz.yaml:"))
		abort();
	/* Each diagnostic: a real position, one short line of text. */
	for (size_t i = 0; i < diags.n; i++) {
		const struct diag *d = &diags.items[i];

		if (d->line < 1 || d->col < 1 || !d->msg[0] || strlen(d->msg) > 600 ||
		    strpbrk(d->msg, "\n\r"))
			abort();
		/* sorted by position, but for the cut-off notice at the end */
		if (i && strcmp(d->msg, "too many errors; giving up") &&
		    (d->line < d[-1].line || (d->line == d[-1].line && d->col < d[-1].col)))
			abort();
	}
	if (s) {
		const struct table_sel *t = NULL;
		size_t i;

		for (i = 0; i < s->nobjects; i++) {
			const struct object_sel *o = &s->objects[i];

			(void)spec_dest_database(o);
			if (o->ntables &&
			    spec_table_selected(s, o->database, o->tables[0].name, &t)) {
				(void)spec_dest_table(t, o->tables[0].name);
				(void)spec_column_selected(t, "id");
				(void)spec_dest_column(t, "id");
			}
		}
		if (strlen(s->hash) != 64 || strlen(s->immutable_hash) != 64)
			abort();
	}
	spec_free(s);
	diag_list_release(&diags);
	buf_release(&out);
	return 0;
}
