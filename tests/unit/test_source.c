/*
 * Unit tests of the spec sources' parts that need no network: which git
 * credentials answer which round (and the messages when none fits), the
 * known_hosts check (plain and hashed entries), and the directory
 * source's debounce and deletion list on a real temp dir with inotify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <git2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/source_int.h"
#include "lib/util.h"

static void test_cred_https(void **state)
{
	enum git_cred_kind k;
	char why[256];
	unsigned up = GIT_CREDENTIAL_USERPASS_PLAINTEXT;

	(void)state;
	assert_null(source_git_cred_choose(&k, up, 1, "tok", NULL, why, sizeof(why)));
	assert_int_equal(k, GIT_CRED_TOKEN);
	/* no token: the message says where to put one */
	assert_non_null(source_git_cred_choose(&k, up, 1, NULL, NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "GODWIT_GIT_TOKEN"));
	assert_non_null(source_git_cred_choose(&k, up, 1, "", NULL, why, sizeof(why)));
	/* asked again: the token was refused; never the same answer twice */
	assert_non_null(source_git_cred_choose(&k, up, 2, "tok", NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "refused the token in GODWIT_GIT_TOKEN"));
	assert_null(strstr(why, "tok "));
	assert_int_equal(k, GIT_CRED_NONE);
}

static void test_cred_ssh(void **state)
{
	enum git_cred_kind k;
	char why[256], key[] = "/tmp/godwit-test-key.XXXXXX";
	unsigned ssh = GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_USERNAME;
	int fd = mkstemp(key);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_null(source_git_cred_choose(&k, ssh, 1, "tok", NULL, why, sizeof(why)));
	assert_int_equal(k, GIT_CRED_SSH_AGENT); /* a token is not for ssh */
	assert_null(source_git_cred_choose(&k, ssh, 1, NULL, key, why, sizeof(why)));
	assert_int_equal(k, GIT_CRED_SSH_KEY);
	assert_non_null(source_git_cred_choose(&k, ssh, 2, NULL, key, why, sizeof(why)));
	assert_non_null(strstr(why, "refused the key in GODWIT_GIT_SSH_KEY"));
	assert_non_null(source_git_cred_choose(&k, ssh, 2, NULL, NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "ssh agent"));
	unlink(key);
	assert_non_null(source_git_cred_choose(&k, ssh, 1, NULL, key, why, sizeof(why)));
	assert_non_null(strstr(why, "GODWIT_GIT_SSH_KEY=/tmp/godwit-test-key."));
	assert_non_null(strstr(why, "No such file"));
	assert_null(
	    source_git_cred_choose(&k, GIT_CREDENTIAL_USERNAME, 1, NULL, NULL, why, sizeof(why)));
	assert_int_equal(k, GIT_CRED_USERNAME);
	assert_non_null(
	    source_git_cred_choose(&k, GIT_CREDENTIAL_DEFAULT, 1, "t", NULL, why, sizeof(why)));
}

/* "|1|salt|hash" for host, as ssh-keygen -H writes it. */
static void hashed(char *out, size_t outsz, const char *host)
{
	unsigned char salt[20], mac[20];
	unsigned char s64[64], m64[64];
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)(i * 7 + 3);
	HMAC(EVP_sha1(), salt, 20, (const unsigned char *)host, strlen(host), mac, &n);
	EVP_EncodeBlock(s64, salt, 20);
	EVP_EncodeBlock(m64, mac, 20);
	snprintf(out, outsz, "|1|%s|%s", s64, m64);
}

