/*
 * Precheck: what must hold before a migration writes anything, each item
 * pass, warn or fail with its cause (naming the object) and how to fix it,
 * as Alibaba Cloud DTS shows them. Any fail stops the migration in
 * PrecheckFailed. Items read only: nothing is written on either server.
 *
 * Items: source-connect, destination-connect, versions,
 * source-privileges, destination-privileges, binlog-enabled,
 * binlog-format, binlog-row-image, server-id, binlog-retention,
 * binlog-row-metadata, gtid-mode (MySQL), source-auth and destination-auth (MySQL),
 * objects-exist, where-filters,
 * primary-keys, name-conflicts, foreign-keys, storage, charsets, sql-mode, lower-case-table-names,
 * engines, definers.
 */
#include "lib/common.h"
#include "engine/precheck.h"
#include "cloud/cloud.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/stream.h"
#include "binlog/gtid.h"
#include "engine/schema.h"
#include "engine/table.h"
#include "lib/sqllex.h"
#include "spec/where.h"
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
	enum sha2auth_path src_auth, dst_auth; /* how each connection authenticated */
	const char *src_method, *dst_method;   /* with which SHA-2 method, or NULL */
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

/* Runs a query; NULL result on error (mysql_error() says which, for the
 * item). */
static MYSQL_RES *q(MYSQL *m, const char *sql)
{
	struct gw_err e = GW_ERR_INIT;
	MYSQL_RES *res;

	return conn_query(&res, m, sql, "query", &e) < 0 ? NULL : res;
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

/* MySQL 5.7 and 8.x, MariaDB 10.x and later (PRODUCT.md). */
static bool version_supported(unsigned long v, bool mariadb)
{
	return mariadb ? v >= 100000 : v >= 50700;
}

static void check_versions(struct pc *pc)
{
	unsigned long sv, dv;
	bool sm, dm;
	const char *si = mysql_get_server_info(pc->src), *di = mysql_get_server_info(pc->dst);

	conn_server_version(pc->src, &sv, &sm);
	conn_server_version(pc->dst, &dv, &dm);
	if (!version_supported(sv, sm) || !version_supported(dv, dm))
		item(pc, "versions", PC_FAIL,
		     "use MySQL 5.7 or 8.x, or MariaDB 10.0 or later, on both sides",
		     "%s %s %s is not supported (MySQL 5.7/8.x and MariaDB 10.x are)",
		     version_supported(sv, sm) ? "destination" : "source",
		     (version_supported(sv, sm) ? dm : sm) ? "MariaDB" : "MySQL",
		     version_supported(sv, sm) ? di : si);
	else if (sm == dm && dv >= sv)
		item(pc, "versions", PC_PASS, NULL, "%s %s to %s %s: supported",
		     sm ? "MariaDB" : "MySQL", si, dm ? "MariaDB" : "MySQL", di);
	else if (sm == dm)
		item(pc, "versions", PC_WARN,
		     "use a destination of the same or a newer version than the source",
		     "the destination %s %s is older than the source %s: newer syntax, types or "
		     "collations may not apply",
		     dm ? "MariaDB" : "MySQL", di, si);
	else
		item(pc, "versions", PC_WARN,
		     "check types and SQL that differ between MySQL and MariaDB (JSON, sequences, "
		     "system versioning, collations)",
		     "%s %s to %s %s: a cross-engine migration", sm ? "MariaDB" : "MySQL", si,
		     dm ? "MariaDB" : "MySQL", di);
}

/*
 * MySQL 8's default method, caching_sha2_password, authenticates by a
 * scramble while the server's cache holds the account; after a restart
 * (RDS maintenance, a failover) the cache is cold and the password itself
 * must go: inside TLS, or RSA-encrypted with the server's public key
 * (engine/sha2auth.h). Without TLS or a key godwit sends it nowhere, so a
 * connection that works today on a warm cache fails after the next
 * restart (Retrying, until the account logs in once over TLS or with the
 * key); a key taken from the server may be a man in the middle's.
 * sha256_password has no cache: every login is a full one.
 */
static void check_auth(struct pc *pc, bool source, MYSQL *m, enum sha2auth_path path,
		       const char *method)
{
	const struct endpoint *ep = source ? &pc->s->source : &pc->s->destination;
	const char *id = source ? "source-auth" : "destination-auth";
	const char *side = source ? "source" : "destination";
	bool sha256 = method && strcmp(method, "sha256_password") == 0;
	const char *how = sha256 ? "sha256_password: every login is a full one (no cache)"
			  : path == SHA2AUTH_FAST
			      ? "caching_sha2_password: this login took the fast "
				"path (the server's cache holds the account)"
			      : "caching_sha2_password: this login was a full "
				"authentication (the server's cache did not hold "
				"the account)";
	const char *fix_key =
	    "tls.serverPublicKey: FILE, the server's RSA public key "
	    "(caching_sha2_password_public_key_path, or SHOW STATUS LIKE "
	    "'Caching_sha2_password_rsa_public_key' read over a trusted connection), or TLS "
	    "(tls.mode required or stronger), or an account IDENTIFIED WITH "
	    "mysql_native_password";
	unsigned long v;
	bool mariadb;

	conn_server_version(m, &v, &mariadb);
	if (mariadb)
		return;
	if (mysql_get_ssl_cipher(m)) {
		item(pc, id, PC_PASS, NULL,
		     "over TLS: a cold caching_sha2_password cache (after a restart or failover of "
		     "the %s) takes the password inside TLS",
		     side);
		return;
	}
	switch (path) {
	case SHA2AUTH_NONE:
		item(pc, id, PC_PASS, NULL,
		     "without TLS the account authenticates by a scramble (mysql_native_password): "
		     "no server cache, a restart or failover of the %s changes nothing; were it "
		     "moved to caching_sha2_password, a cold cache would need TLS or "
		     "tls.serverPublicKey",
		     side);
		return;
	case SHA2AUTH_FULL_TLS:
		item(pc, id, PC_PASS, NULL,
		     "over a local socket: a cold caching_sha2_password cache takes the password "
		     "there, as the server expects");
		return;
	default: break;
	}
	if (ep->tls_server_key)
		item(pc, id, PC_PASS, NULL,
		     "without TLS, %s; a full authentication (a cold cache after a restart or "
		     "failover of the %s) sends the password RSA-encrypted with the key of "
		     "tls.serverPublicKey (%s), never in clear",
		     how, side, ep->tls_server_key);
	else if (ep->tls_get_server_key)
		item(
		    pc, id, PC_WARN,
		    "give the server's key as a file: tls.serverPublicKey (the server's "
		    "caching_sha2_password_public_key_path), or use TLS",
		    "without TLS, %s; tls.getServerPublicKey takes the RSA key the server sends at "
		    "each full authentication (a cold cache after a restart or failover of the "
		    "%s): a man in the middle could send its own and read the password",
		    how, side);
	else
		item(pc, id, PC_WARN, fix_key,
		     "without TLS, %s; after a restart or failover of the %s the cache is cold, "
		     "and without TLS or the server's key godwit sends the password nowhere: "
		     "connections are refused (a running migration waits in Retrying) until this "
		     "account logs in once over TLS or with the key",
		     how, side);
}

/* --- privileges ------------------------------------------------------ */

/*
 * The grants of the account, read from SHOW GRANTS: the privileges on *.*
 * and those on each database pattern (`shop`.*, `sh\_op%`.*). Table and
 * column grants are not counted: the migration works on whole databases.
 * NEEDSWORK: privileges that come through a role are not seen.
 */
struct grants {
	struct buf global; /* ",SELECT,INSERT," */
	struct buf dbs;	   /* "pattern\tprivs\n" per database grant */
};

static void grants_release(struct grants *g)
{
	buf_release(&g->global);
	buf_release(&g->dbs);
}

/* Appends ",P1,P2," from "P1, P2" (privilege names upper case, spaces kept). */
static int privs_add(struct buf *b, const char *list, size_t n)
{
	size_t i = 0;

	if (!b->len && buf_putc(b, ',') < 0)
		return GW_ENOMEM;
	while (i < n) {
		size_t j = i;
		while (j < n && list[j] != ',')
			j++;
		while (i < j && list[i] == ' ')
			i++;
		if (buf_add(b, list + i, j - i) < 0 || buf_putc(b, ',') < 0)
			return GW_ENOMEM;
		i = j + 1;
	}
	return 0;
}

static int grants_read(struct grants *out, MYSQL *m)
{
	MYSQL_RES *res = q(m, "SHOW GRANTS");
	MYSQL_ROW row;
	int r = 0;

	if (!res)
		return GW_EFATAL;
	while ((row = mysql_fetch_row(res)) && r == 0) {
		struct sqllex lx;
		struct sqltok t, db;
		size_t privs, privs_end = 0;
		int depth = 0;
		bool column = false;

		if (!row[0])
			continue;
		sqllex_init(&lx, row[0], strlen(row[0]), SQLLEX_DEFAULT);
		if (!sqltok_is((sqllex_code(&lx, &t), &t), "GRANT"))
			continue;
		/* the privileges, up to ON; column privileges are not counted */
		for (privs = t.off + t.len; sqllex_code(&lx, &t) != SQLT_END;
		     privs_end = t.off + t.len) {
			if (depth == 0 && sqltok_is(&t, "ON"))
				break;
			if (sqltok_sym(&t, "("))
				depth++, column = true;
			else if (sqltok_sym(&t, ")"))
				depth--;
		}
		if (t.kind == SQLT_END || column || privs_end <= privs)
			continue;
		/* *.* or `db`.* only; `db`.`table` and PROCEDURE grants are not counted */
		(void)sqllex_code(&lx, &db);
		if ((!sqltok_sym(&db, "*") && db.kind != SQLT_QIDENT) ||
		    !sqltok_sym((sqllex_code(&lx, &t), &t), ".") ||
		    !sqltok_sym((sqllex_code(&lx, &t), &t), "*"))
			continue;
		if (db.kind != SQLT_QIDENT) {
			r = privs_add(&out->global, row[0] + privs, privs_end - privs);
			continue;
		}
		/* the pattern as written between the backticks (db_pattern_match) */
		if (memchr(db.p, '\t', db.len) || memchr(db.p, '\n', db.len))
			continue; /* NEEDSWORK: not in this list's format */
		if (buf_add(&out->dbs, db.p + 1, db.len - 2) < 0 || buf_putc(&out->dbs, '\t') < 0 ||
		    buf_putc(&out->dbs, ',') < 0 ||
		    privs_add(&out->dbs, row[0] + privs, privs_end - privs) < 0 ||
		    buf_putc(&out->dbs, '\n') < 0)
			r = GW_ENOMEM;
	}
	mysql_free_result(res);
	return r;
}

/* A database pattern of a GRANT matched against a name: % and _ are
 * wildcards, \ escapes them, `` is one backtick. */
static bool db_pattern_match(const char *p, size_t pn, const char *name)
{
	if (!pn)
		return !*name;
	if (*p == '%') {
		for (;; name++) {
			if (db_pattern_match(p + 1, pn - 1, name))
				return true;
			if (!*name)
				return false;
		}
	}
	if (*p == '\\' && pn > 1)
		return *name == p[1] && db_pattern_match(p + 2, pn - 2, name + 1);
	if (*p == '`' && pn > 1 && p[1] == '`')
		return *name == '`' && db_pattern_match(p + 2, pn - 2, name + 1);
	if (!*name)
		return false;
	return (*p == '_' || *p == *name) && db_pattern_match(p + 1, pn - 1, name + 1);
}

enum grant_scope {
	GRANT_GLOBAL,	/* ON *.* */
	GRANT_DATABASE, /* ON db.* */
};

static bool privs_have(const char *privs, const char *p, enum grant_scope scope)
{
	bool global = scope == GRANT_GLOBAL;
	char pat[64];

	/* ALL PRIVILEGES on a database does not carry the global-only ones */
	if (strstr(privs, ",ALL PRIVILEGES,") &&
	    (global || (strcmp(p, "REPLICATION SLAVE") && strcmp(p, "REPLICATION CLIENT"))))
		return true;
	(void)snprintf(pat, sizeof(pat), ",%s,", p);
	return strstr(privs, pat) != NULL;
}

/* Whether the account has privilege p on database db (NULL: globally). */
static bool grants_have(const struct grants *g, const char *db, const char *p)
{
	const char *line;

	if (g->global.len && privs_have(buf_cstr(&g->global), p, GRANT_GLOBAL))
		return true;
	/* MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR; SUPER
	 * held it before */
	if (!strcmp(p, "REPLICATION CLIENT") && g->global.len &&
	    (privs_have(buf_cstr(&g->global), "BINLOG MONITOR", GRANT_GLOBAL) ||
	     privs_have(buf_cstr(&g->global), "SUPER", GRANT_GLOBAL)))
		return true;
	for (line = g->dbs.len ? g->dbs.ptr : NULL; db && line && *line;) {
		const char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		if (!tab || !nl)
			break;
		if (db_pattern_match(line, (size_t)(tab - line), db)) {
			struct buf privs = BUF_INIT;
			bool yes = buf_add(&privs, tab + 1, (size_t)(nl - tab - 1)) == 0 &&
				   privs_have(buf_cstr(&privs), p, GRANT_DATABASE);
			buf_release(&privs);
			if (yes)
				return true;
		}
		line = nl + 1;
	}
	return false;
}

/* Collects what the account lacks on db (NULL: globally) into the cause and
 * the GRANT statement that gives it into the fix. */
static void need_privs(struct buf *cause, struct buf *fix, const struct grants *g, const char *db,
		       const char *const *need, size_t nneed, const char *account)
{
	struct buf missing = BUF_INIT, on = BUF_INIT;
	size_t i;

	for (i = 0; i < nneed; i++)
		if (!grants_have(g, db, need[i]) &&
		    buf_printf(&missing, "%s%s", missing.len ? ", " : "", need[i]) < 0)
			goto out;
	if (!missing.len)
		goto out;
	if (db ? (conn_quote_ident(&on, db) < 0 || buf_puts(&on, ".*") < 0)
	       : buf_puts(&on, "*.*") < 0)
		goto out;
	if (buf_printf(cause, "%s%s on %s", cause->len ? "; " : "", buf_cstr(&missing),
		       buf_cstr(&on)) < 0 ||
	    buf_printf(fix, "%sGRANT %s ON %s TO %s;", fix->len ? " " : "", buf_cstr(&missing),
		       buf_cstr(&on), account) < 0) {
		/* out of memory: the item says less */
	}
out:
	buf_release(&missing);
	buf_release(&on);
}

/* 'user'@'host' of the connection's account (CURRENT_USER), quoted. */
static void account_of(struct buf *out, MYSQL *m, const char *fallback_user)
{
	char *cu = value(m, "SELECT CURRENT_USER()");
	char *at = cu ? strrchr(cu, '@') : NULL;

	buf_reset(out);
	if (at) {
		*at = '\0';
		if (conn_quote_string(out, m, cu, strlen(cu)) < 0 || buf_putc(out, '@') < 0 ||
		    conn_quote_string(out, m, at + 1, strlen(at + 1)) < 0)
			buf_reset(out);
	}
	if (!out->len && buf_printf(out, "'%s'@'%%'", fallback_user ? fallback_user : "?") < 0)
		buf_reset(out);
	free(cu);
}

enum pc_side {
	PC_SOURCE,
	PC_DESTINATION,
};

static void check_privileges(struct pc *pc, enum pc_side side)
{
	bool source = side == PC_SOURCE;
	static const char *src_need[] = {"SELECT", "SHOW VIEW", "TRIGGER", "EVENT"};
	static const char *inc_need[] = {"REPLICATION SLAVE", "REPLICATION CLIENT"};
	static const char *dst_need[] = {"SELECT",	"CREATE",  "ALTER",	     "INDEX",
					 "INSERT",	"UPDATE",  "DELETE",	     "DROP",
					 "CREATE VIEW", "TRIGGER", "CREATE ROUTINE", "EVENT"};
	static const char *meta_need[] = {"SELECT", "CREATE", "INSERT", "UPDATE", "DELETE"};
	const char *id = source ? "source-privileges" : "destination-privileges";
	const struct endpoint *ep = source ? &pc->s->source : &pc->s->destination;
	MYSQL *m = source ? pc->src : pc->dst;
	struct grants g = {BUF_INIT, BUF_INIT};
	struct buf cause = BUF_INIT, fix = BUF_INIT, account = BUF_INIT;
	size_t i, j;

	account_of(&account, m, ep->user);
	if (grants_read(&g, m) < 0) {
		item(pc, id, PC_FAIL, "let the account run SHOW GRANTS (it always may for itself)",
		     "cannot read the grants of %s: %s", buf_cstr(&account), mysql_error(m));
		goto out;
	}
	for (i = 0; i < pc->s->nobjects; i++) {
		const char *db =
		    source ? pc->s->objects[i].database : spec_dest_database(&pc->s->objects[i]);
		for (j = 0; j < i; j++)
			if (!strcmp(db, source ? pc->s->objects[j].database
					       : spec_dest_database(&pc->s->objects[j])))
				break;
		if (j < i)
			continue;
		if (source)
			need_privs(&cause, &fix, &g, db, src_need, ARRAY_SIZE(src_need),
				   buf_cstr(&account));
		else
			need_privs(&cause, &fix, &g, db, dst_need, ARRAY_SIZE(dst_need),
				   buf_cstr(&account));
	}
	if (source && pc->incremental)
		need_privs(&cause, &fix, &g, NULL, inc_need, ARRAY_SIZE(inc_need),
			   buf_cstr(&account));
	if (!source)
		need_privs(&cause, &fix, &g, meta_database_of(pc->s), meta_need,
			   ARRAY_SIZE(meta_need), buf_cstr(&account));
	if (!cause.len)
		item(pc, id, PC_PASS, NULL, "account %s has what the migration needs",
		     buf_cstr(&account));
	else
		item(pc, id, PC_FAIL, buf_cstr(&fix), "account %s on the %s lacks %s",
		     buf_cstr(&account), source ? "source" : "destination", buf_cstr(&cause));
out:
	grants_release(&g);
	buf_release(&cause);
	buf_release(&fix);
	buf_release(&account);
}

/* --- binlog ---------------------------------------------------------- */

/* Whether a MariaDB position is still in the source's binlogs although its
 * file is not: the Gtid_list at the start of the oldest binlog (the last
 * GTID of each domain before it) is within it. */
static bool maria_gtid_kept(struct pc *pc, const char *gtid, const char *oldest)
{
	struct gtid_pos have = GTID_POS_INIT, before = GTID_POS_INIT;
	struct gw_err e = GW_ERR_INIT;
	struct buf b = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	bool kept = false;

	if (gtid_pos_parse(&have, gtid, &e) < 0 || buf_puts(&b, "SHOW BINLOG EVENTS IN ") < 0 ||
	    conn_quote_string(&b, pc->src, oldest, strlen(oldest)) < 0 ||
	    buf_puts(&b, " LIMIT 4") < 0 || !(res = q(pc->src, buf_cstr(&b))))
		goto out;
	kept = true;
	while ((row = mysql_fetch_row(res)))
		if (row[2] && !strcmp(row[2], "Gtid_list") && row[5])
			kept = gtid_pos_parse(&before, row[5], &e) == 0 &&
			       gtid_pos_reached(&have, &before);
out:
	if (res)
		mysql_free_result(res);
	gtid_pos_release(&have);
	gtid_pos_release(&before);
	buf_release(&b);
	return kept;
}

/* A MySQL GTID set is still there when the source has purged nothing the
 * set lacks; *lacks when the source has not even executed all of it (a
 * server without this migration's history). */
static bool mysql_set_kept(struct pc *pc, const char *gtid, bool *lacks)
{
	struct gtid_set have = GTID_SET_INIT, purged = GTID_SET_INIT, exec = GTID_SET_INIT;
	struct gw_err e = GW_ERR_INIT;
	char *p = value(pc->src, "SELECT @@GLOBAL.gtid_purged");
	char *x = value(pc->src, "SELECT @@GLOBAL.gtid_executed");
	bool kept = p && x && gtid_set_parse(&have, gtid, &e) == 0 &&
		    gtid_set_parse(&purged, p, &e) == 0 && gtid_set_parse(&exec, x, &e) == 0 &&
		    gtid_set_contains(&have, &purged);

	*lacks = kept && !gtid_set_contains(&exec, &have);
	gtid_set_release(&have);
	gtid_set_release(&purged);
	gtid_set_release(&exec);
	free(p);
	free(x);
	return kept && !*lacks;
}

/*
 * Whether the resumable position this task stored in the meta database is
 * still in the source's binlogs: a MySQL GTID set when the source purged
 * nothing it lacks (whatever the server: after a switch-over the files are
 * others); a file position when its file is among SHOW BINARY LOGS (and,
 * on MySQL, the server is the one it was read from); a MariaDB GTID
 * position by its file or else the oldest binlog's Gtid_list.
 */
static void check_position_kept(struct pc *pc)
{
	struct binlog_pos pos;
	struct gw_err e = GW_ERR_INIT;
	bool found = false, kept = false, mariadb, lacks = false;
	char *oldest = NULL, text[300], uuid[64] = "";
	enum binlog_pos_kind kind;
	unsigned long v;
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (meta_position_get(&pos, &found, pc->dst, meta_database_of(pc->s), pc->s->name, &e) <
		0 ||
	    !found)
		return; /* nothing to resume from: retention is about the future */
	meta_position_format(text, sizeof(text), &pos);
	if (strlen(text) + 1 >= sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	if (pos.halted[0]) {
		item(pc, "binlog-retention", PC_FAIL,
		     "start a new full migration (delete the spec's data on the destination and "
		     "the spec, then create it anew under another name)",
		     "the incremental migration stopped for good at %s: %.400s", text, pos.halted);
		return;
	}
	conn_server_version(pc->src, &v, &mariadb);
	kind = pos.kind != POS_UNKNOWN			   ? pos.kind
	       : gtid_text_flavour(pos.gtid) == GTID_MYSQL ? POS_MYSQL_GTID
	       : mariadb				   ? POS_MARIADB
							   : POS_FILE;
	if (kind == POS_MYSQL_GTID) {
		kept = mysql_set_kept(pc, pos.gtid, &lacks);
		goto report;
	}
	if (!(res = q(pc->src, "SHOW BINARY LOGS"))) {
		item(pc, "binlog-retention", PC_FAIL,
		     "grant REPLICATION CLIENT (BINLOG MONITOR) to the source account",
		     "cannot list the source's binlogs to find the stored position %s: %s", text,
		     mysql_error(pc->src));
		return;
	}
	while ((row = mysql_fetch_row(res))) {
		if (!oldest && row[0])
			oldest = strdup(row[0]);
		if (pos.file[0] && row[0] && !strcmp(row[0], pos.file))
			kept = true;
	}
	mysql_free_result(res);
	if (kind == POS_FILE && pos.source_uuid[0] && stream_source_uuid(uuid, pc->src, &e) == 0 &&
	    strcmp(uuid, pos.source_uuid)) {
		item(pc, "binlog-retention", PC_FAIL,
		     "start a new full migration; enable GTIDs (gtid_mode ON) so that a position "
		     "survives a switch-over",
		     "the stored position %s is of the server %s, the source is now %s: without "
		     "GTIDs a file position cannot move to another server",
		     text, pos.source_uuid, uuid);
		free(oldest);
		return;
	}
	if (!kept && kind == POS_MARIADB && pos.gtid[0] && oldest)
		kept = maria_gtid_kept(pc, pos.gtid, oldest);
report:
	if (kept)
		item(pc, "binlog-retention", PC_PASS, NULL,
		     "the stored position %s is still in the source's binlogs", text);
	else if (lacks)
		item(pc, "binlog-retention", PC_FAIL,
		     "start a new full migration, or point the spec back at the server with the "
		     "migration's history",
		     "the source lacks transactions of the stored position %s: it is not a server "
		     "with this migration's history",
		     text);
	else
		item(pc, "binlog-retention", PC_FAIL,
		     "start a new full migration (delete the spec's data on the destination and "
		     "the spec, then create it anew under another name), and keep binlogs longer",
		     "the position %s stored in godwit_meta for this migration is older than the "
		     "oldest binlog on the source (%s): the changes since were purged",
		     text,
		     kind == POS_MYSQL_GTID ? "see gtid_purged"
		     : oldest		    ? oldest
					    : "none");
	free(oldest);
}

/* MySQL: with gtid_mode ON the position is a GTID set, which any server
 * with the history can continue; without, a file offset of one server. */
static void check_gtid_mode(struct pc *pc)
{
	char *mode = value(pc->src, "SELECT @@GLOBAL.gtid_mode");
	char *enforce = value(pc->src, "SELECT @@GLOBAL.enforce_gtid_consistency");

	if (mode && !strcasecmp(mode, "ON"))
		item(pc, "gtid-mode", PC_PASS, NULL,
		     "gtid_mode is ON (enforce_gtid_consistency %s): the position is a GTID set, "
		     "resumed on any server that has the source's history (a switch-over)",
		     enforce ? enforce : "?");
	else
		item(pc, "gtid-mode", PC_WARN,
		     "SET GLOBAL enforce_gtid_consistency = ON, then gtid_mode OFF_PERMISSIVE, "
		     "ON_PERMISSIVE and ON, one step at a time (MySQL's online procedure)",
		     "gtid_mode is %s (enforce_gtid_consistency %s): the position is a file "
		     "offset of this server; after a switch-over to another server (a new "
		     "primary, an RDS high-availability failover) the migration cannot resume and "
		     "needs a new full migration",
		     mode ? mode : "unknown", enforce ? enforce : "unknown");
	free(mode);
	free(enforce);
}

static void check_binlog(struct pc *pc)
{
	char *log_bin = value(pc->src, "SELECT @@GLOBAL.log_bin");
	char *fmt = value(pc->src, "SELECT @@GLOBAL.binlog_format");
	char *img = value(pc->src, "SELECT @@GLOBAL.binlog_row_image");
	char *sid = value(pc->src, "SELECT @@GLOBAL.server_id");
	char *exp = value(pc->src, "SELECT @@GLOBAL.expire_logs_days");
	char *secs = value(pc->src, "SELECT @@GLOBAL.binlog_expire_logs_seconds");
	char *meta = value(pc->src, "SELECT @@GLOBAL.binlog_row_metadata");
	char *purge = value(pc->src, "SELECT @@GLOBAL.binlog_expire_logs_auto_purge");
	unsigned long ver;
	bool mariadb;

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
	check_position_kept(pc);
	{
		double days = exp ? strtod(exp, NULL) : 0;
		long long s = secs ? strtoll(secs, NULL, 10) : 0;
		double hours = s ? (double)s / 3600.0 : days * 24.0;
		double retry_h = (double)pc->s->retry_window_ms / 3600000.0;
		if (hours == 0 || (purge && !strcmp(purge, "0")))
			item(pc, "binlog-retention", PC_PASS, NULL,
			     "binlogs are kept until purged by hand");
		else if (hours < 24 || hours < retry_h)
			item(pc, "binlog-retention", PC_WARN,
			     "keep binlogs 7 days: SET GLOBAL binlog_expire_logs_seconds = 604800",
			     "binlogs are kept %.1f hours%s: a pause, an outage or a retry longer "
			     "than that needs a new full migration",
			     hours, hours < retry_h ? ", less than retryWindow" : "");
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
	conn_server_version(pc->src, &ver, &mariadb);
	if (!mariadb)
		check_gtid_mode(pc);
	free(log_bin), free(fmt), free(img), free(sid), free(exp), free(secs), free(meta);
	free(purge);
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

/* --- row filters --------------------------------------------------------- */

struct where_cols {
	const struct table *model; /* the source's table */
	struct buf problems;
};

static bool where_is_column(void *ctx, const char *name)
{
	const struct table *t = ((struct where_cols *)ctx)->model;
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (!strcasecmp(t->cols[i].name, name))
			return true;
	return false;
}

static void where_problem(void *ctx, size_t off, enum where_issue issue, const char *text)
{
	struct where_cols *w = ctx;
	size_t before = w->problems.len;

	/* (short of memory, the item says less) */
	if ((w->problems.len && buf_puts(&w->problems, "; ") < 0) ||
	    (issue == WHERE_COLUMN
		 ? buf_printf(&w->problems, "'%s' (at byte %zu) is not a column of the table", text,
			      off + 1)
		 : buf_printf(&w->problems, "%s (at byte %zu)", text, off + 1)) < 0)
		buf_truncate(&w->problems, before);
}

/*
 * The where of table t (model: the source's table) is one expression over
 * the table's own columns (spec/where.h: the loader checked its shape,
 * this checks its names against the table's columns), and it runs there.
 * A failure names the server's error number and SQLSTATE; its message
 * only for errors that quote the statement (a syntax error, an unknown
 * column or function), as others may quote data. Returns 1 for a failure,
 * else 0.
 */
static int check_where(struct pc *pc, const struct table *model, const struct table_sel *t)
{
	struct where_cols w = {model, BUF_INIT};
	struct where_check cb = {where_is_column, where_problem, &w};
	struct buf b = BUF_INIT;
	MYSQL_RES *res = NULL;
	unsigned e;
	int failed = 1;

	if (where_check(t->where, &cb)) {
		item(pc, "where-filters", PC_FAIL,
		     "correct the where expression in the spec: one boolean expression over the "
		     "table's own columns",
		     "where of %s.%s: %s", model->db, model->table, buf_cstr(&w.problems));
		goto out;
	}
	if (buf_puts(&b, "SELECT 1 FROM ") < 0 || conn_quote_ident(&b, model->db) < 0 ||
	    buf_putc(&b, '.') < 0 || conn_quote_ident(&b, model->table) < 0 ||
	    buf_printf(&b, " WHERE (%s) LIMIT 0", t->where) < 0)
		goto out;
	if (!(res = q(pc->src, buf_cstr(&b)))) {
		e = mysql_errno(pc->src);
		item(pc, "where-filters", PC_FAIL, "correct the where expression in the spec",
		     "where of %s.%s does not run on the source: error %u (SQLSTATE %s)%s%s",
		     model->db, model->table, e, mysql_sqlstate(pc->src),
		     e == 1064 || e == 1054 || e == 1305 || e == 1582 || e == 1583 ? ": " : "",
		     e == 1064 || e == 1054 || e == 1305 || e == 1582 || e == 1583
			 ? mysql_error(pc->src)
			 : "");
		goto out;
	}
	item(pc, "where-filters", PC_PASS, NULL, "where of %s.%s runs on the source", model->db,
	     model->table);
	failed = 0;
out:
	if (res)
		mysql_free_result(res);
	buf_release(&w.problems);
	buf_release(&b);
	return failed;
}

static void check_objects(struct pc *pc)
{
	size_t i, j, k;
	int bad = 0, nwhere = 0;

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
			item(pc, "objects-exist", PC_FAIL,
			     "correct objects[].database in the spec (or let the account see it)",
			     "database %s does not exist on the source (or the account cannot see "
			     "it)",
			     o->database);
			bad++;
			free(v);
			continue;
		}
		free(v);
		for (j = 0; j < o->ntables; j++) {
			const struct table_sel *t = &o->tables[j];
			struct table model;
			struct gw_err e = GW_ERR_INIT;
			int lr;

			memset(&model, 0, sizeof(model));
			if ((lr = table_load(&model, pc->src, o->database, t->name, NULL, NULL,
					     NULL, &e)) < 0) {
				if (lr == GW_ENOTFOUND)
					item(pc, "objects-exist", PC_FAIL,
					     "correct the table name in the spec",
					     "table %s.%s does not exist on the source",
					     o->database, t->name);
				else
					item(pc, "objects-exist", PC_FAIL,
					     "grant SELECT on the selected databases",
					     "cannot read table %s.%s on the source: %s",
					     o->database, t->name, e.msg);
				bad++;
				continue;
			}
			/* the column list, then the columns renameColumns names */
			for (k = 0; k < t->ncolumns + t->nrenames; k++) {
				bool listed = k < t->ncolumns;
				const char *col =
				    listed ? t->columns[k] : t->renames[k - t->ncolumns].from;
				size_t c;
				for (c = 0; c < model.ncols; c++)
					if (!strcasecmp(model.cols[c].name, col))
						break;
				if (c == model.ncols) {
					item(pc, "objects-exist", PC_FAIL,
					     listed ? "correct the column list in the spec"
						    : "correct renameColumns in the spec",
					     "column %s.%s.%s%s does not exist on the source",
					     o->database, t->name, col,
					     listed ? "" : " (in renameColumns)");
					bad++;
				}
			}
			if (t->where) {
				nwhere++;
				bad += check_where(pc, &model, t);
			}
			table_release(&model);
		}
	}
	if (!bad)
		item(pc, "objects-exist", PC_PASS, NULL,
		     "every selected object exists on the source");
	if (!nwhere)
		item(pc, "where-filters", PC_PASS, NULL, "no table has a where filter");
}

/* Whether the source has object db.name in information_schema.tbl. */
static bool object_on_source(struct pc *pc, const char *tbl, const char *scol, const char *db,
			     const char *name, const char *type)
{
	struct buf b = BUF_INIT;
	char *v = NULL;
	bool yes;

	if (buf_printf(&b, "SELECT COUNT(*) FROM information_schema.%s WHERE %s = ", tbl, scol) ==
		0 &&
	    conn_quote_string(&b, pc->src, db, strlen(db)) == 0 &&
	    buf_printf(&b, " AND %s = ",
		       !strcmp(tbl, "VIEWS")	  ? "TABLE_NAME"
		       : !strcmp(tbl, "ROUTINES") ? "ROUTINE_NAME"
		       : !strcmp(tbl, "TRIGGERS") ? "TRIGGER_NAME"
						  : "EVENT_NAME") == 0 &&
	    conn_quote_string(&b, pc->src, name, strlen(name)) == 0 &&
	    (strcmp(tbl, "ROUTINES") || (buf_puts(&b, " AND ROUTINE_TYPE = ") == 0 &&
					 conn_quote_string(&b, pc->src, type, strlen(type)) == 0)))
		v = value(pc->src, buf_cstr(&b));
	yes = v && strcmp(v, "0");
	free(v);
	buf_release(&b);
	return yes;
}

/* An existing empty destination table: taken as is when its definition is
 * the one the migration would create, a fail otherwise. Returns 1 on a
 * fail. */
static int check_same_table(struct pc *pc, const char *db, const char *table,
			    const struct table_sel *tsel, const char *ddb, const char *dtable)
{
	struct buf diff = BUF_INIT;
	struct gw_err e = GW_ERR_INIT;
	int failed = 0;

	if (schema_table_diff(&diff, pc->src, pc->dst, db, table, tsel, ddb, dtable, &e) < 0) {
		item(pc, "name-conflicts", PC_FAIL, "check the destination account's privileges",
		     "cannot compare destination table %s.%s with the source: %s", ddb, dtable,
		     e.msg);
		failed = 1;
	} else if (diff.len) {
		item(pc, "name-conflicts", PC_FAIL,
		     "drop the destination table (it is empty) or map the table to another name "
		     "with renameTo",
		     "destination table %s.%s already exists, empty, with another definition: %s",
		     ddb, dtable, buf_cstr(&diff));
		failed = 1;
	} else {
		item(pc, "name-conflicts", PC_PASS, NULL,
		     "destination table %s.%s already exists, empty, with the same definition: "
		     "it is used as is",
		     ddb, dtable);
	}
	buf_release(&diff);
	return failed;
}

/* Views, routines, triggers and events of whole-database selections that
 * already exist on the destination: kept by the schema migration only with
 * the source's definition. Returns the number of fails. */
static int check_object_conflicts(struct pc *pc)
{
	static const char *kinds[][4] = {
	    {"VIEW", "VIEWS", "TABLE_SCHEMA", "TABLE_NAME, 'VIEW'"},
	    {"ROUTINE", "ROUTINES", "ROUTINE_SCHEMA", "ROUTINE_NAME, ROUTINE_TYPE"},
	    {"TRIGGER", "TRIGGERS", "TRIGGER_SCHEMA", "TRIGGER_NAME, 'TRIGGER'"},
	    {"EVENT", "EVENTS", "EVENT_SCHEMA", "EVENT_NAME, 'EVENT'"}};
	size_t i, k;
	int failed = 0;

	for (i = 0; i < pc->s->nobjects; i++) {
		const struct object_sel *o = &pc->s->objects[i];
		const char *dest = spec_dest_database(o);
		if (!spec_whole_database(o))
			continue;
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			struct buf b = BUF_INIT;
			MYSQL_RES *res;
			MYSQL_ROW row;
			if (buf_printf(&b, "SELECT %s FROM information_schema.%s WHERE %s = ",
				       kinds[k][3], kinds[k][1], kinds[k][2]) < 0 ||
			    conn_quote_string(&b, pc->dst, dest, strlen(dest)) < 0 ||
			    !(res = q(pc->dst, buf_cstr(&b)))) {
				buf_release(&b);
				continue;
			}
			while ((row = mysql_fetch_row(res))) {
				struct gw_err e = GW_ERR_INIT;
				bool same = true;
				if (schema_object_same(&same, pc->src, pc->dst, pc->s, row[1],
						       o->database, dest, row[0], &e) < 0 ||
				    same)
					continue;
				/* absent on the source: not the migration's business */
				if (!object_on_source(pc, kinds[k][1], kinds[k][2], o->database,
						      row[0], row[1]))
					continue;
				failed++;
				item(pc, "name-conflicts", PC_FAIL,
				     "drop it (the migration creates it) or map the database to "
				     "another name with renameTo",
				     "destination %s %s.%s already exists with another definition",
				     row[1], dest, row[0]);
			}
			mysql_free_result(res);
			buf_release(&b);
		}
	}
	return failed;
}

/* The key item of one table (see table.h for the key); returns 1 on a
 * warn or fail. */
static int check_key(struct pc *pc, const struct table *t)
{
	unsigned long version;
	bool mariadb;

	if (t->key_unselected) {
		item(pc, "primary-keys", PC_FAIL, "add the key column to columns: in the spec",
		     "the column list of %s.%s leaves out %s key column %s: its rows cannot be "
		     "addressed on the destination",
		     t->db, t->table, t->key_kind == TABLE_KEY_PRIMARY ? "primary" : "unique",
		     t->key_unselected);
		return 1;
	}
	if (t->key_kind != TABLE_KEY_NONE)
		return 0;
	conn_server_version(pc->src, &version, &mariadb);
	item(pc, "primary-keys", PC_WARN,
	     "add a primary key (ALTER TABLE ... ADD PRIMARY KEY (...)) or leave the table out "
	     "with excludeTables; nothing, if that is acceptable",
	     "table %s.%s has no primary key, nor a unique key on NOT NULL columns: its copy "
	     "cannot resume part-way (an interrupted copy starts it again from empty)%s%s",
	     t->db, t->table,
	     pc->incremental ? "; its changes are applied by the whole row (UPDATE and DELETE "
			       "find it by every column, LIMIT 1: a scan of the destination "
			       "table per change unless an index helps)"
			     : "",
	     pc->incremental && !mariadb
		 ? "; the copy locks it (LOCK TABLES ... READ) for a moment to read its "
		   "position: the source account needs LOCK TABLES"
		 : "");
	return 1;
}

/* Keys, conflicts, engines, storage: one pass over the selected tables. */
static void check_tables(struct pc *pc)
{
	struct table *tables = NULL;
	struct gw_err e = GW_ERR_INIT;
	size_t n = 0, i;
	int nokey = 0, conflicts = 0, engines = 0;

	if (table_list(&tables, &n, pc->src, pc->s, TABLE_MISSING_SKIPPED, &e) < 0) {
		item(pc, "primary-keys", PC_FAIL, "grant SELECT on the selected databases",
		     "cannot read the source's tables: %s", e.msg);
		return;
	}
	{
		uint64_t bytes = 0;
		for (i = 0; i < n; i++) {
			const struct table *t = &tables[i];
			bytes += t->bytes;
			nokey += check_key(pc, t);
			if (t->engine && strcasecmp(t->engine, "InnoDB")) {
				engines++;
				item(pc, "engines", PC_WARN,
				     "convert it: ALTER TABLE ... ENGINE=InnoDB",
				     "table %s.%s uses %s: not transactional, its copy and changes "
				     "are "
				     "not atomic with their checkpoints",
				     t->db, t->table, t->engine);
			}
			/* name conflicts on the destination */
			if (!pc->task_has_data &&
			    table_exists(pc->dst, t->dest_db, t->dest_table)) {
				struct buf c = BUF_INIT;
				char *any;
				if (table_name(&c, t, TABLE_DEST) == 0) {
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
							     t->dest_db, t->dest_table);
						} else if (any) {
							conflicts += check_same_table(
							    pc, t->db, t->table, t->tsel,
							    t->dest_db, t->dest_table);
						}
						free(any);
					}
					buf_release(&sq);
				}
				buf_release(&c);
			}
		}
		if (!pc->task_has_data)
			conflicts += check_object_conflicts(pc);
		if (!nokey)
			item(pc, "primary-keys", PC_PASS, NULL,
			     "every selected table (%zu) has a primary or unique key", n);
		if (!conflicts)
			item(pc, "name-conflicts", PC_PASS, NULL,
			     pc->task_has_data ? "the destination tables are this migration's own"
					       : "no destination table holds rows");
		if (!engines)
			item(pc, "engines", PC_PASS, NULL, "every selected table is InnoDB");
		if (pc->s->destination.is_rds) {
			struct cloud_instance_info info;
			struct gw_err ce = GW_ERR_INIT;
			if (cloud_instance_info(&info, &pc->s->destination, pc->s->name, &ce) < 0)
				item(pc, "storage", PC_FAIL,
				     "check the Alibaba Cloud credentials and the RAM role's "
				     "rds:DescribeDBInstanceAttribute permission",
				     "cannot read the destination instance's storage: %s", ce.msg);
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
	table_list_free(tables, n);
}

