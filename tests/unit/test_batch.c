/* Unit tests of the applier's batcher (engine/batch.c) and the string
 * hash it uses (lib/hash.c): which statements a sequence of changes
 * becomes in each mode, without a server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batch.h"
#include "lib/hash.h"

/* What the batcher sent: statements one a line, "!" before those that
 * must change exactly one row. */
struct sent {
	struct buf log;
	int nstmts;
	int fail_at; /* the statement number that fails (0: none) */
};

static int send_log(void *ctx, const struct buf *sql, enum batch_expect expect)
{
	struct sent *s = ctx;

	s->nstmts++;
	if (s->fail_at && s->nstmts == s->fail_at)
		return GW_EFATAL;
	assert_int_equal(
	    buf_printf(&s->log, "%s%s\n", expect == BATCH_EXPECT_ONE ? "!" : "", buf_cstr(sql)), 0);
	return 0;
}

static void shape(struct batch_shape *sh, enum batch_mode mode, bool one_column_key)
{
	memset(sh, 0, sizeof(*sh));
	sh->mode = mode;
	assert_int_equal(buf_puts(&sh->insert, "INSERT INTO t (a, b) VALUES "), 0);
	assert_int_equal(buf_puts(&sh->upsert, " ON DUP"), 0);
	assert_int_equal(buf_puts(&sh->delete, "DELETE FROM t WHERE "), 0);
	assert_int_equal(buf_puts(&sh->update, "UPDATE t SET "), 0);
	if (one_column_key)
		assert_int_equal(buf_puts(&sh->key_in, "a IN ("), 0);
}

static struct batch_text txt(const char *s)
{
	struct batch_text t = {s, s ? strlen(s) : 0};
	return t;
}

/* Adds one change: kind, key text, values text, and up to two unique
 * values (segment mode). */
static int add(struct batch *b, struct batch_shape *sh, struct sent *s, enum batch_kind kind,
	       const char *key, const char *values, const char *u1, const char *u2)
{
	struct batch_text u[2];
	struct batch_change c;
	struct buf scratch = BUF_INIT;
	int rc;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	c.key = txt(key);
	c.values = txt(values);
	if (u1)
		u[c.nuniq++] = txt(u1);
	if (u2)
		u[c.nuniq++] = txt(u2);
	c.uniq = u;
	rc = batch_add(b, sh, &c, &scratch, send_log, s);
	buf_release(&scratch);
	return rc;
}

static void flush(struct batch *b, struct batch_shape *sh, struct sent *s)
{
	struct buf scratch = BUF_INIT;

	assert_int_equal(batch_flush(b, sh, &scratch, send_log, s), 0);
	assert_int_equal(batch_count(b), 0);
	buf_release(&scratch);
}

static void test_net_merges_by_key(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_NET, true);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1,'a')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "2", "(2,'b')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "1", NULL, NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1,'c')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "3", "(3,'d')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "3", NULL, NULL, NULL), 0);
	assert_int_equal(batch_count(&b), 3);
	assert_int_equal(s.nstmts, 0); /* nothing sent before the flush */
	flush(&b, &sh, &s);
	/* the last change of each key is its whole effect: deletes first */
	assert_string_equal(buf_cstr(&s.log),
			    "DELETE FROM t WHERE a IN (3)\n"
			    "INSERT INTO t (a, b) VALUES (1,'c'),(2,'b') ON DUP\n");
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

static void test_composite_key_deletes(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_NET, false);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "(a = 1 AND b = 2)", NULL, NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "(a = 1 AND b IS NULL)", NULL, NULL, NULL),
			 0);
	flush(&b, &sh, &s);
	assert_string_equal(buf_cstr(&s.log),
			    "DELETE FROM t WHERE (a = 1 AND b = 2) OR (a = 1 AND b IS NULL)\n");
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

static void test_segment_sends_on_a_taken_value(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_SEGMENT, true);
	/* row 1 gives up code 5 (before 0:5, after 0:6); row 2 takes it: the
	 * segment with row 1's change is sent first */
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1,6)", "0:6", "0:5"), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "3", "(3,7)", "0:7", NULL), 0);
	assert_int_equal(s.nstmts, 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "2", "(2,5)", "0:5", NULL), 0);
	assert_string_equal(buf_cstr(&s.log), "INSERT INTO t (a, b) VALUES (1,6),(3,7) ON DUP\n");
	/* the same row again is no clash: merged with its own change */
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "2", "(2,5)", "0:5", NULL), 0);
	assert_int_equal(s.nstmts, 1);
	assert_int_equal(batch_count(&b), 1);
	flush(&b, &sh, &s);
	assert_string_equal(buf_cstr(&s.log), "INSERT INTO t (a, b) VALUES (1,6),(3,7) ON DUP\n"
					      "INSERT INTO t (a, b) VALUES (2,5) ON DUP\n");
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

