/*
 * Precheck: what must hold before a migration writes anything, each item
 * pass, warn or fail with its cause (naming the object) and how to fix it,
 * as Alibaba Cloud DTS shows them. Any fail stops the migration in
 * PrecheckFailed. Items read only: nothing is written on either server.
 *
 * Items: source-connect, destination-connect, versions,
 * source-privileges, destination-privileges, binlog-enabled,
 * binlog-format, binlog-row-image, server-id, binlog-retention,
 * binlog-row-metadata, objects-exist, where-filters, primary-keys,
 * name-conflicts, foreign-keys, storage, charsets, sql-mode,
 * lower-case-table-names, engines, definers.
 */
#include "lib/common.h"
#include "engine/precheck.h"
#include "cloud/cloud.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

struct pc {
	struct action_io *io;
	const struct spec *s;
	MYSQL *src;
	MYSQL *dst;
	bool incremental;
	struct precheck_list list;
	bool task_has_data; /* this task already created its tables */
};

const char *precheck_result_name(enum precheck_result r)
{
	return r == PC_PASS ? "pass" : r == PC_WARN ? "warn" : "fail";
}

static void item(struct pc *pc, const char *id, enum precheck_result res, const char *fix,
		 const char *fmt, ...) PRINTF_LIKE(5, 6);
static void item(struct pc *pc, const char *id, enum precheck_result res, const char *fix,
		 const char *fmt, ...)
{
	struct precheck_item *it = realloc(pc->list.items, (pc->list.n + 1) * sizeof(*it));
	va_list ap;

	if (!it)
		return;
	pc->list.items = it;
	it = &it[pc->list.n++];
	memset(it, 0, sizeof(*it));
	(void)snprintf(it->id, sizeof(it->id), "%s", id);
	it->result = res;
	va_start(ap, fmt);
	(void)vsnprintf(it->cause, sizeof(it->cause), fmt, ap);
	va_end(ap);
	(void)snprintf(it->fix, sizeof(it->fix), "%s", fix ? fix : "");
}

/* Runs a query; NULL result on error (the error goes into an item). */
static MYSQL_RES *q(MYSQL *m, const char *sql)
{
	if (mysql_real_query(m, sql, strlen(sql)))
		return NULL;
	return mysql_store_result(m);
}

static char *value(MYSQL *m, const char *sql)
{
	MYSQL_RES *res = q(m, sql);
	MYSQL_ROW row;
	char *v = NULL;

	if (res && (row = mysql_fetch_row(res)) && row[0])
		v = strdup(row[0]);
	if (res)
		mysql_free_result(res);
	return v;
}

/* "'db'" as an SQL list of the selected source databases. */
static int db_list(struct buf *b, MYSQL *m, const struct spec *s)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if ((i && buf_putc(b, ',') < 0) ||
		    conn_quote_string(b, m, s->objects[i].database,
				      strlen(s->objects[i].database)) < 0)
			return GW_ENOMEM;
	return 0;
}

/* --- connections and versions -------------------------------------- */

static void check_versions(struct pc *pc)
{
	unsigned long sv, dv;
	bool sm, dm;

	conn_server_version(pc->src, &sv, &sm);
	conn_server_version(pc->dst, &dv, &dm);
	if (sm == dm && dv >= sv)
		item(pc, "versions", PC_PASS, NULL, "%s %s to %s %s", sm ? "MariaDB" : "MySQL",
		     mysql_get_server_info(pc->src), dm ? "MariaDB" : "MySQL",
		     mysql_get_server_info(pc->dst));
	else if (sm == dm)
		item(pc, "versions", PC_WARN,
		     "use a destination of the same or a newer version than the source",
		     "the destination %s is older than the source %s: newer syntax or types may "
		     "not apply",
		     mysql_get_server_info(pc->dst), mysql_get_server_info(pc->src));
	else
		item(pc, "versions", PC_WARN,
		     "check types and SQL that differ between MySQL and MariaDB (JSON, sequences, "
		     "system versioning)",
		     "%s %s to %s %s: a cross-engine migration", sm ? "MariaDB" : "MySQL",
		     mysql_get_server_info(pc->src), dm ? "MariaDB" : "MySQL",
		     mysql_get_server_info(pc->dst));
}

