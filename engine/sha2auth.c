#include "lib/common.h"
#include "engine/sha2auth.h"

#include <errmsg.h>
#include <mysql/plugin_auth.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "lib/banned.h"

/*
 * The connector's authentication plugin interface (version 1.0), as
 * <mysql/client_plugin.h> declares it: that header cannot be included
 * from Debian's libmariadb-dev, which lacks the ma_compress.h it includes.
 */
#define SHA2AUTH_PLUGIN_TYPE 2 /* MYSQL_CLIENT_AUTHENTICATION_PLUGIN */
#define SHA2AUTH_PLUGIN_INTERFACE 0x0100
struct auth_plugin {
	MYSQL_CLIENT_PLUGIN_HEADER
	int (*authenticate_user)(MYSQL_PLUGIN_VIO *vio, MYSQL *mysql);
};

#define NONCE_LEN 20
#define MAX_PASSWORD 1024 /* as the connector's */
#define MAX_SERVER_KEY 16384

/* caching_sha2_password's answers to the scramble, after the 0x01 the
 * connector strips; and the client's request for the key */
#define FAST_AUTH_SUCCESS 3
#define PERFORM_FULL_AUTH 4
#define CACHING_SHA2_KEY_REQUEST 2
#define SHA256_KEY_REQUEST 1

static _Thread_local struct sha2auth *current;

void sha2auth_begin(struct sha2auth *a)
{
	a->path = SHA2AUTH_NONE;
	a->method = NULL;
	current = a;
}

void sha2auth_end(void)
{
	current = NULL;
}

void sha2auth_release(struct sha2auth *a)
{
	EVP_PKEY_free(a->key);
	a->key = NULL;
}

int sha2auth_load_key(EVP_PKEY **out, const char *path, struct gw_err *err)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	*out = NULL;
	BIO_free(bio);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		return err_set(err, GW_EFATAL,
			       "tls.serverPublicKey %s: not a readable PEM RSA public key (openssl "
			       "rsa -pubout writes one; a server's is its "
			       "caching_sha2_password_public_key_path, also shown by SHOW STATUS "
			       "LIKE 'Caching_sha2_password_rsa_public_key')",
			       path);
	}
	*out = key;
	return 0;
}

int sha2auth_scramble(unsigned char out[32], const char *password, const unsigned char *nonce,
		      size_t nonce_len)
{
	unsigned char d1[SHA256_DIGEST_LENGTH], d2[SHA256_DIGEST_LENGTH], d3[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;
	size_t i;

	if (!ctx)
		return -1;
	if (!SHA256((const unsigned char *)password, strlen(password), d1) ||
	    !SHA256(d1, sizeof(d1), d2))
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, d2, sizeof(d2)) != 1 ||
	    EVP_DigestUpdate(ctx, nonce, nonce_len) != 1 || EVP_DigestFinal_ex(ctx, d3, NULL) != 1)
		goto out;
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		out[i] = d1[i] ^ d3[i];
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	explicit_bzero(d1, sizeof(d1));
	explicit_bzero(d2, sizeof(d2));
	return rc;
}

int sha2auth_encrypt(struct buf *out, EVP_PKEY *key, const char *password,
		     const unsigned char *nonce, size_t nonce_len)
{
	unsigned char plain[MAX_PASSWORD];
	size_t n = strlen(password) + 1, len = 0, i;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = -1;

	buf_reset(out);
	if (n > sizeof(plain) || nonce_len == 0)
		return -1;
	memcpy(plain, password, n);
	for (i = 0; i < n; i++)
		plain[i] ^= nonce[i % nonce_len];
	if (!(ctx = EVP_PKEY_CTX_new(key, NULL)) || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_encrypt(ctx, NULL, &len, plain, n) <= 0 || buf_grow(out, len) < 0 ||
	    EVP_PKEY_encrypt(ctx, (unsigned char *)out->ptr, &len, plain, n) <= 0)
		goto out;
	out->len = len;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	explicit_bzero(plain, sizeof(plain));
	return rc;
}

/* The connection counts as secure as MySQL counts it: TLS, or a local
 * socket (the server then expects the password as is). */
