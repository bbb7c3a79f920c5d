/*
 * Unit tests of controller/verify.c: which key file is which kind, which
 * signature is which kind, gpgv's verdict from its status lines (one good
 * signature only; unknown, expired, revoked keys; two signatures), and a
 * round trip through ssh-keygen with a key made here: a signature in
 * namespace git verifies and names the principal; changed bytes, another
 * namespace and an unlisted key do not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/verify.h"
#include "lib/buf.h"
#include "lib/util.h"

static char dir[] = "/tmp/godwit-test-verify.XXXXXX";

static void path_of(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", dir, name);
}

static void put(const char *name, const void *data, size_t len)
{
	char p[256];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_keys_kind(void **state)
{
	const unsigned char packet[] = {0x98, 0x33, 0x04, 0x6b, 0x11, 0x00};
	const unsigned char kbx[] = {0, 0, 0, 32, 1, 1, 0, 0, 'K', 'B', 'X', 'f', 0};
	struct gw_err err = GW_ERR_INIT;
	enum verify_keys k;
	char p[256];

	(void)state;
	put("signers", "alice@example.com ssh-ed25519 AAAAC3Nz\n", 39);
	path_of(p, sizeof(p), "signers");
	assert_int_equal(verify_keys_kind(&k, p, &err), 0);
	assert_int_equal(k, VERIFY_KEYS_SSH);
	put("ring.asc", "\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEa\n", 46);
	path_of(p, sizeof(p), "ring.asc");
	assert_int_equal(verify_keys_kind(&k, p, &err), 0);
	assert_int_equal(k, VERIFY_KEYS_OPENPGP);
	put("ring.gpg", packet, sizeof(packet));
	path_of(p, sizeof(p), "ring.gpg");
	assert_int_equal(verify_keys_kind(&k, p, &err), 0);
	assert_int_equal(k, VERIFY_KEYS_OPENPGP);
	put("ring.kbx", kbx, sizeof(kbx));
	path_of(p, sizeof(p), "ring.kbx");
	assert_int_equal(verify_keys_kind(&k, p, &err), 0);
	assert_int_equal(k, VERIFY_KEYS_OPENPGP);
	/* a principal that starts with a non-ASCII letter is still text */
	put("utf8", "\xc3\xa9lodie@example.com ssh-ed25519 AAAA\n", 38);
	path_of(p, sizeof(p), "utf8");
	assert_int_equal(verify_keys_kind(&k, p, &err), 0);
	assert_int_equal(k, VERIFY_KEYS_SSH);
	put("empty", "", 0);
	path_of(p, sizeof(p), "empty");
	assert_int_equal(verify_keys_kind(&k, p, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "empty"));
	path_of(p, sizeof(p), "missing");
	assert_int_equal(verify_keys_kind(&k, p, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "missing"));
}

static void test_sig_kind(void **state)
{
	const char *ssh = "-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n";
	const char *pgp = "-----BEGIN PGP SIGNATURE-----\n\niHUE\n-----END PGP SIGNATURE-----\n";
	const char *x509 = "-----BEGIN SIGNED MESSAGE-----\nMIAG\n";

	(void)state;
	assert_int_equal(verify_sig_kind(ssh, strlen(ssh)), VERIFY_SIG_SSH);
	assert_int_equal(verify_sig_kind(pgp, strlen(pgp)), VERIFY_SIG_OPENPGP);
	assert_int_equal(verify_sig_kind(x509, strlen(x509)), VERIFY_SIG_OTHER);
	assert_int_equal(verify_sig_kind(NULL, 0), VERIFY_SIG_NONE);
	/* a prefix cut short is not a signature of that kind */
	assert_int_equal(verify_sig_kind(ssh, 10), VERIFY_SIG_OTHER);
}

#define FPR "5862812B61B4262F018B830DE9FBD64B6494FD9A"
#define GOOD                                                                                    \
	"[GNUPG:] NEWSIG alice@example.com\n"                                                   \
	"[GNUPG:] KEY_CONSIDERED " FPR " 0\n"                                                   \
	"[GNUPG:] GOODSIG E9FBD64B6494FD9A Alice <alice@example.com>\n"                         \
	"[GNUPG:] VALIDSIG 1111111111111111111111111111111111111111 2026-12-03 1796293558 0 4 " \
	"0 22 8 00 " FPR "\n"

