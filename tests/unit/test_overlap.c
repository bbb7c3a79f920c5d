/*
 * Unit tests of spec_overlap() (spec/overlap.c): a table of pairs of
 * specs, each with whether their destination objects overlap and the
 * sentence that says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "spec/overlap.h"

#define HEAD(name) "apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: " name "}\nspec:\n"
#define SRC "  source: {host: src, user: u}\n"
#define DST "  destination: {host: prod, user: u}\n"
#define TYPES "  migrationTypes: [schema, full, incremental]\n"
#define A(objs) HEAD("tenant-a") SRC DST TYPES "  objects: " objs "\n"
#define B(objs) HEAD("tenant-b") SRC DST TYPES "  objects: " objs "\n"
#define B_AT(dst, objs) HEAD("tenant-b") SRC dst TYPES "  objects: " objs "\n"

struct pair {
	const char *name;
	const char *a, *b;
	int want;
	const char *why; /* NULL: not checked */
};

static const struct pair pairs[] = {
    {"two databases renamed into one", A("[{database: a, renameTo: prod}]"),
     B("[{database: b, renameTo: prod}]"), 1,
     "tenant-a and tenant-b both write the whole database prod on prod:3306"},
    {"two databases kept apart", A("[{database: a}]"), B("[{database: b}]"), 0, NULL},
    {"one database, other instance", A("[{database: a}]"),
     B_AT("  destination: {host: prod2, user: u}\n", "[{database: a}]"), 0, NULL},
    {"one database, other port", A("[{database: a}]"),
     B_AT("  destination: {host: prod, port: 3307, user: u}\n", "[{database: a}]"), 0, NULL},
    {"host names compare without case", A("[{database: a}]"),
     B_AT("  destination: {host: PROD, user: u}\n", "[{database: a}]"), 1, NULL},
    {"loopback names are one host",
     HEAD("tenant-a") SRC "  destination: {host: localhost, user: u}\n" TYPES
			  "  objects: [{database: a}]\n",
     B_AT("  destination: {host: 127.0.0.1, user: u}\n", "[{database: a}]"), 1,
     "tenant-a and tenant-b both write the whole database a on localhost:3306"},
    {"database names compare without case", A("[{database: Shop}]"), B("[{database: shop}]"), 1,
     NULL},
    {"disjoint tables of one database", A("[{database: s, tables: [{name: t1}]}]"),
     B("[{database: s, tables: [{name: t2}, {name: t3}]}]"), 0, NULL},
    {"the same table", A("[{database: s, tables: [{name: t1}, {name: t2}]}]"),
     B("[{database: s, tables: [{name: t3}, {name: t2}]}]"), 1,
     "tenant-a and tenant-b both write table s.t2 on prod:3306"},
    {"one table renamed onto another", A("[{database: s, tables: [{name: t1, renameTo: big}]}]"),
     B("[{database: s, tables: [{name: big}]}]"), 1,
     "tenant-a and tenant-b both write table s.big on prod:3306"},
    {"a whole database and one of its tables", A("[{database: s}]"),
     B("[{database: x, renameTo: s, tables: [{name: t9}]}]"), 1,
     "tenant-a writes the whole database s and tenant-b its table s.t9 on prod:3306"},
    {"a table list and a whole database (either order)", A("[{database: s, tables: [{name: t9}]}]"),
     B("[{database: s}]"), 1,
     "tenant-b writes the whole database s and tenant-a its table s.t9 on prod:3306"},
    {"a table the whole database leaves out", A("[{database: s, excludeTables: ['big_*']}]"),
     B("[{database: s, tables: [{name: big_1}]}]"), 0, NULL},
    {"a table the whole database does not leave out",
     A("[{database: s, excludeTables: ['big_*']}]"),
     B("[{database: s, tables: [{name: big_1}, {name: small}]}]"), 1,
     "tenant-a writes the whole database s and tenant-b its table s.small on prod:3306"},
    {"the second of several objects", A("[{database: a}, {database: b}]"),
     B("[{database: c}, {database: b}]"), 1,
     "tenant-a and tenant-b both write the whole database b on prod:3306"},
    {"rds: one instance",
     HEAD("tenant-a") SRC
     "  destination: {rds: {region: cn-hangzhou, instanceId: rm-1}, user: u}\n" TYPES
     "  objects: [{database: a}]\n",
     B_AT("  destination: {rds: {region: cn-hangzhou, instanceId: rm-1}, user: u}\n",
	  "[{database: a}]"),
     1, "tenant-a and tenant-b both write the whole database a on rds instance rm-1 (cn-hangzhou)"},
    {"rds: two instances",
     HEAD("tenant-a") SRC
     "  destination: {rds: {region: cn-hangzhou, instanceId: rm-1}, user: u}\n" TYPES
     "  objects: [{database: a}]\n",
     B_AT("  destination: {rds: {region: cn-hangzhou, instanceId: rm-2}, user: u}\n",
	  "[{database: a}]"),
     0, NULL},
};

static struct spec *load(const char *yaml)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct buf msg = BUF_INIT;
	struct spec *s = NULL;

	if (spec_load_buffer(&s, "t.yaml", yaml, strlen(yaml), &d) < 0) {
		if (diag_list_format(&msg, &d) == 0)
			fprintf(stderr, "%s\n%s", yaml, buf_cstr(&msg));
		buf_release(&msg);
		diag_list_release(&d);
		fail_msg("a spec of the table does not load");
	}
	diag_list_release(&d);
	return s;
}

static void test_pairs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct spec *a = load(pairs[i].a), *b = load(pairs[i].b);
		struct buf why = BUF_INIT, why2 = BUF_INIT;
		int r = spec_overlap(a, b, &why);

		if (r != pairs[i].want)
			fail_msg("%s: spec_overlap() = %d, want %d (%s)", pairs[i].name, r,
				 pairs[i].want, buf_cstr(&why));
		if (r == 0 && why.len)
			fail_msg("%s: a reason without an overlap: %s", pairs[i].name,
				 buf_cstr(&why));
		if (pairs[i].why && strcmp(pairs[i].why, buf_cstr(&why)))
			fail_msg("%s: why = [%s], want [%s]", pairs[i].name, buf_cstr(&why),
				 pairs[i].why);
		/* symmetric, and why may be NULL */
		assert_int_equal(spec_overlap(b, a, &why2), pairs[i].want);
		assert_int_equal(spec_overlap(a, b, NULL), pairs[i].want);
		buf_release(&why);
		buf_release(&why2);
		spec_free(a);
		spec_free(b);
	}
}

/* A full buffer: an error, not a silent 0. */
static void test_why_cannot_grow(void **state)
{
	struct spec *a = load(A("[{database: a}]")), *b = load(B("[{database: a}]"));
	struct buf why;

	(void)state;
	buf_init(&why, 8);
	assert_true(spec_overlap(a, b, &why) < 0);
	buf_release(&why);
	spec_free(a);
	spec_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pairs),
	    cmocka_unit_test(test_why_cannot_grow),
	};
	return cmocka_run_group_tests_name("overlap", tests, NULL, NULL);
}