/* --- privileges ------------------------------------------------------ */

/* Collects the privileges granted on *.* or on one of dbs (NULL: any). */
static void grants_of(struct buf *privs, MYSQL *m, const char *const *dbs, size_t ndbs)
{
	MYSQL_RES *res = q(m, "SHOW GRANTS");
	MYSQL_ROW row;

	if (!res)
		return;
	while ((row = mysql_fetch_row(res))) {
		const char *g = row[0], *on;
		size_t i;
		bool applies;
		if (!g || strncmp(g, "GRANT ", 6) || !(on = strstr(g, " ON ")))
			continue;
		applies = !strncmp(on, " ON *.* ", 8);
		for (i = 0; !applies && i < ndbs; i++) {
			char pat[300];
			(void)snprintf(pat, sizeof(pat), " ON `%s`.", dbs[i]);
			applies = !strncmp(on, pat, strlen(pat));
		}
		if (applies &&
		    (buf_putc(privs, ',') < 0 || buf_add(privs, g + 6, (size_t)(on - g - 6)) < 0 ||
		     buf_putc(privs, ',') < 0))
			break;
	}
	mysql_free_result(res);
}

static bool has_priv(const struct buf *privs, const char *p)
{
	char pat[64];

	if (strstr(buf_cstr(privs), "ALL PRIVILEGES"))
		return true;
	(void)snprintf(pat, sizeof(pat), ",%s,", p);
	if (strstr(buf_cstr(privs), pat))
		return true;
	(void)snprintf(pat, sizeof(pat), ", %s,", p);
	return strstr(buf_cstr(privs), pat) != NULL;
}

static void add_priv(struct buf *b, const char *p)
{
	if (buf_printf(b, "%s%s", b->len ? ", " : "", p) < 0)
		return; /* out of memory: the item says less */
}

static void check_privileges(struct pc *pc, bool source)
{
	static const char *src_need[] = {"SELECT", "SHOW VIEW", "TRIGGER", "EVENT"};
	static const char *inc_need[] = {"REPLICATION SLAVE", "REPLICATION CLIENT"};
	static const char *dst_need[] = {"CREATE",  "ALTER",	      "INDEX", "INSERT",
					 "UPDATE",  "DELETE",	      "DROP",  "CREATE VIEW",
					 "TRIGGER", "CREATE ROUTINE", "EVENT"};
	const struct endpoint *ep = source ? &pc->s->source : &pc->s->destination;
	MYSQL *m = source ? pc->src : pc->dst;
	struct buf privs = BUF_INIT, missing = BUF_INIT, fix = BUF_INIT;
	const char *dbs[64];
	size_t n = 0, i;
	bool mariadb;
	unsigned long v;

	for (i = 0; i < pc->s->nobjects && n < ARRAY_SIZE(dbs); i++)
		dbs[n++] =
		    source ? pc->s->objects[i].database : spec_dest_database(&pc->s->objects[i]);
	grants_of(&privs, m, dbs, n);
	conn_server_version(m, &v, &mariadb);
	if (source) {
		for (i = 0; i < ARRAY_SIZE(src_need); i++)
			if (!has_priv(&privs, src_need[i]))
				add_priv(&missing, src_need[i]);
		for (i = 0; pc->incremental && i < ARRAY_SIZE(inc_need); i++) {
			/* MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR */
			if (has_priv(&privs, inc_need[i]) ||
			    (i == 1 &&
			     (has_priv(&privs, "BINLOG MONITOR") || has_priv(&privs, "SUPER"))))
				continue;
			add_priv(&missing, inc_need[i]);
		}
	} else {
		for (i = 0; i < ARRAY_SIZE(dst_need); i++)
			if (!has_priv(&privs, dst_need[i]))
				add_priv(&missing, dst_need[i]);
	}
	if (!missing.len) {
		item(pc, source ? "source-privileges" : "destination-privileges", PC_PASS, NULL,
		     "account %s has what the migration needs", ep->user ? ep->user : "?");
	} else {
		if (buf_printf(&fix, "GRANT %s ON *.* TO '%s'@'%%';", buf_cstr(&missing),
			       ep->user ? ep->user : "?") < 0)
			buf_reset(&fix);
		item(pc, source ? "source-privileges" : "destination-privileges", PC_FAIL,
		     buf_cstr(&fix), "account %s on the %s lacks %s", ep->user ? ep->user : "?",
		     source ? "source" : "destination", buf_cstr(&missing));
	}
	buf_release(&privs);
	buf_release(&missing);
	buf_release(&fix);
}

