/* Precheck items, kept for `godwit precheck` to print as a table. */
#ifndef GODWIT_PRECHECK_H
#define GODWIT_PRECHECK_H

#include "reconcile/actions.h"

enum precheck_result { PC_PASS, PC_WARN, PC_FAIL };

struct precheck_item {
	char id[48];
	enum precheck_result result;
	char cause[1024];
	char fix[1024];
};

struct precheck_list {
	struct precheck_item *items;
	size_t n;
};

/* engine_precheck, also returning the items (caller frees list->items). */
int precheck_run(struct action_io *io, struct precheck_summary *out, struct precheck_list *list);
const char *precheck_result_name(enum precheck_result r);

#endif
