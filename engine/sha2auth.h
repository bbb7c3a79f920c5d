/*
 * The client side of MySQL's SHA-2 authentication methods,
 * caching_sha2_password (MySQL 8's default) and sha256_password, in the
 * connector's place. Connector/C's own plugins, on a connection without
 * TLS, ask the server for its RSA public key whenever they cannot read
 * the key file they are given (3.1.8 to at least 3.3.11 compare fread()'s
 * item count with the file's size, so never read one), and encrypt the
 * password with whatever comes back: a man in the middle's key, that is;
 * and they count a connection as secure when TLS was asked for, not when
 * it was made.
 * These are registered under the same names before the first connection
 * (conn.c), so the connector never loads its own, and the password leaves
 * godwit only
 *   - inside TLS (or over a local socket, as MySQL itself decides), or
 *   - encrypted with the key the spec gives (tls.serverPublicKey), held
 *     in memory from before the connection, or
 *   - encrypted with the key the server sends, when the spec says so
 *     (tls.getServerPublicKey: the operator trusts the server and the
 *     network).
 * Otherwise a full authentication (caching_sha2_password after a restart
 * of the server, whose cache is then cold; sha256_password always) is
 * refused before anything but the scramble has been sent, and the
 * connection records why, for conn.c's message.
 *
 * The per-connection policy is a struct sha2auth that the calling thread
 * installs around mysql_real_connect() (the connector runs a client
 * plugin in the thread that connects).
 */
#ifndef GODWIT_SHA2AUTH_H
#define GODWIT_SHA2AUTH_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <mysql.h>
#include <openssl/evp.h>

/* How the last connection of a thread went through these methods. */
enum sha2auth_path {
	SHA2AUTH_NONE = 0,	   /* neither method ran to its end (another method, or
				      the server switched away from it) */
	SHA2AUTH_FAST,		   /* caching_sha2_password's cache held the account */
	SHA2AUTH_FULL_TLS,	   /* the password inside TLS (or a local socket) */
	SHA2AUTH_FULL_KEY,	   /* RSA with the key of tls.serverPublicKey */
	SHA2AUTH_FULL_SERVER_KEY,  /* RSA with the key the server sent */
	SHA2AUTH_REFUSED_NO_KEY,   /* full authentication without TLS or a trusted
				      key: refused, nothing sent */
	SHA2AUTH_REFUSED_PROTOCOL, /* the server broke the method's protocol */
};

struct sha2auth {
	const char *password;	 /* borrowed; NULL or "" is no password */
	EVP_PKEY *key;		 /* tls.serverPublicKey (owned), or NULL */
	bool get_server_key;	 /* tls.getServerPublicKey */
	enum sha2auth_path path; /* set by the methods */
	const char *method;	 /* the last of the two that ran, or NULL */
};

/*
 * Makes these the connector's caching_sha2_password and sha256_password,
 * once per process; then tells whether the connector, asked for them by
 * m, finds these (false when it has its own built in, or the plugin layer
 * was reset since): conn.c allows the two methods without TLS only then.
 */
bool sha2auth_ready(MYSQL *m);
/* The calling thread's connections authenticate with a until
 * sha2auth_end(); a must outlive the connect. */
void sha2auth_begin(struct sha2auth *a);
void sha2auth_end(void);
/* Releases a's key. */
void sha2auth_release(struct sha2auth *a);

/* Reads a PEM RSA public key (as `openssl rsa -pubout` writes it, and as
 * a server's caching_sha2_password_public_key_path holds it) into *out,
 * owned by the caller (EVP_PKEY_free). */
int sha2auth_load_key(EVP_PKEY **out, const char *path, struct gw_err *err);

/* caching_sha2_password's scramble: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) nonce). */
int sha2auth_scramble(unsigned char out[32], const char *password, const unsigned char *nonce,
		      size_t nonce_len) WARN_UNUSED;
/* The password and its NUL, XORed with the nonce, RSA-OAEP encrypted with
 * key (SHA-1, as the server decrypts it), into out (reset first). */
int sha2auth_encrypt(struct buf *out, EVP_PKEY *key, const char *password,
		     const unsigned char *nonce, size_t nonce_len) WARN_UNUSED;

#endif