/* --- binlog ---------------------------------------------------------- */

static void check_binlog(struct pc *pc)
{
	char *log_bin = value(pc->src, "SELECT @@GLOBAL.log_bin");
	char *fmt = value(pc->src, "SELECT @@GLOBAL.binlog_format");
	char *img = value(pc->src, "SELECT @@GLOBAL.binlog_row_image");
	char *sid = value(pc->src, "SELECT @@GLOBAL.server_id");
	char *exp = value(pc->src, "SELECT @@GLOBAL.expire_logs_days");
	char *secs = value(pc->src, "SELECT @@GLOBAL.binlog_expire_logs_seconds");
	char *meta = value(pc->src, "SELECT @@GLOBAL.binlog_row_metadata");

	if (log_bin && !strcmp(log_bin, "1"))
		item(pc, "binlog-enabled", PC_PASS, NULL, "the source writes a binlog");
	else
		item(pc, "binlog-enabled", PC_FAIL,
		     "start the source with log_bin (log-bin=mysql-bin in my.cnf) and restart it",
		     "the source has no binlog (log_bin is OFF): incremental migration reads it");
	if (fmt && !strcasecmp(fmt, "ROW"))
		item(pc, "binlog-format", PC_PASS, NULL, "binlog_format is ROW");
	else
		item(pc, "binlog-format", PC_FAIL,
		     "SET GLOBAL binlog_format = 'ROW' (and binlog_format=ROW in my.cnf)",
		     "binlog_format is %s: row changes are only in ROW format",
		     fmt ? fmt : "unknown");
	if (img && !strcasecmp(img, "FULL"))
		item(pc, "binlog-row-image", PC_PASS, NULL, "binlog_row_image is FULL");
	else
		item(pc, "binlog-row-image", PC_FAIL,
		     "SET GLOBAL binlog_row_image = 'FULL' (and in my.cnf)",
		     "binlog_row_image is %s: updates must carry whole rows",
		     img ? img : "unknown");
	if (sid && strcmp(sid, "0"))
		item(pc, "server-id", PC_PASS, NULL, "server_id is %s", sid);
	else
		item(pc, "server-id", PC_FAIL, "set server_id to a unique non-zero number",
		     "server_id is 0: the source cannot serve replicas");
	{
		double days = exp ? strtod(exp, NULL) : 0;
		long long s = secs ? strtoll(secs, NULL, 10) : 0;
		double hours = s ? (double)s / 3600.0 : days * 24.0;
		if (hours == 0)
			item(pc, "binlog-retention", PC_PASS, NULL,
			     "binlogs are kept until purged by hand");
		else if (hours < 24)
			item(pc, "binlog-retention", PC_WARN,
			     "keep binlogs 7 days: SET GLOBAL binlog_expire_logs_seconds = 604800",
			     "binlogs are kept %.1f hours: a pause or retry longer than that needs "
			     "a new full migration",
			     hours);
		else
			item(pc, "binlog-retention", PC_PASS, NULL, "binlogs are kept %.1f hours",
			     hours);
	}
	if (meta) {
		if (!strcasecmp(meta, "FULL"))
			item(pc, "binlog-row-metadata", PC_PASS, NULL,
			     "binlog_row_metadata is FULL: column names travel with the rows");
		else
			item(pc, "binlog-row-metadata", PC_WARN,
			     "SET GLOBAL binlog_row_metadata = 'FULL' for column names in the "
			     "binlog",
			     "binlog_row_metadata is %s: column layouts are taken from the "
			     "destination's schema at each position (for tables with a column "
			     "selection or renamed columns, from the source's current schema: "
			     "rows logged before an ALTER of such a table cannot be checked)",
			     meta);
	}
	free(log_bin), free(fmt), free(img), free(sid), free(exp), free(secs), free(meta);
}