/* What the incremental migration does with a cascading foreign key
 * (docs/incremental.md, "Foreign keys"). */
#define FK_CASCADE_HOW                                                                 \
	"the incremental migration has the destination perform them (the parent's "    \
	"change runs with foreign key checks on), applying the changes of the tables " \
	"such keys link in source order, one transaction group at a time"
#define FK_CASCADE_FIX                                                                   \
	"none needed; know that changes of tables linked by cascading foreign keys are " \
	"not applied in parallel"

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
		item(pc, "foreign-keys", PC_FAIL, "grant SELECT on the selected databases",
		     "cannot read the source's foreign keys: %s", mysql_error(pc->src));
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
			item(pc, "foreign-keys", PC_WARN, FK_CASCADE_FIX,
			     "foreign key %s of %s.%s has ON UPDATE %s / ON DELETE %s: cascaded "
			     "changes are not in the binlog; " FK_CASCADE_HOW,
			     row[2], row[0], row[1], row[5], row[6]);
		} else if (strcmp(row[6], "RESTRICT") && strcmp(row[6], "NO ACTION")) {
			warned++;
			item(
			    pc, "foreign-keys", PC_WARN, FK_CASCADE_FIX,
			    "foreign key %s of %s.%s has ON DELETE %s: cascaded deletes are not in "
			    "the binlog; " FK_CASCADE_HOW,
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

	/* columns, tables and databases: each default is used by what is
	 * created later */
	if (buf_puts(&b, "SELECT c, MIN(o) FROM (SELECT COLLATION_NAME AS c,"
			 " CONCAT('column ', TABLE_SCHEMA, '.', TABLE_NAME, '.', COLUMN_NAME) AS o"
			 " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (") < 0 ||
	    db_list(&b, pc->src, pc->s) < 0 ||
	    buf_puts(&b,
		     ") UNION ALL SELECT TABLE_COLLATION, CONCAT('table ', TABLE_SCHEMA, '.',"
		     " TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (") < 0 ||
	    db_list(&b, pc->src, pc->s) < 0 ||
	    buf_puts(&b,
		     ") UNION ALL SELECT DEFAULT_COLLATION_NAME, CONCAT('database ',"
		     " SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (") < 0 ||
	    db_list(&b, pc->src, pc->s) < 0 ||
	    buf_puts(&b, ")) x WHERE c IS NOT NULL GROUP BY c ORDER BY 1") < 0 ||
	    !(res = q(pc->src, buf_cstr(&b)))) {
		item(pc, "charsets", PC_FAIL, "grant SELECT on the selected databases",
		     "cannot read the collations the selection uses: %s", mysql_error(pc->src));
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
			     "use a destination that has it (same or newer version, same "
			     "character set files), or convert what uses it on the source",
			     "collation %s is used by the selection (%s, ...) but does not exist "
			     "on the destination",
			     row[0], row[1] ? row[1] : "?");
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

/* Whether the destination account may create objects for other definers
 * (MariaDB SET USER, MySQL SET_USER_ID / SET_ANY_DEFINER, or SUPER). */
static bool may_set_definer(MYSQL *dst)
{
	struct grants g = {BUF_INIT, BUF_INIT};
	bool yes =
	    grants_read(&g, dst) == 0 &&
	    (grants_have(&g, NULL, "SUPER") || grants_have(&g, NULL, "SET USER") ||
	     grants_have(&g, NULL, "SET_USER_ID") || grants_have(&g, NULL, "SET_ANY_DEFINER"));

	grants_release(&g);
	return yes;
}

static void check_definers(struct pc *pc)
{
	struct buf b = BUF_INIT, account = BUF_INIT, me = BUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int missing = 0, kept = 0;
	bool any = false, can_set = may_set_definer(pc->dst), mariadb;
	unsigned long v_;
	char *cu = value(pc->dst, "SELECT CURRENT_USER()");
	size_t i;

	conn_server_version(pc->dst, &v_, &mariadb);
	account_of(&account, pc->dst, pc->s->destination.user);
	/* only whole-database selections carry views, routines, triggers, events */
	if (buf_puts(&b,
		     "SELECT DISTINCT DEFINER FROM (SELECT DEFINER, TABLE_SCHEMA AS s FROM "
		     "information_schema.VIEWS UNION ALL SELECT DEFINER, ROUTINE_SCHEMA FROM "
		     "information_schema.ROUTINES UNION ALL SELECT DEFINER, TRIGGER_SCHEMA FROM "
		     "information_schema.TRIGGERS UNION ALL SELECT DEFINER, EVENT_SCHEMA FROM "
		     "information_schema.EVENTS) x WHERE s IN (''") < 0)
		goto out;
	for (i = 0; i < pc->s->nobjects; i++)
		if (spec_whole_database(&pc->s->objects[i])) {
			any = true;
			if (buf_putc(&b, ',') < 0 ||
			    conn_quote_string(&b, pc->src, pc->s->objects[i].database,
					      strlen(pc->s->objects[i].database)) < 0)
				goto out;
		}
	if (!any) {
		item(pc, "definers", PC_PASS, NULL,
		     "table selections migrate tables only: no definer to keep");
		goto out;
	}
	if (buf_puts(&b, ") ORDER BY 1") < 0 || !(res = q(pc->src, buf_cstr(&b)))) {
		item(pc, "definers", PC_WARN,
		     "grant SHOW VIEW and SELECT on the selected databases",
		     "cannot read the definers of views, routines, triggers and events: %s",
		     mysql_error(pc->src));
		goto out;
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
		if (!v) {
			missing++;
			item(pc, "definers", PC_WARN,
			     "GRANT SELECT ON mysql.user to the destination account, or create the "
			     "account on the destination",
			     "cannot tell whether definer %s exists on the destination (mysql.user "
			     "is not readable: %s): if it does not, its objects get the migration "
			     "account as definer with SQL SECURITY INVOKER",
			     row[0], mysql_error(pc->dst));
		} else if (!strcmp(v, "0")) {
			missing++;
			item(pc, "definers", PC_WARN,
			     "create the account on the destination before the schema migration "
			     "to keep it",
			     "definer %s does not exist on the destination: its views and routines "
			     "will get the migration account as definer with SQL SECURITY INVOKER, "
			     "its triggers and events the migration account",
			     row[0]);
		} else if (!can_set && (!cu || strcmp(cu, row[0]))) {
			/* kept, but creating an object for another account needs a
			 * privilege of its own */
			kept++;
			buf_reset(&me);
			if (buf_printf(&me, "GRANT %s ON *.* TO %s;",
				       mariadb ? "SET USER" : "SET_USER_ID",
				       buf_cstr(&account)) < 0)
				buf_reset(&me);
			item(pc, "definers", PC_FAIL, buf_cstr(&me),
			     "definer %s exists on the destination and is kept, but account %s "
			     "may not create objects for another definer (it lacks %s)",
			     row[0], buf_cstr(&account),
			     mariadb ? "SET USER or SUPER" : "SET_USER_ID");
		}
		free(v);
		buf_release(&c);
	}
	mysql_free_result(res);
	if (!missing && !kept)
		item(pc, "definers", PC_PASS, NULL, "every definer exists on the destination");
out:
	free(cu);
	buf_release(&b);
	buf_release(&account);
	buf_release(&me);
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

/*
 * rds endpoints let in only the addresses of their whitelists: nothing can
 * be checked before whitelist.cidrs are there, so the precheck adds them
 * (idempotent, group "godwit" only) and the Whitelisting phase confirms.
 */
static void check_whitelist(struct pc *pc, struct precheck_summary *out)
{
	const struct endpoint *eps[2] = {&pc->s->source, &pc->s->destination};
	const char *roles[2] = {"source", "destination"};
	size_t i;

	for (i = 0; i < 2; i++) {
		struct gw_err e = GW_ERR_INIT;

		if (!eps[i]->is_rds)
			continue;
		if (!pc->s->nwhitelist) {
			item(pc, "whitelist", PC_WARN,
			     "list the addresses the controller connects from in whitelist.cidrs, "
			     "or "
			     "add them to a whitelist of the instance yourself",
			     "%s %s: no whitelist.cidrs: the controller's address must already be "
			     "in a whitelist of the instance",
			     roles[i], eps[i]->rds.instance_id);
			continue;
		}
		if (cloud_whitelist_apply(eps[i], pc->s->whitelist_cidrs, pc->s->nwhitelist, 1,
					  pc->io->task, &e) < 0) {
			item(pc, "whitelist", PC_FAIL,
			     "check the credentials and the role, and that whitelist.cidrs are "
			     "addresses",
			     "%s %s: whitelist group godwit: %s", roles[i], eps[i]->rds.instance_id,
			     e.msg);
			continue;
		}
		if (out)
			out->whitelist_added = true;
		item(pc, "whitelist", PC_PASS, NULL,
		     "%s %s: whitelist group godwit holds whitelist.cidrs (%zu)", roles[i],
		     eps[i]->rds.instance_id, pc->s->nwhitelist);
	}
}

/* The fix for a failed connection; a certificate refused under verify-*
 * says what the certificate must be. */
static const char *connect_fix(const struct endpoint *ep, const struct gw_err *e)
{
	if (ep->tls_mode >= TLS_VERIFY_CA && strstr(e->msg, "certificate"))
		return ep->tls_mode == TLS_VERIFY_CA
			   ? "check host, port, user, password, TLS settings and the network path: "
			     "the server's certificate must be signed by tls.ca"
			   : "check host, port, user, password, TLS settings and the network path: "
			     "the server's certificate must be signed by tls.ca and name the host "
			     "the spec connects to";
	if (strstr(e->msg, "full caching_sha2_password authentication") ||
	    strstr(e->msg, "the account uses sha256_password"))
		return "tls.serverPublicKey: FILE (the server's RSA public key), or TLS, or an "
		       "account IDENTIFIED WITH mysql_native_password";
	return "check host, port, user, password, TLS settings and the network path";
}

/* "id: cause; id: cause" of the failed items, cut to fit. */
static void fail_message(char *out, size_t outsz, const struct precheck_list *l)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < l->n && n + 1 < outsz; i++) {
		int w;
		if (l->items[i].result != PC_FAIL)
			continue;
		w = snprintf(out + n, outsz - n, "%s%s: %s", n ? "; " : "", l->items[i].id,
			     l->items[i].cause);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= outsz && outsz > 4)
		memcpy(out + outsz - 4, "...", 4);
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
	check_whitelist(&pc, out);
	r = conn_open(&pc.src, &io->spec->source, "source", CONN_DEFAULT, io->task, &e);
	pc.src_auth = conn_auth_path(&pc.src_method);
	if (r < 0)
		item(&pc, "source-connect", PC_FAIL, connect_fix(&io->spec->source, &e), "%s",
		     e.msg);
	else
		item(&pc, "source-connect", PC_PASS, NULL, "connected to the source (%s%s)",
		     mysql_get_server_info(pc.src), mysql_get_ssl_cipher(pc.src) ? ", TLS" : "");
	err_clear(&e);
	r = conn_open(&pc.dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task, &e);
	pc.dst_auth = conn_auth_path(&pc.dst_method);
	if (r < 0)
		item(&pc, "destination-connect", PC_FAIL, connect_fix(&io->spec->destination, &e),
		     "%s", e.msg);
	else
		item(&pc, "destination-connect", PC_PASS, NULL,
		     "connected to the destination (%s%s)", mysql_get_server_info(pc.dst),
		     mysql_get_ssl_cipher(pc.dst) ? ", TLS" : "");
	if (pc.src && pc.dst) {
		enum meta_stage st = META_NONE;
		struct gw_err ignore = GW_ERR_INIT;
		if (meta_stage_get(&st, NULL, pc.dst, meta_database_of(io->spec), io->spec->name,
				   &ignore) == 0)
			pc.task_has_data = st >= META_SCHEMA_DONE;
		check_versions(&pc);
		check_auth(&pc, true, pc.src, pc.src_auth, pc.src_method);
		check_auth(&pc, false, pc.dst, pc.dst_auth, pc.dst_method);
		check_privileges(&pc, PC_SOURCE);
		check_privileges(&pc, PC_DESTINATION);
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
		fail_message(io->err.msg, sizeof(io->err.msg), &pc.list);
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
