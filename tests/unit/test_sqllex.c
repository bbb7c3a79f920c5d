/* Unit tests of lib/sqllex: the SQL lexer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/sqllex.h"

static const char *kind_name(enum sqltok_kind k)
{
	static const char *const names[] = {"END",   "SP",  "COM", "VO", "VC",	"W",  "QI", "S",
					    "INTRO", "HEX", "BIT", "N",	 "VAR", "OP", "P",  "ERR"};
	return names[k];
}

/* "KIND:text KIND:text ..." of s lexed with flags, spaces left out. */
static char *toks(const char *s, size_t len, unsigned flags)
{
	struct buf b = BUF_INIT;
	struct sqllex lx;
	struct sqltok t;
	size_t covered = 0;

	sqllex_init(&lx, s, len, flags);
	while (sqllex_next(&lx, &t) != SQLT_END) {
		assert_int_equal(t.off, covered);
		assert_ptr_equal(t.p, s + t.off);
		assert_true(t.len > 0);
		covered += t.len;
		if (t.kind == SQLT_SPACE)
			continue;
		assert_int_equal(buf_printf(&b, "%s%s:%.*s", b.len ? " " : "", kind_name(t.kind),
					    (int)t.len, t.p),
				 0);
	}
	assert_int_equal(covered, len);
	assert_int_equal(t.off, len);
	return buf_detach(&b, NULL);
}

static void expect(const char *s, unsigned flags, const char *want)
{
	char *got = toks(s, strlen(s), flags);

	if (strcmp(got, want))
		print_error("input: %s\n", s);
	assert_string_equal(got, want);
	free(got);
}

static void test_names(void **state)
{
	(void)state;
	expect("SELECT a1, `b``c`, $d, _e, 123abc, t.1col, caf\xc3\xa9", 0,
	       "W:SELECT W:a1 P:, QI:`b``c` P:, W:$d P:, W:_e P:, W:123abc P:, W:t P:. W:1col "
	       "P:, W:caf\xc3\xa9");
	expect("`db`.`t`.`c` db . t", 0, "QI:`db` P:. QI:`t` P:. QI:`c` W:db P:. W:t");
	/* "x" is a string, or a name with ANSI_QUOTES */
	expect("\"a\"\"b\" 'c'", 0, "S:\"a\"\"b\" S:'c'");
	expect("\"a\"\"b\" 'c'", SQLLEX_ANSI_QUOTES, "QI:\"a\"\"b\" S:'c'");
	/* a newline, a quote and comment markers inside a quoted name */
	expect("`x\nKEY k (id)) COMMENT='` CHECK", 0, "QI:`x\nKEY k (id)) COMMENT='` W:CHECK");
	expect("`a#b` `c-- d` `e/*f`", 0, "QI:`a#b` QI:`c-- d` QI:`e/*f`");
	/* backslashes are not escapes in quoted names */
	expect("`a\\` b", 0, "QI:`a\\` W:b");
}

static void test_strings(void **state)
{
	(void)state;
	expect("'it''s' 'a\\'b' \"q\\\"\" ''", 0, "S:'it''s' S:'a\\'b' S:\"q\\\"\" S:''");
	/* without backslash escapes, 'a\' ends at the second quote */
	expect("'a\\' OR 1 -- '", SQLLEX_NO_BACKSLASH_ESCAPES, "S:'a\\' W:OR N:1 COM:-- '");
	expect("'a\\' OR 1 -- '", 0, "S:'a\\' OR 1 -- '");
	expect(
	    "N'x' n'y' X'0aF' x'' B'01' b'1' 0x1f 0b101 0xg 0b2", 0,
	    "S:N'x' S:n'y' HEX:X'0aF' HEX:x'' BIT:B'01' BIT:b'1' HEX:0x1f BIT:0b101 W:0xg W:0b2");
	expect("_utf8mb4'a' _binary 0x00 _LATIN1\"b\" _nocharset'c'", 0,
	       "INTRO:_utf8mb4 S:'a' INTRO:_binary HEX:0x00 INTRO:_LATIN1 S:\"b\" W:_nocharset "
	       "S:'c'");
	expect("'open", 0, "ERR:'open");
	expect("x 'a\\", 0, "W:x ERR:'a\\");
	expect("`open", 0, "ERR:`open");
}

