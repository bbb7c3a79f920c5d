#include "lib/common.h"
#include "engine/meta.h"
#include "engine/conn.h"
#include "spec/spec.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int meta_present(bool *out, MYSQL *dst, const char *metadb, struct gw_err *err)
{
	struct buf q = BUF_INIT, v = BUF_INIT;
	bool found = false;
	int r;

	*out = false;
	if (buf_puts(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ") <
		0 ||
	    conn_quote_string(&q, dst, metadb, strlen(metadb)) < 0 ||
	    buf_puts(&q, " AND TABLE_NAME = 'task_stage'") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_query_value(&v, &found, dst, buf_cstr(&q), err)) == 0)
		*out = found && !strcmp(buf_cstr(&v), "1");
out:
	buf_release(&q);
	buf_release(&v);
	return r;
}

const char *meta_pos_kind_name(enum binlog_pos_kind k)
{
	switch (k) {
	case POS_MARIADB: return "mariadb";
	case POS_MYSQL_GTID: return "mysql-gtid";
	case POS_FILE: return "file";
	default: return "";
	}
}

static enum binlog_pos_kind pos_kind_of(const char *s)
{
	if (!strcmp(s, "mariadb"))
		return POS_MARIADB;
	if (!strcmp(s, "mysql-gtid"))
		return POS_MYSQL_GTID;
	if (!strcmp(s, "file"))
		return POS_FILE;
	return POS_UNKNOWN;
}

/* A binlog_position table of an older godwit lacks kind, source_uuid and
 * halted (ADD COLUMN IF NOT EXISTS is MariaDB's only: ask first). Two tasks
 * adding one at once: the second finds it there. */
static int add_position_columns(MYSQL *dst, const char *metadb, const struct buf *db,
				struct gw_err *err)
{
	static const char *const cols[][2] = {
	    {"kind", "kind VARCHAR(16) NOT NULL DEFAULT ''"},
	    {"source_uuid", "source_uuid VARCHAR(64) NOT NULL DEFAULT ''"},
	    {"halted", "halted VARCHAR(1024) NOT NULL DEFAULT ''"},
	};
	struct buf q = BUF_INIT, v = BUF_INIT;
	bool found = false;
	size_t i;
	int r = 0;

	for (i = 0; i < ARRAY_SIZE(cols) && r == 0; i++) {
		buf_reset(&q);
		if (buf_puts(&q, "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ") <
			0 ||
		    conn_quote_string(&q, dst, metadb, strlen(metadb)) < 0 ||
		    buf_printf(&q, " AND TABLE_NAME = 'binlog_position' AND COLUMN_NAME = '%s'",
			       cols[i][0]) < 0) {
			r = err_set(err, GW_ENOMEM, "out of memory");
			break;
		}
		if ((r = conn_query_value(&v, &found, dst, buf_cstr(&q), err)) < 0 || found)
			continue;
		r = conn_execf(dst, err, "ALTER TABLE %s.binlog_position ADD COLUMN %s",
			       buf_cstr(db), cols[i][1]);
		if (r < 0 && mysql_errno(dst) == ER_DUP_FIELDNAME) /* added meanwhile */
			r = 0;
	}
	buf_release(&q);
	buf_release(&v);
	return r;
}

