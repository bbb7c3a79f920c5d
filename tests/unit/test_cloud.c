/* Unit tests of cloud/: the signature (worked example and vectors computed
 * with Alibaba's @alicloud/pop-core 1.8.0), the JSON reader, the whitelist
 * arithmetic, backoff and credential renewal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/cjson.h"
#include "cloud/openapi.h"
#include "cloud/rds.h"
#include "cloud/sts.h"
#include "lib/buf.h"

#define BASE_PARAMS(format)                                                           \
	{"AccessKeyId", "testid"}, {"Action", "DescribeRegions"}, {"Format", format}, \
	    {"SignatureMethod", "HMAC-SHA1"},                                         \
	    {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},               \
	    {"SignatureVersion", "1.0"}, {"Timestamp", "2016-02-23T12:46:24Z"},       \
	{                                                                             \
		"Version", "2014-05-26"                                               \
	}

static void check_sig(const struct openapi_param *p, size_t n, const char *secret,
		      const char *want_query, const char *want_sig)
{
	struct buf q = BUF_INIT, s = BUF_INIT;

	assert_int_equal(openapi_canonical_query(&q, p, n), 0);
	if (want_query)
		assert_string_equal(buf_cstr(&q), want_query);
	assert_int_equal(openapi_sign(&s, p, n, secret), 0);
	assert_string_equal(buf_cstr(&s), want_sig);
	buf_release(&q);
	buf_release(&s);
}

static void test_sign_worked_example(void **state)
{
	/* given out of order: the canonical query sorts */
	const struct openapi_param p[] = {
	    {"Version", "2014-05-26"},
	    {"Timestamp", "2016-02-23T12:46:24Z"},
	    {"SignatureVersion", "1.0"},
	    {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
	    {"SignatureMethod", "HMAC-SHA1"},
	    {"Format", "XML"},
	    {"Action", "DescribeRegions"},
	    {"AccessKeyId", "testid"},
	};

	(void)state;
	check_sig(p, ARRAY_SIZE(p), "testsecret",
		  "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1&"
		  "SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&"
		  "Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26",
		  "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

static void test_sign_sdk_vectors(void **state)
{
	const struct openapi_param space[] = {BASE_PARAMS("XML"), {"Name", "a b*c~d"}};
	const struct openapi_param ips[] = {BASE_PARAMS("XML"),
					    {"SecurityIps", "10.0.0.1/32,192.168.0.0/24"}};
	const struct openapi_param uni[] = {BASE_PARAMS("XML"),
					    {"Description", "Gr\xc3\xbc\xc3\x9f"
							    "e \xe6\x97\xa5\xe6\x9c\xac !'()"}};
	const struct openapi_param emoji[] = {
	    BASE_PARAMS("XML"), {"Tag", "\xf0\x9f\x98\x80~*"}, {"Empty", ""}};
	const struct openapi_param reserved[] = {
	    BASE_PARAMS("XML"), {"RoleSessionName", "godwit-shop.to_b@x"}, {"Path", "/a/b?c=d&e"}};

	(void)state;
	check_sig(space, ARRAY_SIZE(space), "testsecret",
		  "AccessKeyId=testid&Action=DescribeRegions&Format=XML&Name=a%20b%2Ac~d&"
		  "SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&"
		  "SignatureVersion=1.0&Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26",
		  "e7bQuFS3G9qwm4y9BR4hh8Vmo1o=");
	check_sig(ips, ARRAY_SIZE(ips), "s3cr3t/with+chars=", NULL, "s7eKiMt3oxgXoTc3CD55y1+nuIk=");
	check_sig(uni, ARRAY_SIZE(uni), "testsecret",
		  "AccessKeyId=testid&Action=DescribeRegions&Description=Gr%C3%BC%C3%9Fe%20%E6%97%"
		  "A5%E6%9C%AC%20%21%27%28%29&Format=XML&SignatureMethod=HMAC-SHA1&SignatureNonce="
		  "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&Timestamp=2016-02-"
		  "23T12%3A46%3A24Z&Version=2014-05-26",
		  "9/Vq0KTghwDLoh/cBAZQZrCzfG8=");
	check_sig(emoji, ARRAY_SIZE(emoji), "k", NULL, "ieKEvTx+g9kXO1Pj4cgtcnS8jlg=");
	check_sig(reserved, ARRAY_SIZE(reserved), "testsecret", NULL,
		  "qPhSIpFFQKrZ9shNJRLLBc0cC+Y=");
}

static void test_percent_encode(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(openapi_percent_encode(&b, "Az09-_.~ *+/=%\xff"), 0);
	assert_string_equal(buf_cstr(&b), "Az09-_.~%20%2A%2B%2F%3D%25%FF");
	buf_reset(&b);
	assert_int_equal(openapi_percent_encode(&b, ""), 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_release(&b);
}

static void test_cjson(void **state)
{
	struct cjson *j = NULL;
	struct gw_err e = GW_ERR_INIT;
	const char *doc = "{\"Items\": {\"A\": [{\"Name\": \"g\\u00fc\\ud83d\\ude00\\n\", \"N\": "
			  "18446744073709551615}, {\"x\": [true, false, null, -1.5e3]}]}, "
			  "\"Code\":\"X\"}";
	const struct cjson *a;

	(void)state;
	assert_int_equal(cjson_parse(&j, doc, strlen(doc), &e), 0);
	a = cjson_path(j, "Items.A");
	assert_non_null(a);
	assert_int_equal(a->type, CJ_ARR);
	assert_string_equal(cjson_text(a->child, "Name"), "g\xc3\xbc\xf0\x9f\x98\x80\n");
	assert_string_equal(cjson_text(a->child, "N"), "18446744073709551615");
	assert_string_equal(cjson_text(j, "Code"), "X");
	assert_null(cjson_path(j, "Items.B"));
	assert_null(cjson_text(j, "Items"));
	cjson_free(j);

	static const char *const bad[] = {"",	  "{",	   "{\"a\":}", "[1,]",	    "\"\\ud800\"",
					  "{} x", "[1 2]", "nul",      "\"a\x01\"", "{\"a\" 1}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		j = NULL;
		assert_int_equal(cjson_parse(&j, bad[i], strlen(bad[i]), &e), GW_EFATAL);
		assert_null(j);
		assert_non_null(strstr(e.msg, "malformed JSON"));
	}
	/* nesting is bounded */
	{
		char deep[200];
		memset(deep, '[', sizeof(deep));
		assert_int_equal(cjson_parse(&j, deep, sizeof(deep), &e), GW_EFATAL);
		assert_non_null(strstr(e.msg, "deeply"));
	}
}

static void plan(const char *current, char *const *cidrs, size_t n, int add, enum rds_wl_op want,
		 const char *want_list)
{
	struct buf b = BUF_INIT;
	enum rds_wl_op op;

	assert_int_equal(rds_whitelist_plan(&op, &b, current, cidrs, n, add), 0);
	assert_int_equal(op, want);
	assert_string_equal(buf_cstr(&b), want_list);
	buf_release(&b);
}

static void test_whitelist_plan(void **state)
{
	char *two[] = {"203.0.113.0/28", "198.51.100.7"};
	char *one32[] = {"198.51.100.7/32"};

	(void)state;
	/* no group yet: created with the entries */
	plan(NULL, two, 2, 1, RDS_WL_COVER, "203.0.113.0/28,198.51.100.7");
	/* an existing group: only the missing entries, appended */
	plan("10.0.0.1, 198.51.100.7", two, 2, 1, RDS_WL_APPEND, "203.0.113.0/28");
	/* idempotent: nothing to write */
	plan("203.0.113.0/28,198.51.100.7", two, 2, 1, RDS_WL_NONE, "");
	plan("198.51.100.7", one32, 1, 1, RDS_WL_NONE, "");
	/* removal: our entries deleted as the group spells them, others stay */
	plan("10.0.0.1,203.0.113.0/28,198.51.100.7/32", two, 2, 0, RDS_WL_DELETE,
	     "203.0.113.0/28,198.51.100.7/32");
	/* removal that empties the group: a Delete of what is there */
	plan("198.51.100.7/32,203.0.113.0/28", two, 2, 0, RDS_WL_DELETE,
	     "198.51.100.7/32,203.0.113.0/28");
	/* nothing of ours there, or no group: nothing to do */
	plan("10.0.0.1", two, 2, 0, RDS_WL_NONE, "");
	plan(NULL, two, 2, 0, RDS_WL_NONE, "");
}

static void test_backoff_and_codes(void **state)
{
	(void)state;
	assert_int_equal(openapi_backoff_ms(1, 300, 8000, 0.0), 150);
	assert_int_equal(openapi_backoff_ms(1, 300, 8000, 0.999999), 299);
	assert_int_equal(openapi_backoff_ms(3, 300, 8000, 0.0), 600);
	assert_int_equal(openapi_backoff_ms(20, 300, 8000, 0.0), 4000);
	assert_true(openapi_backoff_ms(20, 300, 8000, 0.99) <= 8000);
	assert_true(openapi_code_retryable("Throttling.User", 400));
	assert_true(openapi_code_retryable("Throttling", 503));
	assert_true(openapi_code_retryable("ServiceUnavailable", 503));
	assert_true(openapi_code_retryable("", 502));
	assert_false(openapi_code_retryable("EntityNotExist.Role", 404));
	assert_false(openapi_code_retryable("NoPermission", 403));
	assert_false(openapi_code_retryable("SignatureDoesNotMatch", 400));
	assert_false(openapi_code_retryable("InvalidDBInstanceId.NotFound", 404));
}

static void test_sts_helpers(void **state)
{
	char s[80];
	char long_name[100];

	(void)state;
	sts_session_name(s, sizeof(s), "shop-to-b");
	assert_string_equal(s, "godwit-shop-to-b");
	sts_session_name(s, sizeof(s), "a b/c");
	assert_string_equal(s, "godwit-a-b-c");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	sts_session_name(s, sizeof(s), long_name);
	assert_int_equal(strlen(s), 64);

	assert_int_equal(sts_parse_time("2015-04-09T11:52:19Z"), 1428580339);
	assert_int_equal(sts_parse_time("2015-04-09T11:52:19.123Z"), 1428580339);
	assert_int_equal(sts_parse_time("2015-04-09 11:52:19"), -1);
	assert_int_equal(sts_parse_time(NULL), -1);

	/* an hour's credentials: renewed 5 minutes before the end */
	assert_false(sts_needs_refresh(1000, 1000, 4600));
	assert_false(sts_needs_refresh(4299, 1000, 4600));
	assert_true(sts_needs_refresh(4300, 1000, 4600));
	assert_true(sts_needs_refresh(5000, 1000, 4600));
	/* short-lived ones: in their last quarter */
	assert_false(sts_needs_refresh(1070, 1000, 1100));
	assert_true(sts_needs_refresh(1075, 1000, 1100));
}

static void test_rds_endpoint(void **state)
{
	char p[80];

	(void)state;
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), "cn-hangzhou"), 0);
	assert_string_equal(p, "rds");
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), "ap-southeast-1"), 0);
	assert_string_equal(p, "rds");
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), "eu-central-1"), 0);
	assert_string_equal(p, "rds.eu-central-1");
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), "cn-zhangjiakou"), 0);
	assert_string_equal(p, "rds.cn-zhangjiakou");
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), "evil.com/x"), GW_EFATAL);
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), ""), GW_EFATAL);
	assert_int_equal(rds_endpoint_prefix(p, sizeof(p), "CN-HANGZHOU"), GW_EFATAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_worked_example), cmocka_unit_test(test_sign_sdk_vectors),
	    cmocka_unit_test(test_percent_encode),	cmocka_unit_test(test_cjson),
	    cmocka_unit_test(test_whitelist_plan),	cmocka_unit_test(test_backoff_and_codes),
	    cmocka_unit_test(test_sts_helpers),		cmocka_unit_test(test_rds_endpoint),
	};
	return cmocka_run_group_tests_name("cloud", tests, NULL, NULL);
}
