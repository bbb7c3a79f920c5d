/*
 * Unit tests of controller/forge.c's pure parts: which URLs get a token
 * (https, loopback http, no credentials in the URL, an API path), the
 * request body of each API (states, the 140-byte description cut on a
 * character boundary), and the state a migration's phase maps to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/forge.h"
#include "lib/buf.h"

static void test_parse_url(void **state)
{
	struct gw_err err = GW_ERR_INIT;
	enum forge_api api;

	(void)state;
	assert_int_equal(forge_parse_url(&api, "https://api.github.com/repos/acme/specs", &err), 0);
	assert_int_equal(api, FORGE_GITHUB);
	assert_int_equal(
	    forge_parse_url(&api, "https://git.example.com/api/v1/repos/acme/specs", &err), 0);
	assert_int_equal(api, FORGE_GITHUB);
	assert_int_equal(
	    forge_parse_url(&api, "https://gitlab.example.com/api/v4/projects/42", &err), 0);
	assert_int_equal(api, FORGE_GITLAB);
	assert_int_equal(forge_parse_url(&api, "http://127.0.0.1:8080/repos/a/b", &err), 0);
	assert_int_equal(forge_parse_url(&api, "http://localhost/repos/a/b", &err), 0);
	/* the token never travels in clear to another host */
	assert_int_equal(forge_parse_url(&api, "http://git.example.com/repos/a/b", &err),
			 GW_EFATAL);
	assert_non_null(strstr(err.msg, "https"));
	assert_int_equal(
	    forge_parse_url(&api, "https://u:secretpw@git.example.com/repos/a/b", &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "GODWIT_FORGE_TOKEN"));
	assert_null(strstr(err.msg, "secretpw"));
	assert_int_equal(forge_parse_url(&api, "https://git.example.com/acme/specs", &err),
			 GW_EFATAL);
	assert_int_equal(forge_parse_url(&api, "file:///repos/a/b", &err), GW_EFATAL);
	assert_int_equal(forge_parse_url(&api, "not a url", &err), GW_EFATAL);
}

static void test_body(void **state)
{
	struct buf b = BUF_INIT;
	char desc[300];

	(void)state;
	assert_int_equal(forge_body(&b, FORGE_GITHUB, FORGE_PENDING, "godwit/shop",
				    "Pending: \"x\"", "https://ops.example.com/godwit/shop"),
			 0);
	assert_string_equal(
	    buf_cstr(&b),
	    "{\"state\":\"pending\",\"context\":\"godwit/shop\",\"description\":"
	    "\"Pending: \\\"x\\\"\",\"target_url\":\"https://ops.example.com/godwit/shop\"}");
	buf_reset(&b);
	assert_int_equal(forge_body(&b, FORGE_GITLAB, FORGE_FAILURE, "godwit/shop", "Failed", NULL),
			 0);
	assert_string_equal(
	    buf_cstr(&b),
	    "{\"state\":\"failed\",\"name\":\"godwit/shop\",\"description\":\"Failed\"}");
	buf_reset(&b);
	assert_int_equal(forge_body(&b, FORGE_GITLAB, FORGE_PENDING, "c", "", NULL), 0);
	assert_non_null(strstr(buf_cstr(&b), "\"state\":\"running\""));
	/* 139 ASCII bytes then a two-byte character: cut before it */
	memset(desc, 'x', 139);
	memcpy(desc + 139, "\xc3\xa9tail\nend", 10);
	buf_reset(&b);
	assert_int_equal(forge_body(&b, FORGE_GITHUB, FORGE_SUCCESS, "c", desc, NULL), 0);
	assert_non_null(strstr(buf_cstr(&b), "xxx\"}"));
	assert_null(strstr(buf_cstr(&b), "\\u00"));
	buf_release(&b);
}

static void test_task_state(void **state)
{
	struct task t;
	char d[256];

	(void)state;
	memset(&t, 0, sizeof(t));
	t.conds[6].type = "NotDelayed";
	t.rec.phase = PH_MIGRATING_FULL;
	snprintf(t.rec.message, sizeof(t.rec.message), "full: running");
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_PENDING);
	assert_string_equal(d, "MigratingFull: full: running");
	t.rec.phase = PH_INCREMENTAL;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_PENDING);
	t.conds[6].status = true; /* caught up */
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_SUCCESS);
	t.conds[6].status = false; /* a second of delay after success: no flapping */
	assert_int_equal(forge_task_state(d, sizeof(d), &t, true), FORGE_SUCCESS);
	t.rec.phase = PH_COMPLETED;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_SUCCESS);
	t.rec.phase = PH_STOPPED;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_SUCCESS);
	t.rec.phase = PH_PAUSED;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_PENDING);
	t.rec.phase = PH_RETRYING;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_PENDING);
	t.rec.phase = PH_PRECHECK_FAILED;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_FAILURE);
	t.rec.phase = PH_FAILED;
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_FAILURE);
	t.rec.phase = PH_PENDING;
	t.invalid = true;
	snprintf(t.invalid_msg, sizeof(t.invalid_msg), "a.yaml:3:1: bad");
	assert_int_equal(forge_task_state(d, sizeof(d), &t, false), FORGE_FAILURE);
	assert_string_equal(d, "Invalid: a.yaml:3:1: bad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_url),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_task_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