int meta_ensure(MYSQL *dst, const char *metadb, struct gw_err *err)
{
	struct buf q = BUF_INIT, db = BUF_INIT;
	int r = GW_ENOMEM;

	if (conn_quote_ident(&db, metadb) < 0)
		goto out;
	if ((r = conn_execf(dst, err, "CREATE DATABASE IF NOT EXISTS %s", buf_cstr(&db))) < 0)
		goto out;
	if ((r = conn_execf(dst, err,
			    "CREATE TABLE IF NOT EXISTS %s.task_stage ("
			    " task VARCHAR(63) NOT NULL PRIMARY KEY,"
			    " stage TINYINT UNSIGNED NOT NULL,"
			    " immutable_hash CHAR(64) NOT NULL DEFAULT '',"
			    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
			    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
			    buf_cstr(&db))) < 0)
		goto out;
	if ((r = conn_execf(dst, err,
			    "CREATE TABLE IF NOT EXISTS %s.binlog_position ("
			    " task VARCHAR(63) NOT NULL PRIMARY KEY,"
			    " gtid TEXT NOT NULL,"
			    " file VARCHAR(255) NOT NULL DEFAULT '',"
			    " pos BIGINT UNSIGNED NOT NULL DEFAULT 0,"
			    " source_ts BIGINT NOT NULL DEFAULT 0,"
			    " kind VARCHAR(16) NOT NULL DEFAULT '',"
			    " source_uuid VARCHAR(64) NOT NULL DEFAULT '',"
			    " halted VARCHAR(1024) NOT NULL DEFAULT '',"
			    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
			    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
			    buf_cstr(&db))) < 0)
		goto out;
	if ((r = conn_execf(dst, err,
			    "CREATE TABLE IF NOT EXISTS %s.whitelist ("
			    " task VARCHAR(63) NOT NULL,"
			    " role VARCHAR(16) NOT NULL,"
			    " region VARCHAR(64) NOT NULL,"
			    " instance_id VARCHAR(128) NOT NULL,"
			    " account_id VARCHAR(64) NOT NULL DEFAULT '',"
			    " role_name VARCHAR(128) NOT NULL DEFAULT '',"
			    " cidr VARCHAR(64) NOT NULL,"
			    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
			    " PRIMARY KEY (task, role, cidr)"
			    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
			    buf_cstr(&db))) < 0)
		goto out;
	r = add_position_columns(dst, metadb, &db, err);
out:
	if (r == GW_ENOMEM)
		err_set(err, r, "out of memory");
	else if (r < 0)
		err_prefix(err, "meta database %s", metadb);
	buf_release(&q);
	buf_release(&db);
	return r;
}