static void test_string_values(void **state)
{
	static const struct {
		const char *lit;
		unsigned flags;
		const char *want;
		size_t wantlen;
	} cases[] = {
	    {"'it''s'", 0, "it's", 4},
	    {"'a\\nb\\tc\\\\d\\'e'", 0, "a\nb\tc\\d'e", 9},
	    {"'\\0\\Z\\x'", 0, "\0\032x", 3},
	    {"'100\\%\\_'", 0, "100\\%\\_", 7},
	    {"\"say \"\"hi\"\"\"", 0, "say \"hi\"", 8},
	    {"'a\\nb'", SQLLEX_NO_BACKSLASH_ESCAPES, "a\\nb", 4},
	    {"N'x'", 0, "x", 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;
		struct sqllex lx;
		struct sqltok t;
		sqllex_init(&lx, cases[i].lit, strlen(cases[i].lit), cases[i].flags);
		assert_int_equal(sqllex_next(&lx, &t), SQLT_STRING);
		assert_int_equal(t.len, strlen(cases[i].lit));
		assert_int_equal(sqltok_string(&b, &t, cases[i].flags), 0);
		assert_int_equal(b.len, cases[i].wantlen);
		assert_memory_equal(b.ptr, cases[i].want, cases[i].wantlen);
		buf_release(&b);
	}
}

static void test_comments(void **state)
{
	(void)state;
	expect("a # c\nb -- d\r\ne --\tf\ng--", 0,
	       "W:a COM:# c W:b COM:-- d\r W:e COM:--\tf W:g COM:--");
	/* "--" before anything but a blank is two minus signs */
	expect("1--1 a--b", 0, "N:1 OP:- OP:- N:1 W:a OP:- OP:- W:b");
	expect("a /* x\n*/ b /*+ BKA(t) */ c /* open", 0,
	       "W:a COM:/* x\n*/ W:b COM:/*+ BKA(t) */ W:c ERR:/* open");
	/* versioned comments hold code */
	expect("/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!*/ /*M!100100 `x` */ /*!40101 SET @a=1*/",
	       0,
	       "VO:/*!50001 W:CREATE W:ALGORITHM OP:= W:UNDEFINED VC:*/ VO:/*! VC:*/ VO:/*M!100100 "
	       "QI:`x` VC:*/ VO:/*!40101 W:SET VAR:@a OP:= N:1 VC:*/");
	/* a closing outside a versioned comment is two operators */
	expect("a */ b", 0, "W:a OP:* OP:/ W:b");
	expect("'a /* b' \"# c\" `-- d`", 0, "S:'a /* b' S:\"# c\" QI:`-- d`");
}

static void test_numbers_operators(void **state)
{
	(void)state;
	expect("1 1.5 .5 1. 1e3 1.5E-3 1e 1ex 2e+ 3.e2", 0,
	       "N:1 N:1.5 N:.5 N:1. N:1e3 N:1.5E-3 W:1e W:1ex W:2e OP:+ N:3.e2");
	expect("a<=>b<>c!=d<=e>=f<<g>>h&&i||j:=k->l->>m", 0,
	       "W:a OP:<=> W:b OP:<> W:c OP:!= W:d OP:<= W:e OP:>= W:f OP:<< W:g OP:>> W:h OP:&& "
	       "W:i OP:|| W:j OP::= W:k OP:-> W:l OP:->> W:m");
	expect("f(a,b);{?}\\", 0, "W:f P:( W:a P:, W:b P:) P:; P:{ P:? P:} P:\\");
}

static void test_variables(void **state)
{
	(void)state;
	expect("@a @a.b @'x y' @`z` @@global.max @@x @ @@", 0,
	       "VAR:@a VAR:@a.b VAR:@'x y' VAR:@`z` VAR:@@global.max VAR:@@x P:@ P:@ P:@");
	/* user@host: the @ after a name is punctuation */
	expect("DEFINER=`u``x`@`h` 'a'@'%' b@localhost", 0,
	       "W:DEFINER OP:= QI:`u``x` P:@ QI:`h` S:'a' P:@ S:'%' W:b P:@ W:localhost");
	expect("@'open", 0, "ERR:@'open");
}

static void test_nul_and_code(void **state)
{
	static const char in[] = "a\0b /*!1 c */ -- x\n d";
	struct sqllex lx;
	struct sqltok t;

	(void)state;
	sqllex_init(&lx, in, sizeof(in) - 1, 0);
	assert_int_equal(sqllex_next(&lx, &t), SQLT_WORD);
	assert_int_equal(sqllex_next(&lx, &t), SQLT_PUNCT);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.p[0], '\0');
	sqllex_init(&lx, in, sizeof(in) - 1, 0);
	assert_int_equal(sqllex_code(&lx, &t), SQLT_WORD);
	assert_int_equal(sqllex_code(&lx, &t), SQLT_PUNCT);
	assert_int_equal(sqllex_code(&lx, &t), SQLT_WORD);
	assert_int_equal(sqllex_code(&lx, &t), SQLT_WORD);
	assert_true(sqltok_is(&t, "C"));
	assert_int_equal(sqllex_code(&lx, &t), SQLT_WORD);
	assert_true(sqltok_is(&t, "d"));
	assert_int_equal(sqllex_code(&lx, &t), SQLT_END);
	assert_int_equal(sqllex_code(&lx, &t), SQLT_END);
}