static void test_gpg_status(void **state)
{
	struct verify_result r;

	(void)state;
	verify_gpg_status(&r, GOOD, 0, "ring");
	assert_true(r.ok);
	assert_string_equal(r.reason, "Signed");
	assert_string_equal(r.signer, "Alice <alice@example.com>");
	assert_string_equal(r.key, FPR); /* the primary key, not the subkey */
	/* the same lines with a failing exit code: refused */
	verify_gpg_status(&r, GOOD, 1, "ring");
	assert_false(r.ok);
	assert_string_equal(r.signer, "");
	/* two signatures, one good: refused (git does the same) */
	verify_gpg_status(&r, GOOD "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG ABCD 22 8 00 1 9 -\n", 0,
			  "ring");
	assert_false(r.ok);
	assert_non_null(strstr(r.why, "more than one"));
	verify_gpg_status(&r,
			  "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG E9FBD64B6494FD9A 22 8 00 1796293558 9 "
			  "-\n[GNUPG:] NO_PUBKEY E9FBD64B6494FD9A\n",
			  2, "/etc/godwit/ring");
	assert_false(r.ok);
	assert_string_equal(r.reason, "UnknownKey");
	assert_non_null(strstr(r.why, "E9FBD64B6494FD9A"));
	assert_non_null(strstr(r.why, "/etc/godwit/ring"));
	verify_gpg_status(&r, "[GNUPG:] NEWSIG\n[GNUPG:] EXPKEYSIG E9FBD64B6494FD9A Alice\n", 1,
			  "ring");
	assert_string_equal(r.reason, "ExpiredKey");
	verify_gpg_status(&r, "[GNUPG:] NEWSIG\n[GNUPG:] REVKEYSIG E9FBD64B6494FD9A Alice\n", 1,
			  "ring");
	assert_string_equal(r.reason, "RevokedKey");
	verify_gpg_status(&r, "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG E9FBD64B6494FD9A Alice\n", 1,
			  "ring");
	assert_string_equal(r.reason, "BadSignature");
	/* a user id with control characters is cleaned */
	verify_gpg_status(
	    &r, "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG E9 Al\x1b[31mice\n[GNUPG:] VALIDSIG " FPR "\n",
	    0, "ring");
	assert_true(r.ok);
	assert_null(strchr(r.signer, 0x1b));
	verify_gpg_status(&r, "", 2, "ring");
	assert_false(r.ok);
}

/* ssh-keygen KEY -Y sign -n NS over payload; the signature into *out. */
static void ssh_sign(struct buf *out, const char *key, const char *ns)
{
	char cmd[1024], sig[256];

	path_of(sig, sizeof(sig), "payload.sig");
	(void)unlink(sig);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -Y sign -n %s -f %s/%s %s/payload 2>/dev/null",
		 ns, dir, key, dir);
	assert_int_equal(system(cmd), 0);
	buf_reset(out);
	assert_int_equal(util_read_file(out, sig), 0);
}

static void test_ssh_round_trip(void **state)
{
	const char *payload = "tree 4b825dc6\nauthor A <a@example.com> 1 +0000\n\nmsg\n";
	struct buf sig = BUF_INIT, pub = BUF_INIT, signers = BUF_INIT;
	struct verify_result r;
	char cmd[1024], p[256], allowed[256];

	(void)state;
	if (system("command -v ssh-keygen >/dev/null") != 0)
		fail_msg("ssh-keygen is missing (scripts/install-deps installs openssh-client)");
	snprintf(cmd, sizeof(cmd),
		 "ssh-keygen -q -t ed25519 -N '' -C t -f %s/alice && "
		 "ssh-keygen -q -t ed25519 -N '' -C t -f %s/mallory",
		 dir, dir);
	assert_int_equal(system(cmd), 0);
	path_of(p, sizeof(p), "alice.pub");
	assert_int_equal(util_read_file(&pub, p), 0);
	assert_int_equal(
	    buf_printf(&signers, "# team\nalice@example.com,ops@example.com %s", buf_cstr(&pub)),
	    0);
	put("allowed", signers.ptr, signers.len);
	path_of(allowed, sizeof(allowed), "allowed");
	put("payload", payload, strlen(payload));

	ssh_sign(&sig, "alice", "git");
	assert_int_equal(verify_check(&r, allowed, sig.ptr, sig.len, payload, strlen(payload)), 0);
	assert_true(r.ok);
	assert_string_equal(r.signer, "alice@example.com");
	assert_non_null(strstr(r.key, "ED25519 key SHA256:"));

	/* the signed bytes changed */
	assert_int_equal(verify_check(&r, allowed, sig.ptr, sig.len, "tree 0\n", 7), GW_EFATAL);
	assert_string_equal(r.reason, "BadSignature");
	assert_string_equal(r.signer, "");

	/* a signature made for another purpose (namespace file) */
	ssh_sign(&sig, "alice", "file");
	assert_int_equal(verify_check(&r, allowed, sig.ptr, sig.len, payload, strlen(payload)),
			 GW_EFATAL);
	assert_false(r.ok);

	/* a key the file does not list: its fingerprint is said */
	ssh_sign(&sig, "mallory", "git");
	assert_int_equal(verify_check(&r, allowed, sig.ptr, sig.len, payload, strlen(payload)),
			 GW_EFATAL);
	assert_string_equal(r.reason, "UnknownKey");
	assert_non_null(strstr(r.why, "SHA256:"));
	assert_non_null(strstr(r.why, "does not list"));

	/* unsigned; and an OpenPGP signature against an allowed-signers file */
	assert_int_equal(verify_check(&r, allowed, NULL, 0, payload, strlen(payload)), GW_EFATAL);
	assert_string_equal(r.reason, "Unsigned");
	assert_int_equal(verify_check(&r, allowed, "-----BEGIN PGP SIGNATURE-----\n", 30, payload,
				      strlen(payload)),
			 GW_EFATAL);
	assert_string_equal(r.reason, "WrongKind");

	buf_release(&sig);
	buf_release(&pub);
	buf_release(&signers);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_kind),
	    cmocka_unit_test(test_sig_kind),
	    cmocka_unit_test(test_gpg_status),
	    cmocka_unit_test(test_ssh_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