static void test_ordered_keeps_runs(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_ORDERED, true);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1,'a')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "2", "(2,'b')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "1", NULL, NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1,'c')", NULL, NULL), 0);
	flush(&b, &sh, &s);
	assert_string_equal(buf_cstr(&s.log), "INSERT INTO t (a, b) VALUES (1,'a'),(2,'b') ON DUP\n"
					      "DELETE FROM t WHERE a IN (1)\n"
					      "INSERT INTO t (a, b) VALUES (1,'c') ON DUP\n");
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

static void test_rows_mode(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_ROWS, false);
	/* two identical rows, one deleted, one changed; nothing merged */
	assert_int_equal(add(&b, &sh, &s, BATCH_INSERT, NULL, "(1,'x')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_INSERT, NULL, "(1,'x')", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "a <=> 1 AND b <=> 'x'", NULL, NULL, NULL),
			 0);
	assert_int_equal(
	    add(&b, &sh, &s, BATCH_UPDATE, "a <=> 1 AND b <=> 'x'", "a = 1, b = 'y'", NULL, NULL),
	    0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "a <=> 1 AND b <=> 'y'", NULL, NULL, NULL),
			 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_INSERT, NULL, "(2,NULL)", NULL, NULL), 0);
	assert_int_equal(batch_count(&b), 6);
	flush(&b, &sh, &s);
	assert_string_equal(buf_cstr(&s.log),
			    "INSERT INTO t (a, b) VALUES (1,'x'),(1,'x')\n"
			    "!DELETE FROM t WHERE a <=> 1 AND b <=> 'x' LIMIT 1\n"
			    "!UPDATE t SET a = 1, b = 'y' WHERE a <=> 1 AND b <=> 'x' LIMIT 1\n"
			    "!DELETE FROM t WHERE a <=> 1 AND b <=> 'y' LIMIT 1\n"
			    "INSERT INTO t (a, b) VALUES (2,NULL)\n");
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

static void test_statement_size_and_failure(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};
	char key[32], row[1100];
	size_t i, n = 2 * BATCH_STMT_BYTES / 1000;

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_NET, true);
	memset(row, 'v', sizeof(row) - 1);
	row[sizeof(row) - 1] = '\0';
	for (i = 0; i < n; i++) {
		(void)snprintf(key, sizeof(key), "%zu", i);
		assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, key, row, NULL, NULL), 0);
	}
	assert_int_equal(batch_count(&b), n);
	flush(&b, &sh, &s);
	/* about 2 x BATCH_STMT_BYTES of rows: split, none over the limit by
	 * more than a row */
	assert_true(s.nstmts >= 2 && s.nstmts <= 3);
	for (const char *p = buf_cstr(&s.log), *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_true((size_t)(nl - p) < BATCH_STMT_BYTES + sizeof(row) + 100);
	}
	/* a batch that grew is given back after the flush */
	assert_null(b.ops);
	assert_null(b.arena.ptr);
	/* a failed statement: its error comes back, and nothing stays pending */
	s.nstmts = 0;
	s.fail_at = 1;
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1)", NULL, NULL), 0);
	{
		struct buf scratch = BUF_INIT;
		assert_int_equal(batch_flush(&b, &sh, &scratch, send_log, &s), GW_EFATAL);
		buf_release(&scratch);
	}
	assert_int_equal(batch_count(&b), 0);
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

struct strs {
	char **v;
};

static void strs_key(const void *ctx, uint32_t i, const char **s, size_t *len)
{
	const struct strs *x = ctx;

	*s = x->v[i];
	*len = strlen(x->v[i]);
}