static void test_names_api(void **state)
{
	static const char in[] = "`a``b` Caf `x\"y` \"q\"\"r\"";
	struct buf b = BUF_INIT;
	struct sqllex lx;
	struct sqltok t;

	(void)state;
	sqllex_init(&lx, in, sizeof(in) - 1, SQLLEX_ANSI_QUOTES);
	assert_int_equal(sqllex_code(&lx, &t), SQLT_QIDENT);
	assert_int_equal(sqltok_name(&b, &t), 0);
	assert_string_equal(buf_cstr(&b), "a`b");
	assert_true(sqltok_name_eq(&t, "a`b", false));
	assert_false(sqltok_name_eq(&t, "a`", false));
	assert_false(sqltok_name_eq(&t, "a`bc", false));
	assert_false(sqltok_name_eq(&t, "A`B", false));
	assert_true(sqltok_name_eq(&t, "A`B", true));
	assert_true(sqltok_is_name(&t));
	assert_int_equal(sqllex_code(&lx, &t), SQLT_WORD);
	assert_true(sqltok_is(&t, "CAF"));
	assert_false(sqltok_is(&t, "CA"));
	assert_true(sqltok_name_eq(&t, "caf", true));
	assert_false(sqltok_name_eq(&t, "caf", false));
	assert_int_equal(sqllex_code(&lx, &t), SQLT_QIDENT);
	assert_true(sqltok_name_eq(&t, "x\"y", false));
	assert_int_equal(sqllex_code(&lx, &t), SQLT_QIDENT);
	buf_reset(&b);
	assert_int_equal(sqltok_name(&b, &t), 0);
	assert_string_equal(buf_cstr(&b), "q\"r");
	assert_int_equal(sqltok_string(&b, &t, 0), GW_EFATAL);
	buf_reset(&b);
	assert_int_equal(sqllex_quote_ident(&b, "a`b\nc"), 0);
	assert_string_equal(buf_cstr(&b), "`a``b\nc`");
	buf_release(&b);
}

/* A name quoted by sqllex_quote_ident lexes back to one token of that
 * name, whatever bytes it holds. */
static void test_quote_roundtrip(void **state)
{
	static const char *const names[] = {
	    "x\nKEY k (id)) COMMENT='", "a`b``", "`", "#", "-- x", "/*", "*/", "'\"\\",
	    "caf\xc3\xa9 \x01"};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		struct buf b = BUF_INIT, back = BUF_INIT;
		struct sqllex lx;
		struct sqltok t;
		assert_int_equal(sqllex_quote_ident(&b, names[i]), 0);
		sqllex_init(&lx, b.ptr, b.len, 0);
		assert_int_equal(sqllex_next(&lx, &t), SQLT_QIDENT);
		assert_int_equal(t.len, b.len);
		assert_int_equal(sqltok_name(&back, &t), 0);
		assert_string_equal(buf_cstr(&back), names[i]);
		assert_int_equal(sqllex_next(&lx, &t), SQLT_END);
		buf_release(&b);
		buf_release(&back);
	}
}

/* Large inputs lex in linear time: a long routine body, an unterminated
 * comment, a long run of quotes. */
static void test_large(void **state)
{
	size_t n = 4u << 20, i, count = 0;
	char *s = malloc(n);
	struct sqllex lx;
	struct sqltok t;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = "a `b` 'c' /* d */ 1.5;\n"[i % 24];
	sqllex_init(&lx, s, n, 0);
	while (sqllex_next(&lx, &t) != SQLT_END)
		count++;
	assert_true(count > n / 8);
	memset(s, '\'', n);
	sqllex_init(&lx, s, n, 0);
	/* one string: '' inside is a quote */
	assert_int_equal(sqllex_next(&lx, &t), SQLT_STRING);
	assert_int_equal(t.len, n);
	s[0] = '/';
	s[1] = '*';
	sqllex_init(&lx, s, n, 0);
	assert_int_equal(sqllex_next(&lx, &t), SQLT_ERROR);
	assert_int_equal(t.len, n);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_string_values),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_numbers_operators),
	    cmocka_unit_test(test_variables),
	    cmocka_unit_test(test_nul_and_code),
	    cmocka_unit_test(test_names_api),
	    cmocka_unit_test(test_quote_roundtrip),
	    cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