int meta_stage_get(enum meta_stage *out, char immutable_hash_out[65], MYSQL *dst,
		   const char *metadb, const char *task, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r = GW_ENOMEM;

	*out = META_NONE;
	if (immutable_hash_out)
		immutable_hash_out[0] = '\0';
	if (buf_puts(&q, "SELECT stage, immutable_hash FROM ") < 0 ||
	    conn_quote_ident(&q, metadb) < 0 || buf_puts(&q, ".task_stage WHERE task = ") < 0 ||
	    conn_quote_string(&q, dst, task, strlen(task)) < 0) {
		err_set(err, r, "out of memory");
		goto out;
	}
	if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the meta database", err)) < 0)
		goto out;
	if ((row = mysql_fetch_row(res)) != NULL) {
		*out = (enum meta_stage)strtol(row[0], NULL, 10);
		if (immutable_hash_out)
			(void)snprintf(immutable_hash_out, 65, "%s", row[1] ? row[1] : "");
	}
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

int meta_stage_set(MYSQL *dst, const char *metadb, const char *task, enum meta_stage st,
		   const char *immutable_hash, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	int r;

	if (buf_puts(&q, "INSERT INTO ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".task_stage (task, stage, immutable_hash) VALUES (") < 0 ||
	    conn_quote_string(&q, dst, task, strlen(task)) < 0 ||
	    buf_printf(&q, ", %d, ", (int)st) < 0 ||
	    conn_quote_string(&q, dst, immutable_hash, strlen(immutable_hash)) < 0 ||
	    buf_puts(&q, ") ON DUPLICATE KEY UPDATE stage = GREATEST(stage, VALUES(stage)),"
			 " immutable_hash = VALUES(immutable_hash),"
			 " updated_at = CURRENT_TIMESTAMP(6)") < 0)
		r = err_set(err, GW_ENOMEM, "out of memory");
	else
		r = conn_exec(dst, buf_cstr(&q), err);
	buf_release(&q);
	return r;
}

int meta_position_get(struct binlog_pos *out, bool *found_out, MYSQL *dst, const char *metadb,
		      const char *task, struct gw_err *err)
{
	struct buf q = BUF_INIT, old = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r = GW_ENOMEM;

	memset(out, 0, sizeof(*out));
	*found_out = false;
	/* the table of an older godwit (which the read-only precheck may meet
	 * before meta_ensure() added them) lacks kind and source_uuid */
	if (buf_puts(&q, "SELECT gtid, file, pos, source_ts, kind, source_uuid, halted FROM ") <
		0 ||
	    conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".binlog_position WHERE task = ") < 0 ||
	    conn_quote_string(&q, dst, task, strlen(task)) < 0 ||
	    buf_puts(&old, "SELECT gtid, file, pos, source_ts, '', '', '' FROM ") < 0 ||
	    buf_puts(&old, strstr(buf_cstr(&q), " FROM ") + 6) < 0) {
		err_set(err, r, "out of memory");
		goto out;
	}
	if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the meta database", err)) < 0 &&
	    (mysql_errno(dst) != ER_BAD_FIELD_ERROR ||
	     (r = conn_query(&res, dst, buf_cstr(&old), "reading the meta database", err)) < 0))
		goto out;
	if ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] && strlen(row[0]) >= sizeof(out->gtid)) {
			r = err_set(err, GW_EFATAL,
				    "the stored GTID position of %s is %zu bytes: longer than %zu",
				    task, strlen(row[0]), sizeof(out->gtid) - 1);
			goto out;
		}
		*found_out = true;
		(void)snprintf(out->gtid, sizeof(out->gtid), "%s", row[0] ? row[0] : "");
		(void)snprintf(out->file, sizeof(out->file), "%s", row[1] ? row[1] : "");
		out->pos = row[2] ? strtoull(row[2], NULL, 10) : 0;
		out->source_ts = row[3] ? strtoll(row[3], NULL, 10) : 0;
		out->kind = pos_kind_of(row[4] ? row[4] : "");
		(void)snprintf(out->source_uuid, sizeof(out->source_uuid), "%s",
			       row[5] ? row[5] : "");
		(void)snprintf(out->halted, sizeof(out->halted), "%s", row[6] ? row[6] : "");
	}
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	buf_release(&old);
	return r;
}

int meta_position_sql(struct buf *sql, MYSQL *dst, const char *metadb, const char *task,
		      const struct binlog_pos *pos)
{
	if (buf_puts(sql, "REPLACE INTO ") < 0 || conn_quote_ident(sql, metadb) < 0 ||
	    buf_puts(sql, ".binlog_position (task, gtid, file, pos, source_ts, kind, source_uuid,"
			  " halted) VALUES (") < 0 ||
	    conn_quote_string(sql, dst, task, strlen(task)) < 0 || buf_puts(sql, ", ") < 0 ||
	    conn_quote_string(sql, dst, pos->gtid, strlen(pos->gtid)) < 0 ||
	    buf_puts(sql, ", ") < 0 ||
	    conn_quote_string(sql, dst, pos->file, strlen(pos->file)) < 0 ||
	    buf_printf(sql, ", %llu, %lld, '%s', ", (unsigned long long)pos->pos,
		       (long long)pos->source_ts, meta_pos_kind_name(pos->kind)) < 0 ||
	    conn_quote_string(sql, dst, pos->source_uuid, strlen(pos->source_uuid)) < 0 ||
	    buf_puts(sql, ", ") < 0 ||
	    conn_quote_string(sql, dst, pos->halted, strlen(pos->halted)) < 0 ||
	    buf_putc(sql, ')') < 0)
		return GW_ENOMEM;
	return 0;
}

