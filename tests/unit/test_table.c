/* Unit tests of the table model (engine/table.c) without a server: the
 * choice of the key that addresses rows, the SQL text over the model, and
 * the comparison of definitions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/table.h"

/* A column "name type [null]" into t (dest: its destination name, NULL
 * when the selection leaves it out). */
static void col(struct table *t, const char *name, const char *type, bool nullable,
		const char *dest)
{
	struct table_col *c;

	t->cols = realloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
	assert_non_null(t->cols);
	c = &t->cols[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->name = strdup(name);
	c->dest_name = dest ? strdup(dest) : NULL;
	c->data_type = strdup(type);
	c->column_type = strdup(type);
	c->extra = strdup("");
	c->nullable = nullable;
	c->integer = !strcmp(type, "int");
	c->numeric = c->integer;
	if (!strcmp(type, "varchar")) {
		c->charset = strdup("utf8mb4");
		c->collation = strdup("utf8mb4_general_ci");
		c->text = true;
	}
	c->pos = -1;
}

/* An index "name kind col,col" (col: index into cols, -1 expression;
 * a prefix length when sub > 0). */
static void idx(struct table *t, const char *name, enum table_index_kind kind, int c1, int c2,
		unsigned sub)
{
	struct table_index *x;

	t->indexes = realloc(t->indexes, (t->nindexes + 1) * sizeof(*t->indexes));
	assert_non_null(t->indexes);
	x = &t->indexes[t->nindexes++];
	memset(x, 0, sizeof(*x));
	x->name = strdup(name);
	x->type = strdup("BTREE");
	x->kind = kind;
	x->parts = calloc(2, sizeof(*x->parts));
	x->parts[x->nparts].col = c1;
	x->parts[x->nparts++].sub_part = sub;
	if (c2 != -2) {
		x->parts[x->nparts].col = c2;
		x->parts[x->nparts++].sub_part = 0;
	}
}

/* What the loader does after reading: copied columns, the key. */
static void done(struct table *t)
{
	size_t i;

	t->copied = calloc(t->ncols + 1, sizeof(*t->copied));
	t->key = calloc(t->ncols + 1, sizeof(*t->key));
	t->db = strdup("d");
	t->table = strdup("t");
	t->dest_db = strdup("d2");
	t->dest_table = strdup("t2");
	for (i = 0; i < t->ncols; i++)
		if (t->cols[i].dest_name && !t->cols[i].generated) {
			t->cols[i].pos = (int)t->ncopied;
			t->copied[t->ncopied++] = i;
		}
	table_choose_key(t);
}

static void test_key_primary_first(void **state)
{
	struct table t;

	(void)state;
	memset(&t, 0, sizeof(t));
	col(&t, "a", "int", false, "a");
	col(&t, "b", "varchar", false, "b");
	col(&t, "c", "int", true, "c");
	/* PRIMARY comes first whatever the unique keys are called */
	idx(&t, "PRIMARY", TABLE_INDEX_PRIMARY, 1, 0, 0);
	idx(&t, "a_uniq", TABLE_INDEX_UNIQUE, 0, -2, 0);
	done(&t);
	assert_int_equal(t.key_kind, TABLE_KEY_PRIMARY);
	assert_int_equal(t.nkey, 2);
	assert_int_equal(t.key[0], 1); /* key order, not table order */
	assert_int_equal(t.key[1], 0);
	assert_null(t.key_unselected);
	table_release(&t);
}

static void test_key_unique_not_null(void **state)
{
	struct table t;

	(void)state;
	memset(&t, 0, sizeof(t));
	col(&t, "id", "int", true, "id");
	col(&t, "code", "varchar", false, "code");
	col(&t, "name", "varchar", false, "name");
	/* a nullable unique key, a prefix key, a plain key: none addresses
	 * rows; the NOT NULL unique key does, even if named last */
	idx(&t, "a_id", TABLE_INDEX_UNIQUE, 0, -2, 0);
	idx(&t, "b_prefix", TABLE_INDEX_UNIQUE, 2, -2, 3);
	idx(&t, "c_plain", TABLE_INDEX_PLAIN, 1, -2, 0);
	idx(&t, "z_code", TABLE_INDEX_UNIQUE, 1, -2, 0);
	done(&t);
	assert_int_equal(t.key_kind, TABLE_KEY_UNIQUE);
	assert_string_equal(t.key_index->name, "z_code");
	assert_int_equal(t.nkey, 1);
	assert_int_equal(t.key[0], 1);
	table_release(&t);
}

static void test_key_none(void **state)
{
	struct table t;

	(void)state;
	memset(&t, 0, sizeof(t));
	col(&t, "a", "int", true, "a");
	col(&t, "b", "int", false, "b");
	idx(&t, "a", TABLE_INDEX_UNIQUE, 0, -2, 0);
	idx(&t, "expr", TABLE_INDEX_UNIQUE, -1, -2, 0); /* a functional index */
	idx(&t, "b", TABLE_INDEX_PLAIN, 1, -2, 0);
	done(&t);
	assert_int_equal(t.key_kind, TABLE_KEY_NONE);
	assert_null(t.key_index);
	assert_int_equal(t.nkey, 0);
	table_release(&t);
}

static void test_key_unselected(void **state)
{
	struct table t;
	struct buf b = BUF_INIT;

	(void)state;
	memset(&t, 0, sizeof(t));
	col(&t, "id", "int", false, NULL); /* left out by columns: */
	col(&t, "v", "varchar", true, "val");
	idx(&t, "PRIMARY", TABLE_INDEX_PRIMARY, 0, -2, 0);
	done(&t);
	assert_int_equal(t.key_kind, TABLE_KEY_PRIMARY);
	assert_non_null(t.key_unselected);
	assert_string_equal(t.key_unselected, "id");
	assert_int_equal(t.ncopied, 1);
	assert_int_equal(table_column_list(&b, &t, TABLE_DEST), 0);
	assert_string_equal(buf_cstr(&b), "`val`");
	buf_release(&b);
	table_release(&t);
}

static void test_sql_text(void **state)
{
	struct table t;
	struct buf b = BUF_INIT;
	char *last[2] = {"_utf8mb4 0x61 COLLATE utf8mb4_general_ci", "7"};

	(void)state;
	memset(&t, 0, sizeof(t));
	col(&t, "g", "varchar", false, "G");
	col(&t, "n", "int", false, "n");
	col(&t, "x`y", "int", true, "x`y");
	idx(&t, "PRIMARY", TABLE_INDEX_PRIMARY, 0, 1, 0);
	done(&t);
	assert_int_equal(table_key_after(&b, &t, TABLE_SOURCE, last), 0);
	assert_string_equal(buf_cstr(&b), "((`g` > _utf8mb4 0x61 COLLATE utf8mb4_general_ci) OR "
					  "(`g` = _utf8mb4 0x61 COLLATE utf8mb4_general_ci AND "
					  "`n` > 7))");
	buf_reset(&b);
	assert_int_equal(table_key_list(&b, &t, TABLE_DEST), 0);
	assert_string_equal(buf_cstr(&b), "`G`, `n`");
	buf_reset(&b);
	assert_int_equal(table_column_list(&b, &t, TABLE_SOURCE), 0);
	assert_string_equal(buf_cstr(&b), "`g`, `n`, `x``y`");
	buf_reset(&b);
	assert_int_equal(table_name(&b, &t, TABLE_DEST), 0);
	assert_string_equal(buf_cstr(&b), "`d2`.`t2`");
	/* literals: a string carries its character set and collation, an
	 * empty one is '' (no introducer needed), NULL is NULL */
	buf_reset(&b);
	assert_int_equal(table_literal(&b, &t.cols[0], "ab", 2), 0);
	assert_string_equal(buf_cstr(&b), "_utf8mb4 0x6162 COLLATE utf8mb4_general_ci");
	buf_reset(&b);
	assert_int_equal(table_literal(&b, &t.cols[0], "", 0), 0);
	assert_string_equal(buf_cstr(&b), "''");
	buf_reset(&b);
	assert_int_equal(table_literal(&b, &t.cols[1], NULL, 0), 0);
	assert_string_equal(buf_cstr(&b), "NULL");
	buf_reset(&b);
	assert_int_equal(table_literal(&b, &t.cols[1], "-12", 3), 0);
	assert_string_equal(buf_cstr(&b), "-12");
	buf_release(&b);
	table_release(&t);
}

static void test_diff(void **state)
{
	struct table s, d;
	struct buf out = BUF_INIT;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	/* source: id, secret (left out), name renamed to full_name; an index
	 * on secret is not expected on the destination */
	col(&s, "id", "int", false, "id");
	col(&s, "secret", "int", true, NULL);
	col(&s, "name", "varchar", true, "full_name");
	idx(&s, "PRIMARY", TABLE_INDEX_PRIMARY, 0, -2, 0);
	idx(&s, "k_secret", TABLE_INDEX_PLAIN, 1, -2, 0);
	idx(&s, "k_name", TABLE_INDEX_PLAIN, 2, -2, 0);
	done(&s);
	col(&d, "id", "int", false, "id");
	col(&d, "full_name", "varchar", true, "full_name");
	idx(&d, "PRIMARY", TABLE_INDEX_PRIMARY, 0, -2, 0);
	idx(&d, "k_name", TABLE_INDEX_PLAIN, 1, -2, 0);
	done(&d);
	assert_int_equal(table_diff(&out, &s, &d), 0);
	assert_string_equal(buf_cstr(&out), "");

	/* a nullability difference is named with both definitions */
	d.cols[1].nullable = false;
	assert_int_equal(table_diff(&out, &s, &d), 0);
	assert_string_equal(buf_cstr(&out),
			    "column `full_name` is varchar COLLATE utf8mb4_general_ci on the "
			    "source, varchar NOT NULL COLLATE utf8mb4_general_ci on the "
			    "destination");
	d.cols[1].nullable = true;

	/* an index the destination lacks, then one only it has */
	free(d.indexes[1].name);
	d.indexes[1].name = strdup("k_other");
	assert_int_equal(table_diff(&out, &s, &d), 0);
	assert_string_equal(buf_cstr(&out), "index `k_name` is missing on the destination");
	free(s.indexes[2].name);
	s.indexes[2].name = strdup("k_other");
	idx(&d, "k_extra", TABLE_INDEX_UNIQUE, 0, -2, 0);
	assert_int_equal(table_diff(&out, &s, &d), 0);
	assert_string_equal(buf_cstr(&out),
			    "the destination has index `k_extra`, which the source table (as "
			    "selected) has not");
	buf_release(&out);
	table_release(&s);
	table_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_primary_first), cmocka_unit_test(test_key_unique_not_null),
	    cmocka_unit_test(test_key_none),	      cmocka_unit_test(test_key_unselected),
	    cmocka_unit_test(test_sql_text),	      cmocka_unit_test(test_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
