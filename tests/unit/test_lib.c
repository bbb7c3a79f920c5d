/* Unit tests of lib/: buffers, durations, sizes, JSON, atomic files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* Two versions of a file, of different sizes, so a torn read shows. */
#define BIG_LEN (256 * 1024)

static void fill(char *v, size_t len, char ch)
{
	memset(v, ch, len);
	v[len - 1] = '\n';
}

struct writer {
	const char *path;
	const char *data;
	size_t len;
	int rounds;
	int err;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 0; i < w->rounds && !w->err; i++)
		w->err = util_write_file_atomic(w->path, w->data, w->len);
	return NULL;
}

/*
 * A reader polling a file while two threads replace it many times, with
 * contents of different sizes: every read is one whole version, never
 * empty, short or mixed, and no temporary file is left. Writing in place
 * (or two writers sharing one temporary file) fails this.
 */
static void test_atomic_rewrite_readers(void **state)
{
	char dir[] = "/tmp/godwit-unit.XXXXXX", path[256];
	static char big[BIG_LEN], small[100];
	struct writer a, b;
	pthread_t ta, tb;
	int reads = 0, torn = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	fill(big, sizeof(big), 'A');
	fill(small, sizeof(small), 'B');
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/status.yaml", dir);
	assert_int_equal(util_write_file_atomic(path, small, sizeof(small)), 0);
	a = (struct writer){path, big, sizeof(big), 100, 0};
	b = (struct writer){path, small, sizeof(small), 400, 0};
	assert_int_equal(pthread_create(&ta, NULL, writer_run, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, writer_run, &b), 0);
	for (;;) {
		struct buf cur = BUF_INIT;
		bool done = !pthread_tryjoin_np(ta, NULL);

		assert_int_equal(util_read_file(&cur, path), 0);
		reads++;
		if (!(cur.len == sizeof(big) && !memcmp(cur.ptr, big, sizeof(big))) &&
		    !(cur.len == sizeof(small) && !memcmp(cur.ptr, small, sizeof(small))))
			torn++;
		buf_release(&cur);
		if (done)
			break;
	}
	assert_int_equal(pthread_join(tb, NULL), 0);
	assert_int_equal(a.err, 0);
	assert_int_equal(b.err, 0);
	assert_true(reads > 10);
	assert_int_equal(torn, 0);
	/* Nothing but the file itself is left. */
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			assert_string_equal(de->d_name, "status.yaml");
	closedir(d);
	unlink(path);
	rmdir(dir);
}

/*
 * Appends from several processes at once land as whole lines, none lost:
 * each record is one O_APPEND write, fsynced.
 */
static void test_append_concurrent(void **state)
{
	char dir[] = "/tmp/godwit-unit.XXXXXX", path[256];
	struct buf all = BUF_INIT;
	pid_t kids[4];
	int i, status, counts[4] = {0};
	char *line, *save = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	for (i = 0; i < 4; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			char rec[600];
			int n;

			for (n = 0; n < 50; n++) {
				int len = snprintf(rec, sizeof(rec),
						   "{\"writer\":%d,\"n\":%d,\"pad\":\"", i, n);

				memset(rec + len, 'a' + i, 500);
				len += 500;
				len += snprintf(rec + len, sizeof(rec) - (size_t)len, "\"}\n");
				if (util_append_fsync(path, rec, (size_t)len) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(util_read_file(&all, path), 0);
	for (line = strtok_r(all.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int w = -1, n = -1, off = 0;
		size_t k;

		assert_int_equal(sscanf(line, "{\"writer\":%d,\"n\":%d,\"pad\":\"%n", &w, &n, &off),
				 2);
		assert_true(w >= 0 && w < 4);
		assert_int_equal(strlen(line), (size_t)off + 500 + 2);
		for (k = 0; k < 500; k++)
			assert_int_equal(line[off + (int)k], 'a' + w);
		assert_int_equal(n, counts[w]); /* in order, none lost */
		counts[w]++;
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(counts[i], 50);
	buf_release(&all);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_limit),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_atomic_file),
	    cmocka_unit_test(test_atomic_rewrite_readers),
	    cmocka_unit_test(test_append_concurrent),
	};
	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