static void test_hash_index(void **state)
{
	struct hash_index h = {NULL, 0};
	struct strs x;
	char buf[32];
	size_t i, n = 5000;

	(void)state;
	/* FNV-1a 32-bit reference values */
	assert_int_equal(hash_bytes("", 0), 2166136261u);
	assert_int_equal(hash_bytes("a", 1), 0xe40c292cu);
	assert_int_equal(hash_bytes("foobar", 6), 0xbf9cf968u);
	x.v = calloc(n, sizeof(*x.v));
	assert_non_null(x.v);
	for (i = 0; i < n; i++) {
		uint32_t *slot;
		(void)snprintf(buf, sizeof(buf), "key-%zu", i * 7919);
		x.v[i] = strdup(buf);
		assert_int_equal(hash_index_fit(&h, i, strs_key, &x), 0);
		slot = hash_index_find(&h, buf, strlen(buf), strs_key, &x);
		assert_int_equal(*slot, 0);
		*slot = (uint32_t)(i + 1);
		assert_true(2 * (i + 1) <= h.cap);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(*hash_index_find(&h, x.v[i], strlen(x.v[i]), strs_key, &x), i + 1);
	assert_int_equal(*hash_index_find(&h, "key-1", 5, strs_key, &x), 0);
	hash_index_clear(&h);
	assert_int_equal(*hash_index_find(&h, x.v[0], strlen(x.v[0]), strs_key, &x), 0);
	hash_index_release(&h);
	for (i = 0; i < n; i++)
		free(x.v[i]);
	free(x.v);
}

static void test_net_integer_key_order(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_NET, true);
	sh.int_key = true;
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "100", "(100)", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "-5", "(-5)", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "20", NULL, NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "9", "(9)", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "-12", "(-12)", NULL, NULL), 0);
	assert_int_equal(add(&b, &sh, &s, BATCH_DELETE, "3", NULL, NULL, NULL), 0);
	assert_int_equal(
	    add(&b, &sh, &s, BATCH_UPSERT, "18446744073709551615", "(max)", NULL, NULL), 0);
	flush(&b, &sh, &s);
	/* by value, not by text ("100" < "9" as bytes) */
	assert_string_equal(buf_cstr(&s.log),
			    "DELETE FROM t WHERE a IN (3,20)\n"
			    "INSERT INTO t (a, b) VALUES (-12),(-5),(9),(100),(max) ON DUP\n");
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&s.log);
}

static bool pick_odd(void *ctx, const char *key, size_t len)
{
	(void)ctx;
	return len && (key[len - 1] - '0') % 2 == 1;
}

static bool pick_even(void *ctx, const char *key, size_t len)
{
	return !pick_odd(ctx, key, len);
}

static void test_net_sent_in_parts(void **state)
{
	struct batch b;
	struct batch_shape sh;
	struct sent s = {BUF_INIT, 0, 0};
	struct buf scratch = BUF_INIT;
	int i;

	(void)state;
	memset(&b, 0, sizeof(b));
	shape(&sh, BATCH_NET, true);
	sh.int_key = true;
	for (i = 6; i >= 1; i--) {
		char k[8], v[16];
		(void)snprintf(k, sizeof(k), "%d", i);
		(void)snprintf(v, sizeof(v), "(%d)", i);
		assert_int_equal(
		    add(&b, &sh, &s, i == 4 ? BATCH_DELETE : BATCH_UPSERT, k, v, NULL, NULL), 0);
	}
	assert_int_equal(batch_send(&b, &sh, &scratch, pick_odd, NULL, send_log, &s), 0);
	/* sent, not cleared: no more changes until then */
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "7", "(7)", NULL, NULL), GW_EFATAL);
	assert_int_equal(batch_send(&b, &sh, &scratch, pick_even, NULL, send_log, &s), 0);
	assert_int_equal(batch_count(&b), 6);
	batch_clear(&b);
	/* each change once, in one part or the other */
	assert_string_equal(buf_cstr(&s.log), "INSERT INTO t (a, b) VALUES (1),(3),(5) ON DUP\n"
					      "DELETE FROM t WHERE a IN (4)\n"
					      "INSERT INTO t (a, b) VALUES (2),(6) ON DUP\n");
	/* parts are for net mode only */
	batch_shape_release(&sh);
	shape(&sh, BATCH_ORDERED, true);
	assert_int_equal(add(&b, &sh, &s, BATCH_UPSERT, "1", "(1)", NULL, NULL), 0);
	assert_int_equal(batch_send(&b, &sh, &scratch, pick_odd, NULL, send_log, &s), GW_EFATAL);
	batch_release(&b);
	batch_shape_release(&sh);
	buf_release(&scratch);
	buf_release(&s.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_net_merges_by_key),
	    cmocka_unit_test(test_composite_key_deletes),
	    cmocka_unit_test(test_net_integer_key_order),
	    cmocka_unit_test(test_net_sent_in_parts),
	    cmocka_unit_test(test_segment_sends_on_a_taken_value),
	    cmocka_unit_test(test_ordered_keeps_runs),
	    cmocka_unit_test(test_rows_mode),
	    cmocka_unit_test(test_statement_size_and_failure),
	    cmocka_unit_test(test_hash_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
