/* Unit tests of spec/where: the check of a row filter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "spec/where.h"

struct seen {
	const char *const *columns; /* NULL-terminated; NULL: any name */
	struct buf log;		    /* "OFF:KIND:TEXT\n" per problem */
};

static bool is_column(void *ctx, const char *name)
{
	struct seen *s = ctx;
	size_t i;

	for (i = 0; s->columns[i]; i++)
		if (!strcasecmp(s->columns[i], name))
			return true;
	return false;
}

static void report(void *ctx, size_t off, enum where_issue issue, const char *text)
{
	struct seen *s = ctx;

	assert_int_equal(
	    buf_printf(&s->log, "%zu:%s:%s\n", off, issue == WHERE_BAD ? "bad" : "column", text),
	    0);
}

/* The problems of where, as "OFF:KIND:TEXT" lines. */
static char *check(const char *where, const char *const *columns)
{
	struct seen s = {columns, BUF_INIT};
	struct where_check cb = {columns ? is_column : NULL, report, &s};
	size_t n = where_check(where, &cb), lines = 0;
	const char *p;

	for (p = buf_cstr(&s.log); (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(n, lines);
	return buf_detach(&s.log, NULL);
}

static void accepted(const char *where, const char *const *columns)
{
	char *got = check(where, columns);

	if (*got)
		fail_msg("%s: %s", where, got);
	free(got);
}

/* The first problem is at byte off and its text has want. */
static void refused(const char *where, size_t off, const char *want)
{
	char *got = check(where, NULL);
	char at[32];

	(void)snprintf(at, sizeof(at), "%zu:bad:", off);
	if (strncmp(got, at, strlen(at)) || !strstr(got, want))
		fail_msg("%s: got '%s', want '%s%s'", where, got, at, want);
	free(got);
}

static void test_accepted(void **state)
{
	static const char *const cols[] = {"id", "d",	   "name",	"status", "amount",
					   "x",	 "n",	   "j",		"body",	  "a",
					   "b",	 "secret", "weird`col", NULL};
	static const char *const ok[] = {
	    "d >= '2024-01-01'",
	    "status IN ('a', \"b\") AND amount BETWEEN 1 AND 2e3 OR NOT (id <=> NULL)",
	    "EXTRACT(YEAR FROM d) = 2024 AND d > NOW() - INTERVAL 30 DAY",
	    "CAST(x AS DECIMAL(10, 2)) > 1 AND CONVERT(n USING utf8mb4) COLLATE utf8mb4_bin = "
	    "_utf8mb4'x'",
	    "CAST(x AS CHAR CHARACTER SET latin1) = 'a' AND CONVERT(x, UNSIGNED INTEGER) > 0",
	    "TRIM(LEADING 'x' FROM name) LIKE 'a\\_%' ESCAPE '\\\\'",
	    "SUBSTRING(name FROM 2 FOR 3) = 'bc' AND POSITION('a' IN name) > 0",
	    "TIMESTAMPDIFF(DAY, a, b) < 3 AND DATE_ADD(d, INTERVAL n DAY) < CURRENT_DATE",
	    "`weird``col` IS NOT NULL AND DATE '2024-01-01' < d AND TIMESTAMP'2024-01-01 00:00' > "
	    "d",
	    "MATCH(body) AGAINST('x' IN BOOLEAN MODE)",
	    "j->>'$.a' = 'x' AND JSON_EXTRACT(j, '$.b') IS NOT NULL AND x MEMBER OF ('[1]')",
	    "INTERVAL(n, 1, 10) > 0 AND CASE WHEN id > 1 THEN 1 ELSE 0 END = 1",
	    "EXTRACTVALUE(1, CONCAT(0x7e, secret)) IS NULL",
	    "id % 2 = 0 AND id DIV 2 > 1 AND id MOD 3 = 1 AND b'01' | 0x0f & X'ff' > 0",
	    "name SOUNDS LIKE 'x' AND name REGEXP '^a' AND BINARY name = 'a' AND id IN (1, 2)",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		accepted(ok[i], NULL);
		accepted(ok[i], cols);
	}
}

static void test_refused(void **state)
{
	(void)state;
	/* the issue's attack: a subquery inside an error-raising function */
	refused("1=1 AND EXTRACTVALUE(1, CONCAT(0x7e,(SELECT CONCAT(User,0x3a,"
		"authentication_string) FROM mysql.user LIMIT 1)))",
		37, "where has SELECT: a filter is one expression");
	refused("1=1; DROP TABLE t", 3, "';'");
	refused("id = 1 -- x", 7, "comment");
	refused("id = 1 # x", 7, "comment");
	refused("id = 1 /*!50000 OR 1 */", 7, "comment");
	refused("id = 1 /* x */", 7, "comment");
	refused("@x = 1", 0, "variable @x");
	refused("id > @@version", 5, "variable @@version");
	refused("id IN (TABLE t)", 7, "TABLE");
	refused("id IN (VALUES (1))", 7, "VALUES");
	refused("EXISTS (SELECT 1)", 0, "EXISTS");
	refused("id = ANY (SELECT 1)", 5, "ANY");
	refused("(id = 1", 7, "not closed");
	refused("id = 1)", 6, "')' without");
	refused("t.id = 1", 1, "qualified name");
	refused("db.f(1) = 1", 2, "qualified name");
	refused("LOAD_FILE('/etc/passwd') IS NOT NULL", 0, "LOAD_FILE(), which is not a built-in");
	refused("SLEEP(10) = 0", 0, "SLEEP()");
	refused("id = myfunc (id)", 5, "myfunc()");
	refused("USER() = 'x'", 0, "USER()");
	refused("`f`(1) = 1", 0, "quoted name");
	refused("id := 1", 3, "assignment");
	refused("name = 'open", 7, "unterminated");
	refused("name = `open", 7, "unterminated");
	refused("id = 1 UNION SELECT 1", 7, "UNION");
	refused("id = 1 INTO OUTFILE '/tmp/x'", 7, "INTO");
	refused("id = 1 FOR UPDATE", 7, "FOR");
	refused("id = 1 LOCK IN SHARE MODE", 7, "LOCK");
	refused("id AS x", 3, "AS");
	refused("CAST(id AS SELECT)", 11, "SELECT in a type");
	refused("   ", 3, "empty");
	refused("id ? 1", 3, "unexpected character '?'");
	refused("d = {d '2024-01-01'}", 4, "'{'");
	refused("id = 1\x01", 6, "control character");
}

static void test_columns(void **state)
{
	static const char *const cols[] = {"id", "d", "name", NULL};
	static const char *const with_day[] = {"d", "day", NULL};
	char *got;

	(void)state;
	got = check("id = 1 AND missing = 2 AND MISSING = 3 AND `d` > 0 AND `other` < 1", cols);
	assert_string_equal(got, "11:column:missing\n55:column:other\n");
	free(got);
	/* keywords, functions, units and collations are not columns */
	accepted("d > NOW() - INTERVAL 1 DAY AND year(d) = 2024 AND EXTRACT(MONTH FROM d) = 1 "
		 "AND name COLLATE utf8mb4_bin = 'x' AND name IS NOT NULL",
		 cols);
	/* a unit word where a column goes is a column */
	accepted("day > 3 AND d + INTERVAL day DAY > NOW()", with_day);
	got = check("day > 3 AND d + INTERVAL day DAY > NOW()", cols);
	assert_string_equal(got, "0:column:day\n");
	free(got);
	/* a problem of shape stops the check */
	got = check("missing = 1; SELECT 1", cols);
	assert_string_equal(got, "0:column:missing\n11:bad:where has a ';' (one expression, not "
				 "statements)\n");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepted),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