static bool secure_transport(MYSQL_PLUGIN_VIO *vio, MYSQL *m, bool socket_counts)
{
	MYSQL_PLUGIN_VIO_INFO info;

	if (mysql_get_ssl_cipher(m))
		return true;
	if (!socket_counts)
		return false;
	vio->info(vio, &info);
	return info.protocol == MYSQL_VIO_SOCKET;
}

/* The nonce of the greeting or of the server's switch request: 20 bytes
 * and a NUL. */
static int read_nonce(unsigned char nonce[NONCE_LEN], MYSQL_PLUGIN_VIO *vio, struct sha2auth *a)
{
	unsigned char *pkt;
	int n = vio->read_packet(vio, &pkt);

	if (n < 0)
		return CR_ERROR;
	if (n != NONCE_LEN + 1) {
		a->path = SHA2AUTH_REFUSED_PROTOCOL;
		return CR_SERVER_HANDSHAKE_ERR;
	}
	memcpy(nonce, pkt, NONCE_LEN);
	return 0;
}

static int write_clear(MYSQL_PLUGIN_VIO *vio, struct sha2auth *a)
{
	a->path = SHA2AUTH_FULL_TLS;
	return vio->write_packet(vio, (const unsigned char *)a->password,
				 (int)strlen(a->password) + 1)
		   ? CR_ERROR
		   : CR_OK;
}

/* Encrypts with key and sends. */
static int write_rsa(MYSQL_PLUGIN_VIO *vio, struct sha2auth *a, EVP_PKEY *key,
		     const unsigned char nonce[NONCE_LEN])
{
	struct buf cipher = BUF_INIT;
	int rc = CR_ERROR;

	if (sha2auth_encrypt(&cipher, key, a->password, nonce, NONCE_LEN) < 0)
		goto out;
	if (!vio->write_packet(vio, (const unsigned char *)cipher.ptr, (int)cipher.len))
		rc = CR_OK;
out:
	buf_release(&cipher);
	return rc;
}

/* The full authentication without TLS: with the spec's key, or with the
 * server's when the spec allows it (asked with `request`), or not at all. */