static void test_known_hosts(void **state)
{
	char path[] = "/tmp/godwit-test-kh.XXXXXX", why[256], h[128], line[512];
	const unsigned char key[] = "the raw host key bytes";
	const unsigned char other[] = "another host key bytes";
	unsigned char k64[64];
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_true(source_git_known_host_matches("git.example.com,10.0.0.1", "10.0.0.1"));
	assert_false(source_git_known_host_matches("git.example.com,10.0.0.1", "10.0.0"));
	assert_false(source_git_known_host_matches("xgit.example.com", "git.example.com"));
	hashed(h, sizeof(h), "git.example.com");
	assert_true(source_git_known_host_matches(h, "git.example.com"));
	assert_false(source_git_known_host_matches(h, "evil.example.com"));
	assert_false(source_git_known_host_matches("|1|bogus", "git.example.com"));

	EVP_EncodeBlock(k64, key, (int)sizeof(key) - 1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	snprintf(line, sizeof(line),
		 "# comment\nother.example.com ssh-ed25519 AAAA\n%s ssh-ed25519 %s\n", h, k64);
	fputs(line, f);
	fclose(f);
	assert_int_equal(source_git_known_host_check(path, "git.example.com", key, sizeof(key) - 1,
						     why, sizeof(why)),
			 0);
	/* the right host with another key: refused, and the message says so */
	assert_true(source_git_known_host_check(path, "git.example.com", other, sizeof(other) - 1,
						why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "the host key of git.example.com is not in"));
	assert_true(source_git_known_host_check(path, "other.example.com", key, sizeof(key) - 1,
						why, sizeof(why)) < 0);
	unlink(path);
	assert_true(source_git_known_host_check(path, "git.example.com", key, sizeof(key) - 1, why,
						sizeof(why)) < 0);
	assert_non_null(strstr(why, "cannot be checked"));
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[512], t[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(t, sizeof(t), "%s/.%s.tmp", dir, name);
	f = fopen(t, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(t, p), 0);
}

/* Polls source_changed() until it says yes; the number of yes answers. */
static bool changed_within(struct source *s, int ms)
{
	int64_t end = util_now_mono_ms() + ms;

	while (util_now_mono_ms() < end) {
		if (source_changed(s))
			return true;
		usleep(20000);
	}
	return false;
}

static void test_dir_source(void **state)
{
	char dir[] = "/tmp/godwit-test-dir.XXXXXX", p[512];
	struct source *s = NULL;
	struct source_snapshot snap;
	struct gw_err err = GW_ERR_INIT;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "a.yaml", "a: 1\n");
	write_file(dir, "b.yml", "b: 1\n");
	write_file(dir, "notes.txt", "not a spec\n");
	assert_int_equal(source_dir_open(&s, dir, 3600000, &err), 0);
	assert_true(source_changed(s)); /* the initial scan */
	assert_int_equal(source_snapshot(s, &snap, &err), 0);
	assert_int_equal(snap.nfiles, 2);
	assert_string_equal(snap.files[0].path, "a.yaml"); /* sorted */
	assert_true(snap.complete);
	source_snapshot_release(&snap);
	assert_false(source_changed(s)); /* nothing happened; rescan in an hour */

	/* a burst: one change once quiet for the debounce, not one per write */
	for (i = 0; i < 50; i++)
		write_file(dir, "a.yaml", i % 2 ? "a: 2\n" : "a: 3\n");
	assert_true(changed_within(s, 5000));
	assert_false(changed_within(s, 400));

	snprintf(p, sizeof(p), "%s/b.yml", dir);
	assert_int_equal(unlink(p), 0);
	assert_true(changed_within(s, 5000));
	assert_int_equal(source_snapshot(s, &snap, &err), 0);
	assert_int_equal(snap.nfiles, 1);
	assert_int_equal(snap.ndeleted, 1);
	assert_string_equal(snap.deleted[0].path, "b.yml");
	source_snapshot_release(&snap);

	/* SIGHUP: a rescan at once without any event */
	source_refresh(s);
	assert_true(source_changed(s));
	source_free(s);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

/* A git URL's credential is taken out of it: what is logged and stored is
 * the URL without it. */
static void test_url_credential(void **state)
{
	static const struct {
		const char *url, *clean;
		int carried;
	} cases[] = {
	    {"https://x-access-token:t0k%40n@git.example.com/o/r.git",
	     "https://git.example.com/o/r.git", 1},
	    {"https://ghp_T0KEN@github.com/o/r", "https://github.com/o/r", 1},
	    {"http://u:p@127.0.0.1:8080/r.git?x=1", "http://127.0.0.1:8080/r.git?x=1", 1},
	    {"ssh://git:pw@host/r.git", "ssh://git@host/r.git", 1},
	    {"ssh://git@host/r.git", "ssh://git@host/r.git", 0},
	    {"git@github.com:o/r.git", "git@github.com:o/r.git", 0},
	    {"https://github.com/o/r@v1", "https://github.com/o/r@v1", 0},
	    {"file:///srv/specs.git", "file:///srv/specs.git", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *clean = NULL;

		assert_int_equal(source_git_url_take_credential(&clean, cases[i].url),
				 cases[i].carried);
		assert_string_equal(clean, cases[i].clean);
		free(clean);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cred_https), cmocka_unit_test(test_url_credential),
	    cmocka_unit_test(test_cred_ssh),   cmocka_unit_test(test_known_hosts),
	    cmocka_unit_test(test_dir_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