/* --- objects --------------------------------------------------------- */

static bool table_exists(MYSQL *m, const char *db, const char *table)
{
	struct buf b = BUF_INIT;
	char *v;
	bool yes;

	if (buf_puts(&b, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ") <
		0 ||
	    conn_quote_string(&b, m, db, strlen(db)) < 0 ||
	    buf_puts(&b, " AND TABLE_NAME = ") < 0 ||
	    conn_quote_string(&b, m, table, strlen(table)) < 0) {
		buf_release(&b);
		return false;
	}
	v = value(m, buf_cstr(&b));
	yes = v && strcmp(v, "0");
	free(v);
	buf_release(&b);
	return yes;
}

static void check_objects(struct pc *pc)
{
	size_t i, j, k;
	int bad = 0;

	for (i = 0; i < pc->s->nobjects; i++) {
		const struct object_sel *o = &pc->s->objects[i];
		struct buf b = BUF_INIT;
		char *v;
		if (buf_puts(
			&b,
			"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ") <
			0 ||
		    conn_quote_string(&b, pc->src, o->database, strlen(o->database)) < 0) {
			buf_release(&b);
			continue;
		}
		v = value(pc->src, buf_cstr(&b));
		buf_release(&b);
		if (!v || !strcmp(v, "0")) {
			item(pc, "objects-exist", PC_FAIL, "correct objects[].database in the spec",
			     "database %s does not exist on the source", o->database);
			bad++;
			free(v);
			continue;
		}
		free(v);
		for (j = 0; j < o->ntables; j++) {
			const struct table_sel *t = &o->tables[j];
			if (!table_exists(pc->src, o->database, t->name)) {
				item(pc, "objects-exist", PC_FAIL,
				     "correct the table name in the spec",
				     "table %s.%s does not exist on the source", o->database,
				     t->name);
				bad++;
				continue;
			}
			for (k = 0; k < t->ncolumns; k++) {
				struct buf c = BUF_INIT;
				char *n;
				if (buf_puts(
					&c, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
					    "TABLE_SCHEMA = ") < 0 ||
				    conn_quote_string(&c, pc->src, o->database,
						      strlen(o->database)) < 0 ||
				    buf_puts(&c, " AND TABLE_NAME = ") < 0 ||
				    conn_quote_string(&c, pc->src, t->name, strlen(t->name)) < 0 ||
				    buf_puts(&c, " AND COLUMN_NAME = ") < 0 ||
				    conn_quote_string(&c, pc->src, t->columns[k],
						      strlen(t->columns[k])) < 0) {
					buf_release(&c);
					continue;
				}
				n = value(pc->src, buf_cstr(&c));
				buf_release(&c);
				if (!n || !strcmp(n, "0")) {
					item(pc, "objects-exist", PC_FAIL,
					     "correct the column list in the spec",
					     "column %s.%s.%s does not exist on the source",
					     o->database, t->name, t->columns[k]);
					bad++;
				}
				free(n);
			}
			if (t->where) {
				struct buf w = BUF_INIT;
				MYSQL_RES *res;
				if (buf_puts(&w, "SELECT 1 FROM ") < 0 ||
				    conn_quote_ident(&w, o->database) < 0 ||
				    buf_putc(&w, '.') < 0 || conn_quote_ident(&w, t->name) < 0 ||
				    buf_printf(&w, " WHERE (%s) LIMIT 0", t->where) < 0) {
					buf_release(&w);
					continue;
				}
				if (!(res = q(pc->src, buf_cstr(&w)))) {
					item(pc, "where-filters", PC_FAIL,
					     "correct the where expression in the spec",
					     "where of %s.%s does not parse on the source: %s",
					     o->database, t->name, mysql_error(pc->src));
					bad++;
				} else {
					mysql_free_result(res);
					item(pc, "where-filters", PC_PASS, NULL,
					     "where of %s.%s runs on the source", o->database,
					     t->name);
				}
				buf_release(&w);
			}
		}
	}
	if (!bad)
		item(pc, "objects-exist", PC_PASS, NULL,
		     "every selected object exists on the source");
}

/* Keys, conflicts, engines, charsets: one pass over the selected tables. */
static void check_tables(struct pc *pc)
{
	struct buf b = BUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int nokey = 0, conflicts = 0, engines = 0, checked = 0;

	if (buf_puts(
		&b,
		"SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.ENGINE,"
		" (SELECT GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION)"
		"  FROM information_schema.KEY_COLUMN_USAGE k WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA"
		"  AND k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY'),"
		" (SELECT COUNT(*) FROM information_schema.STATISTICS s WHERE"
		"  s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME AND"
		"  s.NON_UNIQUE = 0),"
		" IFNULL(t.DATA_LENGTH, 0) + IFNULL(t.INDEX_LENGTH, 0)"
		" FROM information_schema.TABLES t WHERE t.TABLE_TYPE = 'BASE TABLE'"
		" AND t.TABLE_SCHEMA IN (") < 0 ||
	    db_list(&b, pc->src, pc->s) < 0 || buf_puts(&b, ") ORDER BY 1, 2") < 0) {
		buf_release(&b);
		return;
	}
	if (!(res = q(pc->src, buf_cstr(&b)))) {
		item(pc, "primary-keys", PC_FAIL, NULL, "cannot read the source's tables: %s",
		     mysql_error(pc->src));
		buf_release(&b);
		return;
	}
	{
		uint64_t bytes = 0;
		while ((row = mysql_fetch_row(res))) {
			const struct table_sel *tsel = NULL;
			const struct object_sel *o;
			const char *dest_table;
			if (!spec_table_selected(pc->s, row[0], row[1], &tsel))
				continue;
			checked++;
			bytes += strtoull(row[5], NULL, 10);
			o = spec_find_database(pc->s, row[0]);
			dest_table = spec_dest_table(tsel, row[1]);
			if (!row[3] && !strcmp(row[4], "0")) {
				nokey++;
				item(pc, "primary-keys", pc->incremental ? PC_FAIL : PC_WARN,
				     "add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)), "
				     "or leave "
				     "the table out with excludeTables",
				     "table %s.%s has no primary or unique key: %s", row[0], row[1],
				     pc->incremental
					 ? "changes cannot be applied by key (duplicates)"
					 : "its copy cannot resume part-way");
			} else if (row[3] && tsel && tsel->columns) {
				/* the key must be among the selected columns */
				char *keys = strdup(row[3]), *save = NULL, *c;
				for (c = keys ? strtok_r(keys, ",", &save) : NULL; c;
				     c = strtok_r(NULL, ",", &save))
					if (!spec_column_selected(tsel, c)) {
						item(pc, "primary-keys", PC_FAIL,
						     "add the key column to columns: in the spec",
						     "the column list of %s.%s leaves out primary "
						     "key "
						     "column %s",
						     row[0], row[1], c);
						nokey++;
					}
				free(keys);
			}
			if (row[2] && strcasecmp(row[2], "InnoDB")) {
				engines++;
				item(pc, "engines", PC_WARN,
				     "convert it: ALTER TABLE ... ENGINE=InnoDB",
				     "table %s.%s uses %s: not transactional, its copy and changes "
				     "are "
				     "not atomic with their checkpoints",
				     row[0], row[1], row[2]);
			}
			/* name conflicts on the destination */
			if (!pc->task_has_data &&
			    table_exists(pc->dst, spec_dest_database(o), dest_table)) {
				struct buf c = BUF_INIT;
				char *any;
				if (conn_quote_ident(&c, spec_dest_database(o)) == 0 &&
				    buf_putc(&c, '.') == 0 &&
				    conn_quote_ident(&c, dest_table) == 0) {
					struct buf sq = BUF_INIT;
					if (buf_printf(
						&sq,
						"SELECT COUNT(*) FROM (SELECT 1 FROM %s LIMIT 1) x",
						buf_cstr(&c)) == 0) {
						any = value(pc->dst, buf_cstr(&sq));
						if (any && strcmp(any, "0")) {
							conflicts++;
							item(pc, "name-conflicts", PC_FAIL,
							     "empty or drop it, or map the table "
							     "to another "
							     "name with renameTo",
							     "destination table %s.%s already "
							     "exists and "
							     "holds rows",
							     spec_dest_database(o), dest_table);
						}
						free(any);
					}
					buf_release(&sq);
				}
				buf_release(&c);
			}
		}
		mysql_free_result(res);
		if (!nokey)
			item(pc, "primary-keys", PC_PASS, NULL,
			     "every selected table (%d) has a primary or unique key", checked);
		if (!conflicts)
			item(pc, "name-conflicts", PC_PASS, NULL,
			     pc->task_has_data ? "the destination tables are this migration's own"
					       : "no destination table holds rows");
		if (!engines)
			item(pc, "engines", PC_PASS, NULL, "every selected table is InnoDB");
		if (pc->s->destination.is_rds) {
			struct cloud_instance_info info;
			struct gw_err e = GW_ERR_INIT;
			if (cloud_instance_info(&info, &pc->s->destination, pc->s->name, &e) < 0)
				item(pc, "storage", PC_FAIL, NULL, "%s", e.msg);
			else if (info.storage_total &&
				 info.storage_total - info.storage_used < bytes)
				item(
				    pc, "storage", PC_FAIL,
				    "enlarge the destination instance's storage",
				    "the destination has %llu MiB free, the selection needs %llu "
				    "MiB",
				    (unsigned long long)((info.storage_total - info.storage_used) >>
							 20),
				    (unsigned long long)(bytes >> 20));
			else
				item(pc, "storage", PC_PASS, NULL,
				     "the destination has room for %llu MiB",
				     (unsigned long long)(bytes >> 20));
		} else {
			item(
			    pc, "storage", PC_WARN,
			    "make sure the destination has this much free space, plus room to grow",
			    "the selection holds about %llu MiB on the source (a self-managed "
			    "destination's free space cannot be read)",
			    (unsigned long long)((bytes + (1 << 20) - 1) >> 20));
		}
	}
	buf_release(&b);
}

static void check_foreign_keys(struct pc *pc)
{
	struct buf b = BUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int warned = 0, failed = 0;

	if (buf_puts(
		&b,
		"SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME,"
		" UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE"
		" FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (") <
		0 ||
	    db_list(&b, pc->src, pc->s) < 0 || buf_puts(&b, ") ORDER BY 1, 2, 3") < 0 ||
	    !(res = q(pc->src, buf_cstr(&b)))) {
		buf_release(&b);
		return;
	}
	while ((row = mysql_fetch_row(res))) {
		if (!spec_table_selected(pc->s, row[0], row[1], NULL))
			continue;
		if (!spec_table_selected(pc->s, row[3], row[4], NULL)) {
			failed++;
			item(pc, "foreign-keys", PC_FAIL,
			     "select the referenced table too, or drop the foreign key",
			     "foreign key %s of %s.%s references %s.%s, which is not migrated",
			     row[2], row[0], row[1], row[3], row[4]);
		} else if (strcmp(row[5], "RESTRICT") && strcmp(row[5], "NO ACTION")) {
			warned++;
			item(pc, "foreign-keys", PC_WARN,
			     "none needed: changes reach the destination as rows; know that "
			     "cascades "
			     "are not in the binlog",
			     "foreign key %s of %s.%s has ON UPDATE %s / ON DELETE %s: cascaded "
			     "changes are not in the binlog, only their effects replicate",
			     row[2], row[0], row[1], row[5], row[6]);
		} else if (strcmp(row[6], "RESTRICT") && strcmp(row[6], "NO ACTION")) {
			warned++;
			item(
			    pc, "foreign-keys", PC_WARN,
			    "none needed: changes reach the destination as rows; know that "
			    "cascades "
			    "are not in the binlog",
			    "foreign key %s of %s.%s has ON DELETE %s: cascaded deletes are not in "
			    "the binlog, only their effects replicate",
			    row[2], row[0], row[1], row[6]);
		}
	}
	mysql_free_result(res);
	buf_release(&b);
	if (!warned && !failed)
		item(pc, "foreign-keys", PC_PASS, NULL, "no foreign key needs attention");
}

static void check_charsets(struct pc *pc)
{
	struct buf b = BUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int missing = 0;

	if (buf_puts(&b, "SELECT DISTINCT COLLATION_NAME FROM information_schema.COLUMNS WHERE "
			 "COLLATION_NAME IS NOT NULL AND TABLE_SCHEMA IN (") < 0 ||
	    db_list(&b, pc->src, pc->s) < 0 || buf_puts(&b, ") ORDER BY 1") < 0 ||
	    !(res = q(pc->src, buf_cstr(&b)))) {
		buf_release(&b);
		return;
	}
	while ((row = mysql_fetch_row(res))) {
		struct buf c = BUF_INIT;
		char *v;
		if (buf_puts(&c, "SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE "
				 "COLLATION_NAME = ") < 0 ||
		    conn_quote_string(&c, pc->dst, row[0], strlen(row[0])) < 0) {
			buf_release(&c);
			continue;
		}
		v = value(pc->dst, buf_cstr(&c));
		if (!v || !strcmp(v, "0")) {
			missing++;
			item(pc, "charsets", PC_FAIL,
			     "use a destination version that has it, or convert the columns",
			     "collation %s is used by the selection but does not exist on the "
			     "destination",
			     row[0]);
		}
		free(v);
		buf_release(&c);
	}
	mysql_free_result(res);
	buf_release(&b);
	if (!missing)
		item(pc, "charsets", PC_PASS, NULL,
		     "every character set and collation in use exists on the destination");
}

static void check_modes(struct pc *pc)
{
	char *a = value(pc->src, "SELECT @@GLOBAL.lower_case_table_names");
	char *b = value(pc->dst, "SELECT @@GLOBAL.lower_case_table_names");
	char *c = value(pc->src, "SELECT @@GLOBAL.sql_mode");
	char *d = value(pc->dst, "SELECT @@GLOBAL.sql_mode");

	if (a && b && strcmp(a, b))
		item(pc, "lower-case-table-names", PC_WARN,
		     "run both servers with the same lower_case_table_names",
		     "lower_case_table_names is %s on the source and %s on the destination: names "
		     "that differ in case may collide",
		     a, b);
	else
		item(pc, "lower-case-table-names", PC_PASS, NULL, "lower_case_table_names agree");
	if (c && d && strcmp(c, d))
		item(pc, "sql-mode", PC_WARN,
		     "align the destination's global sql_mode with the source's for the "
		     "applications that move over",
		     "sql_mode differs: source '%s', destination '%s' (the migration itself sets "
		     "its own session mode)",
		     c, d);
	else
		item(pc, "sql-mode", PC_PASS, NULL, "sql_mode agrees");
	free(a), free(b), free(c), free(d);
}

static void check_definers(struct pc *pc)
{
	struct buf b = BUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int missing = 0;

	if (buf_puts(&b,
		     "SELECT DISTINCT DEFINER FROM (SELECT DEFINER, TABLE_SCHEMA AS s FROM "
		     "information_schema.VIEWS UNION ALL SELECT DEFINER, ROUTINE_SCHEMA FROM "
		     "information_schema.ROUTINES UNION ALL SELECT DEFINER, TRIGGER_SCHEMA FROM "
		     "information_schema.TRIGGERS UNION ALL SELECT DEFINER, EVENT_SCHEMA FROM "
		     "information_schema.EVENTS) x WHERE s IN (") < 0 ||
	    db_list(&b, pc->src, pc->s) < 0 || buf_puts(&b, ") ORDER BY 1") < 0 ||
	    !(res = q(pc->src, buf_cstr(&b)))) {
		buf_release(&b);
		return;
	}
	while ((row = mysql_fetch_row(res))) {
		char *at = row[0] ? strrchr(row[0], '@') : NULL;
		struct buf c = BUF_INIT;
		char *v;
		if (!at)
			continue;
		if (buf_puts(&c, "SELECT COUNT(*) FROM mysql.user WHERE User = ") < 0 ||
		    conn_quote_string(&c, pc->dst, row[0], (size_t)(at - row[0])) < 0 ||
		    buf_puts(&c, " AND Host = ") < 0 ||
		    conn_quote_string(&c, pc->dst, at + 1, strlen(at + 1)) < 0) {
			buf_release(&c);
			continue;
		}
		v = value(pc->dst, buf_cstr(&c));
		if (v && !strcmp(v, "0")) {
			missing++;
			item(pc, "definers", PC_WARN,
			     "create the account on the destination first to keep it",
			     "definer %s does not exist on the destination: its views, routines, "
			     "triggers and events get the migration account as definer with SQL "
			     "SECURITY INVOKER",
			     row[0]);
		}
		free(v);
		buf_release(&c);
	}
	mysql_free_result(res);
	buf_release(&b);
	if (!missing)
		item(pc, "definers", PC_PASS, NULL, "every definer exists on the destination");
}

static int write_report(struct action_io *io, const struct precheck_list *l,
			struct precheck_summary *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < l->n; i++) {
		const struct precheck_item *it = &l->items[i];
		if (buf_printf(&io->report, "  - id: %s\n    result: %s\n    cause: ", it->id,
			       precheck_result_name(it->result)) < 0 ||
		    yaml_str(&io->report, it->cause) < 0 ||
		    buf_puts(&io->report, "\n    fix: ") < 0 ||
		    yaml_str(&io->report, it->fix) < 0 || buf_putc(&io->report, '\n') < 0)
			return GW_ENOMEM;
		if (it->result == PC_PASS)
			out->passed++;
		else if (it->result == PC_WARN)
			out->warned++;
		else {
			size_t n = strlen(out->failed_ids);
			out->failed++;
			if (!strstr(out->failed_ids, it->id))
				(void)snprintf(out->failed_ids + n, sizeof(out->failed_ids) - n,
					       "%s%s", n ? "," : "", it->id);
		}
	}
	return 0;
}

