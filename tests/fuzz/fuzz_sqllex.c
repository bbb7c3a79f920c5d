/* libFuzzer target: the SQL lexer on arbitrary bytes, in every mode. It
 * checks the lexer's contract (lib/sqllex.h): the tokens cover the input
 * in order and join back to it, versioned comments nest, a self-contained
 * token lexes the same alone, and every name survives quoting. */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/sqllex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool alone_same(const struct sqltok *t, unsigned flags)
{
	struct sqllex lx;
	struct sqltok u;

	sqllex_init(&lx, t->p, t->len, flags);
	return sqllex_next(&lx, &u) == t->kind && u.len == t->len &&
	       sqllex_next(&lx, &u) == SQLT_END;
}

static void name_roundtrip(const struct sqltok *t)
{
	struct buf name = BUF_INIT, q = BUF_INIT, back = BUF_INIT;
	struct sqllex lx;
	struct sqltok u;

	if (sqltok_name(&name, t) < 0)
		abort();
	if (memchr(name.ptr, '\0', name.len))
		goto out; /* a C string cannot hold it */
	if (!sqltok_name_eq(t, buf_cstr(&name), false) || !sqltok_name_eq(t, buf_cstr(&name), true))
		abort();
	if (sqllex_quote_ident(&q, buf_cstr(&name)) < 0)
		abort();
	sqllex_init(&lx, q.ptr, q.len, 0);
	if (sqllex_next(&lx, &u) != SQLT_QIDENT || u.len != q.len || sqltok_name(&back, &u) < 0 ||
	    back.len != name.len || memcmp(back.ptr, name.ptr, name.len))
		abort();
out:
	buf_release(&name);
	buf_release(&q);
	buf_release(&back);
}

static void check(const char *s, size_t n, unsigned flags)
{
	struct buf joined = BUF_INIT, v = BUF_INIT;
	struct sqllex lx, code;
	struct sqltok t, c;
	size_t end = 0;
	long depth = 0;

	sqllex_init(&lx, s, n, flags);
	sqllex_init(&code, s, n, flags);
	sqllex_code(&code, &c);
	while (sqllex_next(&lx, &t) != SQLT_END) {
		if (t.off != end || t.p != s + t.off || t.len == 0 || t.off + t.len > n)
			abort();
		end = t.off + t.len;
		if (buf_add(&joined, t.p, t.len) < 0)
			abort();
		switch (t.kind) {
		case SQLT_VOPEN: depth++; break;
		case SQLT_VCLOSE:
			if (--depth < 0)
				abort();
			break;
		case SQLT_ERROR:
			if (end != n)
				abort();
			break;
		case SQLT_QIDENT:
			if (t.len < 2 || t.p[t.len - 1] != t.p[0])
				abort();
			name_roundtrip(&t);
			break;
		case SQLT_STRING:
			buf_reset(&v);
			if (t.p[t.len - 1] != '\'' && t.p[t.len - 1] != '"')
				abort();
			if (sqltok_string(&v, &t, flags) < 0 || v.len > t.len)
				abort();
			break;
		case SQLT_WORD: name_roundtrip(&t); break;
		default: break;
		}
		if ((t.kind == SQLT_STRING || t.kind == SQLT_QIDENT || t.kind == SQLT_COMMENT ||
		     t.kind == SQLT_HEX || t.kind == SQLT_BIT || t.kind == SQLT_VARIABLE ||
		     t.kind == SQLT_INTRODUCER) &&
		    !alone_same(&t, flags))
			abort();
		/* sqllex_code sees the same tokens, minus blanks and comments */
		if (t.kind != SQLT_SPACE && t.kind != SQLT_COMMENT && t.kind != SQLT_VOPEN &&
		    t.kind != SQLT_VCLOSE) {
			if (c.off != t.off || c.len != t.len || c.kind != t.kind)
				abort();
			sqllex_code(&code, &c);
		}
	}
	if (end != n || t.off != n || t.len != 0 || c.kind != SQLT_END ||
	    sqllex_next(&lx, &t) != SQLT_END)
		abort();
	if (joined.len != n || (n && memcmp(joined.ptr, s, n)))
		abort();
	buf_release(&joined);
	buf_release(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags;

	for (flags = 0; flags < 4; flags++)
		check((const char *)data, size, flags);
	return 0;
}
