/*
 * Which source objects a spec selects, and the names they get on the
 * destination. Database and table names compare exactly (as MySQL does on
 * Linux); column names compare without case (as MySQL always does).
 */
#include "lib/common.h"
#include "spec/spec.h"
#include "lib/util.h"

#include <string.h>
#include <strings.h>

#include "lib/banned.h"

const struct object_sel *spec_find_database(const struct spec *s, const char *db)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if (!strcmp(s->objects[i].database, db))
			return &s->objects[i];
	return NULL;
}

bool spec_table_selected(const struct spec *s, const char *db, const char *table,
			 const struct table_sel **tsel_out)
{
	const struct object_sel *o = spec_find_database(s, db);
	size_t i;

	if (tsel_out)
		*tsel_out = NULL;
	if (!o)
		return false;
	for (i = 0; i < o->nexclude; i++)
		if (util_glob_match(o->exclude_tables[i], table))
			return false;
	if (!o->tables)
		return true;
	for (i = 0; i < o->ntables; i++) {
		if (!strcmp(o->tables[i].name, table)) {
			if (tsel_out)
				*tsel_out = &o->tables[i];
			return true;
		}
	}
	return false;
}

const char *spec_dest_database(const struct object_sel *o)
{
	return o->rename_to ? o->rename_to : o->database;
}

const char *spec_dest_table(const struct table_sel *tsel, const char *table)
{
	return tsel && tsel->rename_to ? tsel->rename_to : table;
}

const char *spec_dest_column(const struct table_sel *tsel, const char *column)
{
	size_t i;

	if (!tsel)
		return column;
	for (i = 0; i < tsel->nrenames; i++)
		if (!strcasecmp(tsel->renames[i].from, column))
			return tsel->renames[i].to;
	return column;
}

bool spec_column_selected(const struct table_sel *tsel, const char *column)
{
	size_t i;

	if (!tsel || !tsel->columns)
		return true;
	for (i = 0; i < tsel->ncolumns; i++)
		if (!strcasecmp(tsel->columns[i], column))
			return true;
	return false;
}

bool spec_whole_database(const struct object_sel *o)
{
	return o->tables == NULL;
}

const char *spec_tls_mode_name(enum tls_mode m)
{
	static const char *const names[] = {"disabled", "preferred", "required", "verify-ca",
					    "verify-identity"};

	return (size_t)m < ARRAY_SIZE(names) ? names[m] : "unknown";
}

const char *spec_state_name(enum desired_state st)
{
	static const char *const names[] = {"running", "paused", "stopped"};

	return (size_t)st < ARRAY_SIZE(names) ? names[st] : "unknown";
}