int precheck_run(struct action_io *io, struct precheck_summary *out, struct precheck_list *list)
{
	struct pc pc;
	struct gw_err e = GW_ERR_INIT;
	int r;

	memset(&pc, 0, sizeof(pc));
	pc.io = io;
	pc.s = io->spec;
	pc.incremental = io->spec->migration_types & MT_INCREMENTAL;
	r = conn_open(&pc.src, &io->spec->source, "source", CONN_DEFAULT, io->task, &e);
	if (r < 0)
		item(&pc, "source-connect", PC_FAIL,
		     "check host, port, user, password, TLS settings and the network path", "%s",
		     e.msg);
	else
		item(&pc, "source-connect", PC_PASS, NULL, "connected to the source (%s%s)",
		     mysql_get_server_info(pc.src), mysql_get_ssl_cipher(pc.src) ? ", TLS" : "");
	err_clear(&e);
	r = conn_open(&pc.dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task, &e);
	if (r < 0)
		item(&pc, "destination-connect", PC_FAIL,
		     "check host, port, user, password, TLS settings and the network path", "%s",
		     e.msg);
	else
		item(&pc, "destination-connect", PC_PASS, NULL,
		     "connected to the destination (%s%s)", mysql_get_server_info(pc.dst),
		     mysql_get_ssl_cipher(pc.dst) ? ", TLS" : "");
	if (pc.src && pc.dst) {
		enum meta_stage st = META_NONE;
		struct gw_err ignore = GW_ERR_INIT;
		if (meta_stage_get(&st, NULL, pc.dst,
				   io->spec->destination.meta_database
				       ? io->spec->destination.meta_database
				       : META_DEFAULT_DB,
				   io->spec->name, &ignore) == 0)
			pc.task_has_data = st >= META_SCHEMA_DONE;
		check_versions(&pc);
		check_privileges(&pc, true);
		check_privileges(&pc, false);
		if (pc.incremental)
			check_binlog(&pc);
		check_objects(&pc);
		check_tables(&pc);
		check_foreign_keys(&pc);
		check_charsets(&pc);
		check_modes(&pc);
		check_definers(&pc);
	}
	r = write_report(io, &pc.list, out) < 0 ? err_set(&io->err, GW_ENOMEM, "out of memory") : 0;
	if (r == 0 && out->failed)
		(void)snprintf(io->err.msg, sizeof(io->err.msg), "precheck failed: %s",
			       out->failed_ids);
	if (pc.src)
		mysql_close(pc.src);
	if (pc.dst)
		mysql_close(pc.dst);
	if (list)
		*list = pc.list;
	else
		free(pc.list.items);
	return r;
}

int engine_precheck(struct action_io *io, struct precheck_summary *out)
{
	return precheck_run(io, out, NULL);
}
