/*
 * Unit tests of controller/peers.c: the merge of the controllers' metrics
 * parts, and the places in STATE_DIR/controllers (an id in use refused, a
 * controller that died seen as such, its part gone from metrics.prom).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/peers.h"
#include "lib/util.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/godwit-test-peers.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void set(struct buf *b, const char *s)
{
	buf_reset(b);
	assert_int_equal(buf_puts(b, s), 0);
}

static void test_merge(void **state)
{
	struct buf parts[2] = {BUF_INIT, BUF_INIT}, out = BUF_INIT;

	(void)state;
	set(&parts[0], "# HELP godwit_phase Phase.\n# TYPE godwit_phase gauge\n"
		       "godwit_phase{migration=\"a\",phase=\"Pending\"} 0\n"
		       "godwit_phase{migration=\"a\",phase=\"Incremental\"} 1\n"
		       "# HELP godwit_rows_copied Rows.\n# TYPE godwit_rows_copied gauge\n"
		       "godwit_rows_copied{migration=\"a\"} 10\n");
	set(&parts[1], "# HELP godwit_phase Phase.\n# TYPE godwit_phase gauge\n"
		       "godwit_phase{migration=\"b\",phase=\"Pending\"} 1\n"
		       "godwit_phase{migration=\"a\",phase=\"Pending\"} 1\n"
		       "# HELP godwit_rows_copied Rows.\n# TYPE godwit_rows_copied gauge\n"
		       "godwit_rows_copied{migration=\"b\"} 0\n");
	assert_int_equal(peers_merge_metrics(&out, parts, 2), 0);
	/* each family once, together; a sample given twice once (the first) */
	assert_string_equal(buf_cstr(&out),
			    "# HELP godwit_phase Phase.\n# TYPE godwit_phase gauge\n"
			    "godwit_phase{migration=\"a\",phase=\"Pending\"} 0\n"
			    "godwit_phase{migration=\"a\",phase=\"Incremental\"} 1\n"
			    "godwit_phase{migration=\"b\",phase=\"Pending\"} 1\n"
			    "# HELP godwit_rows_copied Rows.\n# TYPE godwit_rows_copied gauge\n"
			    "godwit_rows_copied{migration=\"a\"} 10\n"
			    "godwit_rows_copied{migration=\"b\"} 0\n");
	buf_reset(&out);
	assert_int_equal(peers_merge_metrics(&out, parts, 0), 0);
	assert_int_equal(out.len, 0);
	buf_release(&parts[0]);
	buf_release(&parts[1]);
	buf_release(&out);
}

static void read_metrics(struct buf *b)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/metrics.prom", tmpdir);
	buf_reset(b);
	assert_int_equal(util_read_file(b, path), 0);
}

static void test_places(void **state)
{
	struct peers *a = NULL, *b = NULL, *again = NULL;
	struct gw_err err = GW_ERR_INIT;
	struct buf part = BUF_INIT, m = BUF_INIT;
	int up[2], down[2], status;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(peers_join(&a, tmpdir, "host:1", &err), 0);
	assert_true(peers_alive(a, "host:1"));
	assert_false(peers_alive(a, "nobody"));
	/* an id in use on the directory */
	assert_int_equal(peers_join(&again, tmpdir, "host:1", &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "another controller with the id 'host:1'"));
	assert_null(again);

	/* another process takes its place, writes its part, and dies */
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct peers *p = NULL;
		struct gw_err e = GW_ERR_INIT;
		struct buf mine = BUF_INIT;

		if (peers_join(&p, tmpdir, "r2", &e) < 0 ||
		    buf_puts(&mine, "# TYPE godwit_phase gauge\n"
				    "godwit_phase{migration=\"b\",phase=\"Pending\"} 1\n") < 0)
			_exit(1);
		peers_write_metrics(p, &mine, util_now_mono_ms());
		if (write(up[1], "x", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		_exit(0); /* dies holding its place: the kernel lets go of it */
	}
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_true(peers_alive(a, "r2"));
	set(&part,
	    "# TYPE godwit_phase gauge\ngodwit_phase{migration=\"a\",phase=\"Pending\"} 1\n");
	peers_write_metrics(a, &part, util_now_mono_ms());
	read_metrics(&m);
	assert_non_null(strstr(buf_cstr(&m), "migration=\"a\""));
	assert_non_null(strstr(buf_cstr(&m), "migration=\"b\""));
	assert_int_equal(write(down[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the next merge (forced: later than every 5 s) leaves its part out */
	peers_write_metrics(a, &part, util_now_mono_ms() + 10000);
	read_metrics(&m);
	assert_non_null(strstr(buf_cstr(&m), "migration=\"a\""));
	assert_null(strstr(buf_cstr(&m), "migration=\"b\""));
	/* and its place is free: a controller of that id may start */
	assert_int_equal(peers_join(&b, tmpdir, "r2", &err), 0);
	peers_free(b);
	peers_free(a);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	buf_release(&part);
	buf_release(&m);
}

/* Ids that are not file names still get one place each. */
static void test_odd_ids(void **state)
{
	struct peers *a = NULL, *b = NULL;
	struct gw_err err = GW_ERR_INIT;

	(void)state;
	assert_int_equal(peers_join(&a, tmpdir, "pod/1", &err), 0);
	assert_int_equal(peers_join(&b, tmpdir, "pod_1", &err), 0);
	assert_true(peers_alive(a, "pod_1"));
	assert_true(peers_alive(b, "pod/1"));
	peers_free(a);
	peers_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test_setup_teardown(test_places, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_odd_ids, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
