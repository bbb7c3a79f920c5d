/*
 * Schema migration helpers shared with the precheck: how a destination
 * table that already exists compares with the one the migration would
 * create from the source (selection and renames applied).
 */
#ifndef GODWIT_SCHEMA_H
#define GODWIT_SCHEMA_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "spec/spec.h"

#include <mysql.h>

/*
 * Compares the columns (name, type, nullability, default, extra,
 * collation, in order) and the indexes (name, uniqueness, kind, columns)
 * of source table db.table, as the spec selects and renames them (tsel may
 * be NULL: all columns, same names), with destination table ddb.dtable.
 * Foreign keys and table options (AUTO_INCREMENT) are not compared: the
 * migration adds the former later and the data moves the latter.
 * out is reset, then gets the first difference in words ("" when equal).
 */
int schema_table_diff(struct buf *out, MYSQL *src, MYSQL *dst, const char *db, const char *table,
		      const struct table_sel *tsel, const char *ddb, const char *dtable,
		      struct gw_err *err) WARN_UNUSED;

/*
 * Whether view/routine/trigger/event `name` (kind VIEW, PROCEDURE,
 * FUNCTION, TRIGGER, EVENT) has the same definition in source database
 * srcdb and destination database dest, the spec's database renames
 * applied to the source's (information_schema definition text).
 */
int schema_object_same(bool *out, MYSQL *src, MYSQL *dst, const struct spec *s, const char *kind,
		       const char *srcdb, const char *dest, const char *name,
		       struct gw_err *err) WARN_UNUSED;

#endif
