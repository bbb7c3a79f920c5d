/* libFuzzer target: what builds on the SQL lexer, on arbitrary bytes: the
 * destination's CREATE TABLE (engine/ddl.h), database renames, the
 * applier's statement parser and the check of a `where` (spec/where.h).
 * Each rewrite must keep the statement's shape: the definitions the
 * destination receives close where godwit closes them, a rename changes
 * names only, an accepted filter cannot leave its parentheses, the
 * applier's statements keep their text around the names it writes. */
#include "lib/common.h"
#include "engine/ddl.h"
#include "lib/buf.h"
#include "lib/sqllex.h"
#include "spec/where.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct table_sel tables[] = {{"t", "t2", NULL, 0, NULL, 0, NULL}};
static struct object_sel renamed[] = {{"app", "a`p\np", NULL, 0, tables, 1},
				      {"t", "x y", NULL, 0, NULL, 0}};
static struct spec spec_renamed = {.objects = renamed, .nobjects = 2};
static struct object_sel same[] = {{"app", NULL, NULL, 0, NULL, 0}};
static struct spec spec_same = {.objects = same, .nobjects = 1};

/* Offset of the ')' that closes the first '(' of s, or SIZE_MAX; aborts
 * on an unterminated token. */
static size_t first_group_end(const char *s, size_t n, unsigned flags)
{
	struct sqllex lx;
	struct sqltok t;
	long depth = 0;
	bool opened = false;

	sqllex_init(&lx, s, n, flags);
	while (sqllex_next(&lx, &t) != SQLT_END) {
		if (t.kind == SQLT_ERROR)
			abort();
		if (sqltok_sym(&t, "(")) {
			depth++;
			opened = true;
		} else if (sqltok_sym(&t, ")") && --depth == 0 && opened) {
			return t.off;
		}
	}
	return SIZE_MAX;
}

static void create_table(const char *s, size_t n)
{
	struct ddl_create c;
	struct gw_err err = GW_ERR_INIT;
	struct ddl_defs d;
	size_t i;

	if (ddl_table_defs(&d, s, n, &err) == 0) {
		for (i = 0; i < d.n; i++)
			if (!d.v[i].len || d.v[i].off + d.v[i].len > d.tail)
				abort();
		if (d.tail > n)
			abort();
		ddl_defs_release(&d);
	}
	if (ddl_create_table(&c, s, n, &spec_same, "app", "t", NULL, "app", "t", &err) < 0) {
		if (!err.msg[0] || c.sql.len)
			abort();
		return;
	}
	/* names unchanged: the tail is the source's, byte for byte, and the
	 * definitions close exactly before it */
	if (ddl_table_defs(&d, s, n, &err) < 0)
		abort();
	if (first_group_end(c.sql.ptr, c.sql.len, 0) != c.sql.len - (n - d.tail) - 1 ||
	    memcmp(c.sql.ptr + c.sql.len - (n - d.tail), s + d.tail, n - d.tail))
		abort();
	ddl_defs_release(&d);
	ddl_create_release(&c);
}

/* A rename changes name tokens only: the same kinds (a name may become a
 * quoted one, after a blank where it follows a quoted name) in the same
 * number. */
static void rename(const char *s, size_t n, unsigned flags)
{
	struct buf out = BUF_INIT;
	struct sqllex a, b;
	struct sqltok ta, tb;

	if (ddl_map_databases(&out, s, n, flags, &spec_same) < 0 || out.len != n ||
	    (n && memcmp(out.ptr, s, n)))
		abort();
	buf_reset(&out);
	if (ddl_map_databases(&out, s, n, flags, &spec_renamed) < 0)
		abort();
	sqllex_init(&a, s, n, flags);
	sqllex_init(&b, out.ptr ? out.ptr : "", out.len, flags);
	for (;;) {
		enum sqltok_kind ka = sqllex_next(&a, &ta), kb = sqllex_next(&b, &tb);
		if (kb == SQLT_SPACE && ka != SQLT_SPACE && ta.off && ta.p[-1] == '`' &&
		    tb.len == 1)
			kb = sqllex_next(&b, &tb); /* the blank put between */
		if (ka != kb && !(ka == SQLT_WORD && kb == SQLT_QIDENT))
			abort();
		if (ka != SQLT_WORD && ka != SQLT_QIDENT &&
		    (ta.len != tb.len || memcmp(ta.p, tb.p, ta.len)))
			abort();
		if (ka == SQLT_END)
			break;
	}
	buf_release(&out);
}

static void filter(const char *s, size_t n)
{
	struct where_check cb = {NULL, NULL, NULL};
	struct buf w = BUF_INIT, q = BUF_INIT;
	struct sqllex lx;
	struct sqltok t;

	if (buf_add(&w, s, n) < 0 || memchr(buf_cstr(&w), '\0', n))
		goto out;
	if (where_check(buf_cstr(&w), &cb))
		goto out;
	/* accepted: inside WHERE (...) it closes at the last ')', with no
	 * comment or ';' anywhere */
	if (buf_puts(&q, "SELECT 1 FROM t WHERE (") < 0 || buf_add(&q, w.ptr, w.len) < 0 ||
	    buf_puts(&q, ") LIMIT 1") < 0)
		abort();
	if (first_group_end(q.ptr, q.len, 0) != q.len - 9)
		abort();
	sqllex_init(&lx, q.ptr, q.len, 0);
	while (sqllex_next(&lx, &t) != SQLT_END)
		if (t.kind == SQLT_COMMENT || t.kind == SQLT_VOPEN || t.kind == SQLT_VARIABLE ||
		    sqltok_sym(&t, ";"))
			abort();
out:
	buf_release(&w);
	buf_release(&q);
}

/* The applier's reading of a statement: names inside the text, a list in
 * order; its plan: a statement applied keeps what lies before the first
 * name and after the last byte for byte (when no database is renamed),
 * and holds only names it quotes itself in between. */
static void statement(const char *s, size_t n, unsigned flags)
{
	static const char *const sessions[] = {"", "app", "t", "other"};
	struct ddl_stmt st;
	struct ddl_plan p;
	size_t i, end = 0;
	int r = ddl_parse(&st, s, n, flags);

	if (r < 0)
		abort();
	if (r == 0)
		return;
	if (st.on_database && (st.name_start >= st.name_end || st.name_end > n || !st.db[0]))
		abort();
	for (i = 0; i < st.ntables; i++) {
		const struct ddl_table *t = &st.tables[i];
		if (t->start >= t->end || t->end > n || !t->table[0] || t->start < end ||
		    (t->has_new_name && (t->new_end <= t->end || t->new_end > n)))
			abort();
		end = t->has_new_name ? t->new_end : t->end;
	}
	for (i = 0; i < ARRAY_SIZE(sessions); i++) {
		if (ddl_plan(&p, &st, s, n, flags, sessions[i], &spec_same) < 0)
			abort();
		if (p.action == DDL_APPLY && (!st.ntables || p.sql.len < st.tables[0].start ||
					      memcmp(p.sql.ptr, s, st.tables[0].start) ||
					      strcmp(buf_cstr(&p.use_db), "app")))
			abort();
		if (p.action == DDL_REFUSE && !p.reason.len)
			abort();
		ddl_plan_release(&p);
		if (ddl_plan(&p, &st, s, n, flags, sessions[i], &spec_renamed) < 0)
			abort();
		ddl_plan_release(&p);
	}
	ddl_stmt_release(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	unsigned flags;

	create_table(s, size);
	filter(s, size);
	for (flags = 0; flags < 4; flags++) {
		rename(s, size, flags);
		statement(s, size, flags);
	}
	return 0;
}
