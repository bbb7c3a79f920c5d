/*
 * The whitelist action: for rds endpoints, the controller's addresses
 * (spec.whitelist.cidrs) in the whitelist group "godwit" of each instance;
 * removed again when the migration ends. Self-managed endpoints: not
 * applicable (GW_ENOTFOUND), which the controller reports as such.
 *
 * What is added is recorded on the destination first (godwit_meta's
 * whitelist table, engine/meta.h: the instance, region, account and role,
 * the cidrs; no secret). The record is an intent: written before the
 * entries are added, forgotten when they are removed. It serves twice:
 *  - a migration whose spec and state directory are both gone can still
 *    take its entries back: the controller builds its spec from the
 *    record (controller.c, adopt_orphan), and the removal takes what the
 *    record holds as well as what the spec says;
 *  - the group is shared: migrations of one controller put the same
 *    address in it. An entry another migration recorded for the same
 *    instance (in this meta database) stays when one migration ends.
 * NEEDSWORK: a migration recorded in another destination's meta database
 * is not seen: two migrations from one source instance to two
 * destinations with the same cidrs still take each other's entry away.
 */
#include "lib/common.h"
#include "cloud/cloud.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static const char *const roles[2] = {"source", "destination"};

static bool has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv;

	if (has(*v, *n, s))
		return 0;
	if (!(nv = realloc(*v, (*n + 1) * sizeof(*nv))) || !(nv[*n] = strdup(s))) {
		if (nv)
			*v = nv;
		return GW_ENOMEM;
	}
	*v = nv;
	(*n)++;
	return 0;
}

/* Records the entries about to be added, on the destination. */
static int record_add(const struct spec *s, const struct endpoint *const eps[2], const char *task,
		      struct gw_err *err)
{
	const char *db = meta_database_of(s);
	MYSQL *m = NULL;
	size_t i;
	int r;

	if ((r = conn_open(&m, &s->destination, "destination", CONN_DEFAULT, task, err)) < 0)
		return r;
	for (i = 0; i < 2 && r == 0; i++)
		if (eps[i]->is_rds)
			r = meta_whitelist_record(m, db, task, roles[i], &eps[i]->rds,
						  s->whitelist_cidrs, s->nwhitelist, err);
	mysql_close(m);
	return r;
}

/*
 * What to take out of each instance's group: the spec's cidrs and those
 * recorded for the task on that instance, but none another migration
 * recorded there. The task's record is forgotten here, before the
 * destination's entries go (they may be this controller's way in).
 */
static int plan_remove(char **out[2], size_t nout[2], const struct spec *s,
		       const struct endpoint *const eps[2], const char *task, struct gw_err *err)
{
	const char *db = meta_database_of(s);
	struct meta_wl_entry *all = NULL;
	char **mine = NULL;
	size_t nall = 0, nmine, i, j, k;
	MYSQL *m = NULL;
	int r;

	if ((r = conn_open(&m, &s->destination, "destination", CONN_DEFAULT, task, err)) < 0 ||
	    (r = meta_whitelist_list(&all, &nall, m, db, NULL, err)) < 0) {
		/* The spec's cidrs are known without the record: they go (shared
		 * or not) rather than stay behind. Without any, the record is all
		 * there is: try again. */
		if (!s->nwhitelist)
			goto out;
		log_warn(task,
			 "whitelist: the entries recorded on the destination cannot be read (%s): "
			 "removing whitelist.cidrs, shared with other migrations or not",
			 err->msg);
		for (i = 0; i < 2; i++)
			for (j = 0; j < s->nwhitelist && eps[i]->is_rds; j++)
				if (push(&out[i], &nout[i], s->whitelist_cidrs[j]) < 0) {
					r = GW_ENOMEM;
					goto out;
				}
		err_clear(err);
		r = 0;
		goto out;
	}
	for (i = 0; i < 2 && r == 0; i++) {
		if (!eps[i]->is_rds)
			continue;
		nmine = 0;
		for (j = 0; j < s->nwhitelist && r == 0; j++)
			r = push(&mine, &nmine, s->whitelist_cidrs[j]);
		for (j = 0; j < nall && r == 0; j++)
			if (!strcmp(all[j].task, task) &&
			    !strcmp(all[j].instance_id, eps[i]->rds.instance_id))
				r = push(&mine, &nmine, all[j].cidr);
		for (j = 0; j < nmine && r == 0; j++) {
			bool shared = false;

			for (k = 0; k < nall && !shared; k++)
				shared = strcmp(all[k].task, task) &&
					 !strcmp(all[k].instance_id, eps[i]->rds.instance_id) &&
					 !strcmp(all[k].cidr, mine[j]);
			if (shared)
				log_info(
				    task,
				    "rds %s: %s stays in the whitelist group godwit: migration "
				    "%s recorded it too",
				    eps[i]->rds.instance_id, mine[j], all[k - 1].task);
			else
				r = push(&out[i], &nout[i], mine[j]);
		}
		util_strv_free(mine, nmine);
		mine = NULL;
	}
	if (r == 0)
		r = meta_whitelist_forget(m, db, task, NULL, err);
out:
	if (r == GW_ENOMEM)
		err_set(err, r, "out of memory");
	free(all);
	if (m)
		mysql_close(m);
	return r;
}

int cloud_whitelist_action(struct action_io *io, int add)
{
	const struct spec *s = io->spec;
	const struct endpoint *const eps[2] = {&s->source, &s->destination};
	char **rm[2] = {NULL, NULL};
	size_t nrm[2] = {0, 0}, i;
	int r = 0;

	if (!eps[0]->is_rds && !eps[1]->is_rds)
		return err_set(&io->err, GW_ENOTFOUND,
			       "whitelist: not applicable (no rds endpoint)");
	if (add && s->nwhitelist && (r = record_add(s, eps, io->task, &io->err)) < 0)
		return r;
	if (!add && (r = plan_remove(rm, nrm, s, eps, io->task, &io->err)) < 0)
		goto out;
	for (i = 0; i < 2; i++) {
		char *const *cidrs = add ? s->whitelist_cidrs : rm[i];
		size_t n = add ? s->nwhitelist : nrm[i];

		if (!eps[i]->is_rds || (!add && !n))
			continue;
		if ((r = cloud_whitelist_apply(eps[i], cidrs, n, add, io->task, &io->err)) < 0) {
			err_prefix(&io->err, "whitelist of the %s", roles[i]);
			/* The step is recorded only when both instances took the
			 * entries: the source's are taken back (those no other
			 * migration recorded) rather than left behind by a
			 * migration that may never be removed. */
			if (add && i == 1 && eps[0]->is_rds) {
				struct gw_err undo = GW_ERR_INIT;

				if (plan_remove(rm, nrm, s, eps, io->task, &undo) < 0 ||
				    (nrm[0] && cloud_whitelist_apply(eps[0], rm[0], nrm[0], 0,
								     io->task, &undo) < 0))
					log_warn(io->task,
						 "whitelist of the source: not taken back: %s",
						 undo.msg);
			}
			goto out;
		}
		if (buf_printf(
			&io->report, "whitelist:\n  %s: {instance: %s, group: godwit, %s: %zu}\n",
			roles[i], eps[i]->rds.instance_id, add ? "added" : "removed", n) < 0) {
			r = err_set(&io->err, GW_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	for (i = 0; i < 2; i++)
		util_strv_free(rm[i], nrm[i]);
	return r;
}
