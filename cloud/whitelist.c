/*
 * The whitelist action: for rds endpoints, the controller's addresses
 * (spec.whitelist.cidrs) in the whitelist group "godwit" of each instance;
 * removed again when the migration ends. Self-managed endpoints: not
 * applicable (GW_ENOTFOUND), which the controller reports as such.
 */
#include "lib/common.h"
#include "cloud/cloud.h"
#include "engine/engine.h"
#include "lib/log.h"

#include "lib/banned.h"

int cloud_whitelist_action(struct action_io *io, int add)
{
	const struct spec *s = io->spec;
	const struct endpoint *eps[2] = {&s->source, &s->destination};
	const char *roles[2] = {"source", "destination"};
	bool any = false;
	size_t i;
	int r;

	for (i = 0; i < 2; i++) {
		if (!eps[i]->is_rds)
			continue;
		any = true;
		if ((r = cloud_whitelist_apply(eps[i], s->whitelist_cidrs, s->nwhitelist, add,
					       io->task, &io->err)) < 0) {
			err_prefix(&io->err, "whitelist of the %s", roles[i]);
			/* The step is recorded only when both instances took the
			 * entries: the source's are taken back rather than left
			 * behind by a migration that may never be removed. */
			if (add && i == 1 && eps[0]->is_rds) {
				struct gw_err undo = GW_ERR_INIT;
				if (cloud_whitelist_apply(eps[0], s->whitelist_cidrs, s->nwhitelist,
							  0, io->task, &undo) < 0)
					log_warn(io->task,
						 "whitelist of the source: not taken back: %s",
						 undo.msg);
			}
			return r;
		}
		if (buf_printf(&io->report,
			       "whitelist:\n  %s: {instance: %s, group: godwit, %s: %zu}\n",
			       roles[i], eps[i]->rds.instance_id, add ? "added" : "removed",
			       s->nwhitelist) < 0)
			return err_set(&io->err, GW_ENOMEM, "out of memory");
	}
	if (!any)
		return err_set(&io->err, GW_ENOTFOUND,
			       "whitelist: not applicable (no rds endpoint)");
	return 0;
}
