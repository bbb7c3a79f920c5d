#include "lib/common.h"
#include "spec/overlap.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

static bool loopback(const char *h)
{
	return !strcasecmp(h, "localhost") || !strcmp(h, "::1") || !strncmp(h, "127.", 4);
}

static bool same_instance(const struct endpoint *a, const struct endpoint *b)
{
	if (a->is_rds != b->is_rds)
		return false;
	if (a->is_rds)
		return a->rds.region && b->rds.region && a->rds.instance_id && b->rds.instance_id &&
		       !strcasecmp(a->rds.region, b->rds.region) &&
		       !strcasecmp(a->rds.instance_id, b->rds.instance_id);
	if (!a->host || !b->host || a->port != b->port)
		return false;
	return !strcasecmp(a->host, b->host) || (loopback(a->host) && loopback(b->host));
}

static int instance_name(struct buf *out, const struct endpoint *e)
{
	if (e->is_rds)
		return buf_printf(out, "rds instance %s (%s)",
				  e->rds.instance_id ? e->rds.instance_id : "?",
				  e->rds.region ? e->rds.region : "?");
	return buf_printf(out, "%s:%u", e->host ? e->host : "?", e->port);
}

/* Whether a whole-database selection writes destination table t (its
 * tables keep their names; excludeTables leaves some out). */
static bool whole_writes(const struct object_sel *o, const char *t)
{
	size_t i;

	for (i = 0; i < o->nexclude; i++)
		if (util_glob_match(o->exclude_tables[i], t))
			return false;
	return true;
}

/* The first destination table both write, or NULL. */
static const char *common_table(const struct object_sel *x, const struct object_sel *y)
{
	size_t i, j;

	if (!x->tables && !y->tables)
		return NULL;
	if (!x->tables || !y->tables) {
		const struct object_sel *whole = x->tables ? y : x, *some = x->tables ? x : y;

		for (j = 0; j < some->ntables; j++) {
			const char *t = spec_dest_table(&some->tables[j], some->tables[j].name);

			if (whole_writes(whole, t))
				return t;
		}
		return NULL;
	}
	for (i = 0; i < x->ntables; i++)
		for (j = 0; j < y->ntables; j++) {
			const char *tx = spec_dest_table(&x->tables[i], x->tables[i].name);
			const char *ty = spec_dest_table(&y->tables[j], y->tables[j].name);

			if (!strcasecmp(tx, ty))
				return tx;
		}
	return NULL;
}

int spec_overlap(const struct spec *a, const struct spec *b, struct buf *why)
{
	size_t i, j;

	if (!same_instance(&a->destination, &b->destination))
		return 0;
	for (i = 0; i < a->nobjects; i++)
		for (j = 0; j < b->nobjects; j++) {
			const struct object_sel *x = &a->objects[i], *y = &b->objects[j];
			const char *db = spec_dest_database(x), *t = NULL;
			int e = 0;

			if (strcasecmp(db, spec_dest_database(y)))
				continue;
			if (x->tables || y->tables) {
				if (!(t = common_table(x, y)))
					continue;
			}
			if (!why)
				return 1;
			if (!t)
				e |= buf_printf(why,
						"%s and %s both write the whole database %s on ",
						a->name, b->name, db);
			else if (!x->tables || !y->tables)
				e |= buf_printf(why,
						"%s writes the whole database %s and %s its table "
						"%s.%s on ",
						x->tables ? b->name : a->name, db,
						x->tables ? a->name : b->name, db, t);
			else
				e |= buf_printf(why, "%s and %s both write table %s.%s on ",
						a->name, b->name, db, t);
			e |= instance_name(why, &a->destination);
			return e ? GW_ENOMEM : 1;
		}
	return 0;
}