void meta_position_format(char *out, size_t outsz, const struct binlog_pos *pos)
{
	if (pos->gtid[0])
		(void)snprintf(out, outsz, "%s", pos->gtid);
	else if (pos->file[0])
		(void)snprintf(out, outsz, "%s:%llu", pos->file, (unsigned long long)pos->pos);
	else if (outsz)
		out[0] = '\0';
}

int meta_forget_task(MYSQL *dst, const char *metadb, const char *task, struct gw_err *err)
{
	static const char *tables[] = {"task_stage", "binlog_position"};
	size_t i;
	int r = 0;

	for (i = 0; i < ARRAY_SIZE(tables) && r == 0; i++) {
		struct buf q = BUF_INIT;
		if (buf_puts(&q, "DELETE FROM ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
		    buf_printf(&q, ".%s WHERE task = ", tables[i]) < 0 ||
		    conn_quote_string(&q, dst, task, strlen(task)) < 0)
			r = err_set(err, GW_ENOMEM, "out of memory");
		else
			r = conn_exec(dst, buf_cstr(&q), err);
		buf_release(&q);
	}
	return r;
}

int meta_fence(MYSQL *dst, const char *task, unsigned long holder, struct gw_err *err)
{
	struct buf q = BUF_INIT, v = BUF_INIT;
	char lock[96];
	bool found = false;
	int r;

	if (!holder)
		return 0;
	snprintf(lock, sizeof(lock), "godwit:%s", task);
	if (buf_puts(&q, "SELECT IS_USED_LOCK(") < 0 ||
	    conn_quote_string(&q, dst, lock, strlen(lock)) < 0 || buf_putc(&q, ')') < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_query_value(&v, &found, dst, buf_cstr(&q), err)) < 0)
		goto out;
	if (!found || !v.len || strtoul(buf_cstr(&v), NULL, 10) != holder)
		r = err_set(err, GW_ECANCEL,
			    "lock %s is no longer held by this controller (held by %s): nothing "
			    "written; another controller may drive the migration",
			    lock, found && v.len ? buf_cstr(&v) : "nobody");
out:
	buf_release(&q);
	buf_release(&v);
	return r;
}

int meta_commit(MYSQL *dst, const char *task, unsigned long holder, struct gw_err *err)
{
	int r;

	if ((r = meta_fence(dst, task, holder, err)) < 0 || (r = conn_exec(dst, "COMMIT", err)) < 0)
		(void)mysql_query(dst, "ROLLBACK");
	return r;
}

const char *meta_database_of(const struct spec *s)
{
	return s->destination.meta_database ? s->destination.meta_database : META_DEFAULT_DB;
}

static int quoted(struct buf *q, MYSQL *dst, const char *s)
{
	return conn_quote_string(q, dst, s ? s : "", s ? strlen(s) : 0);
}

int meta_whitelist_record(MYSQL *dst, const char *metadb, const char *task, const char *role,
			  const struct rds_ref *rds, char *const *cidrs, size_t ncidrs,
			  struct gw_err *err)
{
	struct buf q = BUF_INIT;
	size_t i;
	int r;

