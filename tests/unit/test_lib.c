/* Unit tests of lib/: buffers, durations, sizes, JSON, atomic files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/util.h"

static void test_buf_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_putc(&b, '9'), GW_ENOMEM);
	assert_string_equal(buf_cstr(&b), "12345678");
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(buf_cstr(&b), "42-x");
	buf_release(&b);
}

static void test_duration(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(util_parse_duration(&ms, "500ms"), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(util_parse_duration(&ms, "30s"), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(util_parse_duration(&ms, "5m"), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(util_parse_duration(&ms, "12h"), 0);
	assert_int_equal(ms, 43200000);
	assert_int_equal(util_parse_duration(&ms, "1d"), 0);
	assert_int_equal(ms, 86400000);
	assert_int_equal(util_parse_duration(&ms, "1h30m"), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(util_parse_duration(&ms, "12"), -1);
	assert_int_equal(util_parse_duration(&ms, "5 m"), -1);
	assert_int_equal(util_parse_duration(&ms, "-5s"), -1);
	assert_int_equal(util_parse_duration(&ms, "5w"), -1);
	assert_int_equal(util_parse_duration(&ms, ""), -1);
}

static void test_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(util_parse_size(&v, "50MiB"), 0);
	assert_true(v == 50ULL * 1024 * 1024);
	assert_int_equal(util_parse_size(&v, "1GiB"), 0);
	assert_true(v == 1ULL << 30);
	assert_int_equal(util_parse_size(&v, "1000"), 0);
	assert_true(v == 1000);
	assert_int_equal(util_parse_size(&v, "1XB"), -1);
}

static void test_json(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(json_str(&b, "a\"b\\c\n\x01"), 0);
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\n\\u0001\"");
	buf_reset(&b);
	assert_int_equal(json_strn(&b, "\xc3\xa9\xff", 3), 0);
	assert_string_equal(buf_cstr(&b), "\"\xc3\xa9\\u00ff\"");
	buf_reset(&b);
	assert_int_equal(json_base64(&b, "hello", 5), 0);
	assert_string_equal(buf_cstr(&b), "{\"base64\": \"aGVsbG8=\"}");
	buf_release(&b);
}

static void test_atomic_file(void **state)
{
	char dir[] = "/tmp/godwit-unit.XXXXXX", path[256];
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/a/b/f", dir);
	assert_int_equal(util_mkdir_p(dir, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(util_write_file_atomic(path, "one", 3), 0);
	assert_int_equal(util_write_file_atomic(path, "two", 3), 0);
	assert_int_equal(util_read_file(&b, path), 0);
	assert_string_equal(buf_cstr(&b), "two");
	assert_int_equal(util_append_fsync(path, "\n3", 2), 0);
	buf_reset(&b);
	assert_int_equal(util_read_file(&b, path), 0);
	assert_string_equal(buf_cstr(&b), "two\n3");
	unlink(path);
	rmdir(dir);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_limit),	cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_size),	cmocka_unit_test(test_json),
	    cmocka_unit_test(test_atomic_file),
	};
	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
