/* Unit tests of engine/sha2auth: caching_sha2_password's scramble, the
 * RSA encryption of the password, and the reading of tls.serverPublicKey.
 * The exchange itself is tested against the MySQL double and a rogue
 * server (tests/integration/mysql_auth.sh, sec_server_auth.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "engine/sha2auth.h"
#include "lib/buf.h"
#include "lib/err.h"

static const unsigned char nonce[20] = {1,  2,	3,  4,	5,  6,	7,  8,	9,  10,
					11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

static void test_scramble(void **state)
{
	/* SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) nonce), as the server
	 * checks it (computed with Python's hashlib) */
	static const char want[] =
	    "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9";
	unsigned char out[32];
	char hex[65];
	size_t i;

	(void)state;
	assert_int_equal(sha2auth_scramble(out, "secret", nonce, sizeof(nonce)), 0);
	for (i = 0; i < sizeof(out); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", out[i]);
	assert_string_equal(hex, want);
}

static EVP_PKEY *rsa_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);

	assert_non_null(k);
	return k;
}

/* What the server does: RSA-OAEP (SHA-1) decryption, then XOR the nonce. */
static size_t server_decrypt(unsigned char *out, size_t outsz, EVP_PKEY *key, const struct buf *c)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t n = outsz, i;

	assert_non_null(ctx);
	assert_true(EVP_PKEY_decrypt_init(ctx) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_decrypt(ctx, out, &n, (const unsigned char *)c->ptr, c->len) > 0);
	EVP_PKEY_CTX_free(ctx);
	for (i = 0; i < n; i++)
		out[i] ^= nonce[i % sizeof(nonce)];
	return n;
}

static void test_encrypt(void **state)
{
	EVP_PKEY *key = rsa_key(), *other = rsa_key();
	struct buf c = BUF_INIT;
	unsigned char plain[512];
	char longpw[300];
	EVP_PKEY_CTX *ctx;
	size_t n;

	(void)state;
	assert_int_equal(sha2auth_encrypt(&c, key, "p@ss w0rd", nonce, sizeof(nonce)), 0);
	assert_int_equal(c.len, 256);
	n = server_decrypt(plain, sizeof(plain), key, &c);
	assert_int_equal(n, strlen("p@ss w0rd") + 1);
	assert_memory_equal(plain, "p@ss w0rd", n);
	/* another key's holder reads nothing */
	ctx = EVP_PKEY_CTX_new(other, NULL);
	assert_true(EVP_PKEY_decrypt_init(ctx) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
	n = sizeof(plain);
	assert_true(EVP_PKEY_decrypt(ctx, plain, &n, (const unsigned char *)c.ptr, c.len) <= 0);
	EVP_PKEY_CTX_free(ctx);
	/* longer than OAEP fits in a 2048-bit key: refused, not cut */
	memset(longpw, 'x', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	assert_int_equal(sha2auth_encrypt(&c, key, longpw, nonce, sizeof(nonce)), -1);
	buf_release(&c);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static char *write_pem(EVP_PKEY *key)
{
	char *path = strdup("/tmp/test_sha2auth.XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	assert_non_null(f);
	assert_true(PEM_write_PUBKEY(f, key));
	fclose(f);
	return path;
}

static void test_load_key(void **state)
{
	EVP_PKEY *key = rsa_key(), *got = NULL, *ec = EVP_EC_gen("P-256");
	struct gw_err err = GW_ERR_INIT;
	char *pub = write_pem(key), *ecpub = write_pem(ec);
	struct buf c = BUF_INIT;
	unsigned char plain[512];

	(void)state;
	assert_int_equal(sha2auth_load_key(&got, pub, &err), 0);
	assert_true(EVP_PKEY_eq(got, key) == 1);
	/* the key read encrypts for the private key's holder */
	assert_int_equal(sha2auth_encrypt(&c, got, "pw", nonce, sizeof(nonce)), 0);
	assert_int_equal(server_decrypt(plain, sizeof(plain), key, &c), 3);
	assert_memory_equal(plain, "pw", 3);
	EVP_PKEY_free(got);
	/* not RSA, not there, not a key: named, nothing returned */
	got = key;
	assert_int_equal(sha2auth_load_key(&got, ecpub, &err), GW_EFATAL);
	assert_null(got);
	assert_non_null(strstr(err.msg, ecpub));
	assert_non_null(strstr(err.msg, "not a readable PEM RSA public key"));
	assert_int_equal(sha2auth_load_key(&got, "/nonexistent/key.pem", &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "tls.serverPublicKey /nonexistent/key.pem"));
	assert_int_equal(sha2auth_load_key(&got, "/dev/null", &err), GW_EFATAL);
	unlink(pub);
	unlink(ecpub);
	free(pub);
	free(ecpub);
	buf_release(&c);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scramble),
	    cmocka_unit_test(test_encrypt),
	    cmocka_unit_test(test_load_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