	if (!ncidrs)
		return 0;
	if ((r = meta_ensure(dst, metadb, err)) < 0)
		return r;
	if (buf_puts(&q, "INSERT INTO ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".whitelist (task, role, region, instance_id, account_id, role_name, "
			 "cidr) VALUES ") < 0)
		goto oom;
	for (i = 0; i < ncidrs; i++)
		if (buf_puts(&q, i ? ", (" : "(") < 0 || quoted(&q, dst, task) < 0 ||
		    buf_putc(&q, ',') < 0 || quoted(&q, dst, role) < 0 || buf_putc(&q, ',') < 0 ||
		    quoted(&q, dst, rds->region) < 0 || buf_putc(&q, ',') < 0 ||
		    quoted(&q, dst, rds->instance_id) < 0 || buf_putc(&q, ',') < 0 ||
		    quoted(&q, dst, rds->account_id) < 0 || buf_putc(&q, ',') < 0 ||
		    quoted(&q, dst, rds->role_name) < 0 || buf_putc(&q, ',') < 0 ||
		    quoted(&q, dst, cidrs[i]) < 0 || buf_putc(&q, ')') < 0)
			goto oom;
	if (buf_puts(&q, " ON DUPLICATE KEY UPDATE region = VALUES(region),"
			 " instance_id = VALUES(instance_id), account_id = VALUES(account_id),"
			 " role_name = VALUES(role_name), updated_at = CURRENT_TIMESTAMP(6)") < 0)
		goto oom;
	r = conn_exec(dst, buf_cstr(&q), err);
	if (r < 0)
		err_prefix(err, "recording the whitelist entries in %s", metadb);
	buf_release(&q);
	return r;
oom:
	buf_release(&q);
	return err_set(err, GW_ENOMEM, "out of memory");
}

int meta_whitelist_list(struct meta_wl_entry **out, size_t *n, MYSQL *dst, const char *metadb,
			const char *task, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	struct meta_wl_entry *v;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r = 0;

	if (buf_puts(&q, "SELECT role, region, instance_id, account_id, role_name, cidr, task "
			 "FROM ") < 0 ||
	    conn_quote_ident(&q, metadb) < 0 || buf_puts(&q, ".whitelist") < 0 ||
	    (task && (buf_puts(&q, " WHERE task = ") < 0 || quoted(&q, dst, task) < 0)) ||
	    buf_puts(&q, " ORDER BY task, role, cidr") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (mysql_query(dst, buf_cstr(&q)) != 0) {
		/* no meta database yet, or one of before the table: nothing
		 * recorded */
		if (mysql_errno(dst) != ER_NO_SUCH_TABLE && mysql_errno(dst) != ER_BAD_DB_ERROR)
			r = conn_error(err, dst, "reading the recorded whitelist entries");
		goto out;
	}
	if (!(res = mysql_store_result(dst))) {
		r = conn_error(err, dst, "reading the recorded whitelist entries");
		goto out;
	}
	while ((row = mysql_fetch_row(res))) {
		struct meta_wl_entry *e;

		if (!(v = realloc(*out, (*n + 1) * sizeof(*v)))) {
			r = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		*out = v;
		e = &v[(*n)++];
		memset(e, 0, sizeof(*e));
		snprintf(e->role, sizeof(e->role), "%s", row[0] ? row[0] : "");
		snprintf(e->region, sizeof(e->region), "%s", row[1] ? row[1] : "");
		snprintf(e->instance_id, sizeof(e->instance_id), "%s", row[2] ? row[2] : "");
		snprintf(e->account_id, sizeof(e->account_id), "%s", row[3] ? row[3] : "");
		snprintf(e->role_name, sizeof(e->role_name), "%s", row[4] ? row[4] : "");
		snprintf(e->cidr, sizeof(e->cidr), "%s", row[5] ? row[5] : "");
		snprintf(e->task, sizeof(e->task), "%s", row[6] ? row[6] : "");
	}
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

int meta_whitelist_forget(MYSQL *dst, const char *metadb, const char *task, const char *role,
			  struct gw_err *err)
{
	struct buf q = BUF_INIT;
	int r;

	if (buf_puts(&q, "DELETE FROM ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".whitelist WHERE task = ") < 0 || quoted(&q, dst, task) < 0 ||
	    (role && (buf_puts(&q, " AND role = ") < 0 || quoted(&q, dst, role) < 0))) {
		buf_release(&q);
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	r = conn_exec(dst, buf_cstr(&q), err);
	/* no meta database, or one of before the table: nothing to forget */
	if (r < 0 && (mysql_errno(dst) == ER_NO_SUCH_TABLE || mysql_errno(dst) == ER_BAD_DB_ERROR))
		r = 0;
	buf_release(&q);
	return r;
}