static int full_rsa(MYSQL_PLUGIN_VIO *vio, struct sha2auth *a, const unsigned char nonce[NONCE_LEN],
		    unsigned char request)
{
	unsigned char *pkt;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	int n, rc;

	if (a->key) {
		rc = write_rsa(vio, a, a->key, nonce);
		if (rc == CR_OK)
			a->path = SHA2AUTH_FULL_KEY;
		return rc;
	}
	if (!a->get_server_key) {
		a->path = SHA2AUTH_REFUSED_NO_KEY;
		return CR_ERROR;
	}
	if (vio->write_packet(vio, &request, 1) || (n = vio->read_packet(vio, &pkt)) < 0)
		return CR_ERROR;
	if (n > MAX_SERVER_KEY || !(bio = BIO_new_mem_buf(pkt, n)) ||
	    !(key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) ||
	    EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		a->path = SHA2AUTH_REFUSED_PROTOCOL;
		rc = CR_ERROR;
		goto out;
	}
	rc = write_rsa(vio, a, key, nonce);
	if (rc == CR_OK)
		a->path = SHA2AUTH_FULL_SERVER_KEY;
out:
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

static int caching_sha2_client(MYSQL_PLUGIN_VIO *vio, MYSQL *m)
{
	struct sha2auth *a = current;
	unsigned char nonce[NONCE_LEN], scramble[SHA256_DIGEST_LENGTH], *pkt;
	int n, rc;

	if (!a)
		return CR_ERROR;
	a->method = "caching_sha2_password";
	if ((rc = read_nonce(nonce, vio, a)) != 0)
		return rc;
	if (!a->password || !a->password[0])
		return vio->write_packet(vio, NULL, 0) ? CR_ERROR : CR_OK;
	/* The scramble proves the password without revealing it, as
	 * mysql_native_password's does. */
	if (sha2auth_scramble(scramble, a->password, nonce, NONCE_LEN) < 0)
		return CR_ERROR;
	rc = vio->write_packet(vio, scramble, (int)sizeof(scramble));
	explicit_bzero(scramble, sizeof(scramble));
	/* < 0: the server switched to another method or refused (the
	 * connector goes on from its packet) */
	if (rc || (n = vio->read_packet(vio, &pkt)) < 0)
		return CR_ERROR;
	if (n == 1 && pkt[0] == FAST_AUTH_SUCCESS) {
		a->path = SHA2AUTH_FAST;
		return CR_OK;
	}
	if (n != 1 || pkt[0] != PERFORM_FULL_AUTH) {
		a->path = SHA2AUTH_REFUSED_PROTOCOL;
		return CR_SERVER_HANDSHAKE_ERR;
	}
	if (secure_transport(vio, m, true))
		return write_clear(vio, a);
	return full_rsa(vio, a, nonce, CACHING_SHA2_KEY_REQUEST);
}

/*
 * sha256_password has no cache: without TLS every login is a full one.
 * Without a key the spec trusts, the server's key is asked for all the
 * same, but not used: a server whose default method this is (announced in
 * its greeting) answers it by switching an account of another method to
 * that method, which is what the request is for.
 */
static int sha256_client(MYSQL_PLUGIN_VIO *vio, MYSQL *m)
{
	struct sha2auth *a = current;
	unsigned char nonce[NONCE_LEN], request = SHA256_KEY_REQUEST, *pkt;
	int rc;

	if (!a)
		return CR_ERROR;
	a->method = "sha256_password";
	if ((rc = read_nonce(nonce, vio, a)) != 0)
		return rc;
	if (secure_transport(vio, m, false))
		return write_clear(vio, a);
	if (!a->password || !a->password[0])
		return vio->write_packet(vio, NULL, 0) ? CR_ERROR : CR_OK;
	if (a->key || a->get_server_key)
		return full_rsa(vio, a, nonce, SHA256_KEY_REQUEST);
	if (vio->write_packet(vio, &request, 1) || vio->read_packet(vio, &pkt) < 0)
		return CR_ERROR;
	a->path = SHA2AUTH_REFUSED_NO_KEY;
	return CR_ERROR;
}

static struct auth_plugin caching_sha2_plugin = {
    .type = SHA2AUTH_PLUGIN_TYPE,
    .interface_version = SHA2AUTH_PLUGIN_INTERFACE,
    .name = "caching_sha2_password",
    .author = "godwit",
    .desc = "caching_sha2_password, the password only inside TLS or to a trusted key",
    .version = {1, 0, 0},
    .license = "GPL",
    .authenticate_user = caching_sha2_client,
};

static struct auth_plugin sha256_plugin = {
    .type = SHA2AUTH_PLUGIN_TYPE,
    .interface_version = SHA2AUTH_PLUGIN_INTERFACE,
    .name = "sha256_password",
    .author = "godwit",
    .desc = "sha256_password, the password only inside TLS or to a trusted key",
    .version = {1, 0, 0},
    .license = "GPL",
    .authenticate_user = sha256_client,
};

static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void register_plugins(void)
{
	MYSQL *m = mysql_init(NULL);

	if (!m)
		return;
	/* Each returns the plugin already known by that name when there is
	 * one: sha2auth_ready() sees which. */
	(void)mysql_client_register_plugin(m,
					   (struct st_mysql_client_plugin *)&caching_sha2_plugin);
	(void)mysql_client_register_plugin(m, (struct st_mysql_client_plugin *)&sha256_plugin);
	mysql_close(m);
}

bool sha2auth_ready(MYSQL *m)
{
	(void)pthread_once(&register_once, register_plugins);
	return mysql_client_find_plugin(m, caching_sha2_plugin.name, SHA2AUTH_PLUGIN_TYPE) ==
		   (struct st_mysql_client_plugin *)&caching_sha2_plugin &&
	       mysql_client_find_plugin(m, sha256_plugin.name, SHA2AUTH_PLUGIN_TYPE) ==
		   (struct st_mysql_client_plugin *)&sha256_plugin;
}
