#include "lib/common.h"
#include "engine/conn.h"
#include "cloud/cloud.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

bool conn_errno_retryable(unsigned e)
{
	switch (e) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_UNKNOWN_HOST:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK:
	case ER_SERVER_SHUTDOWN:
	case ER_CON_COUNT_ERROR:
	case ER_TOO_MANY_USER_CONNECTIONS:
	case ER_QUERY_INTERRUPTED:
	case ER_CONNECTION_KILLED:
	case ER_NET_READ_ERROR:
	case ER_NET_READ_INTERRUPTED:
	case ER_NET_ERROR_ON_WRITE:
	case ER_NET_WRITE_INTERRUPTED:
	case ER_ABORTING_CONNECTION:
	case ER_NEW_ABORTING_CONNECTION:
	case ER_OPTION_PREVENTS_STATEMENT: /* read_only during a failover */ return true;
	default: return false;
	}
}

int conn_error(struct gw_err *err, MYSQL *m, const char *what)
{
	unsigned e = mysql_errno(m);

	return err_set(err, conn_errno_retryable(e) ? GW_ERETRY : GW_EFATAL, "%s: %s (errno %u)",
		       what, mysql_error(m), e);
}

int conn_error_filtered(struct gw_err *err, MYSQL *m, const char *what)
{
	unsigned e = mysql_errno(m);

	/* The client's own errors (2000-2999: connection lost, ...) carry no
	 * row data. */
	if (e >= 2000 && e < 3000)
		return conn_error(err, m, what);
	return err_set(err, conn_errno_retryable(e) ? GW_ERETRY : GW_EFATAL,
		       "%s: server error %u (SQLSTATE %s); the server's message is not shown, as "
		       "it may quote row data (the query has the table's where filter)",
		       what, e, mysql_sqlstate(m));
}

/*
 * Authentication methods that never hand the server the password: the
 * only ones a connection without TLS may use. mysql_clear_password and
 * dialog send it as is; sha256_password and caching_sha2_password, lacking
 * TLS, encrypt it with a public key that the server itself sends, so a
 * rogue server or a man in the middle reads it all the same. The
 * connector matches this list by substring: no plugin it can load is a
 * substring of these names but the names themselves.
 */
#define CONN_PLAIN_AUTH "mysql_native_password,client_ed25519,auth_gssapi_client"

static int apply_tls(MYSQL *m, const struct endpoint *ep, bool plain)
{
	my_bool yes = 1, no = 0;

	if (plain || ep->tls_mode == TLS_DISABLED)
		return mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH, CONN_PLAIN_AUTH) ? -1 : 0;
	/* Verifying without a CA file uses the system's trust store. */
	if (mysql_ssl_set(m, NULL, NULL, ep->tls_ca,
			  !ep->tls_ca && ep->tls_mode >= TLS_VERIFY_CA ? "/etc/ssl/certs" : NULL,
			  NULL))
		return -1;
	if (mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes))
		return -1;
	/* ENFORCE alone goes on in clear, user name and password scramble
	 * included, when the server offers no TLS and no certificate check
	 * is asked for. Connector/C 3.x refuses, before it sends a byte, once
	 * a fingerprint option is set; an empty fingerprint checks nothing
	 * else. So every attempt with TLS is TLS or nothing: "preferred"
	 * falls back to a second attempt in clear in conn_open(). */
	if (mysql_optionsv(m, MARIADB_OPT_TLS_PEER_FP, ""))
		return -1;
	/* The connector checks the chain against the CA whenever one is given,
	 * and the host name only with VERIFY_SERVER_CERT: that is verify-ca
	 * and verify-identity. */
	if (mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
			   ep->tls_mode >= TLS_VERIFY_IDENTITY ? &yes : &no))
		return -1;
	return 0;
}

/* A server may answer any statement with a request for a local file, a
 * rogue one or a man in the middle for any file it likes: every connection
 * refuses, from its creation on, but for the LOAD DATA copy.c issues
 * itself (it arms its own handler around that statement only). */
static int refuse_init(void **ptr, const char *filename, void *userdata)
{
	(void)filename, (void)userdata;
	*ptr = NULL;
	return 1;
}

static int refuse_read(void *ptr, char *buf, unsigned int len)
{
	(void)ptr, (void)buf, (void)len;
	return -1;
}

static void refuse_end(void *ptr)
{
	(void)ptr;
}

static int refuse_error(void *ptr, char *msg, unsigned int len)
{
	(void)ptr;
	(void)snprintf(msg, len,
		       "the server asked for a local file outside a LOAD DATA of godwit's: "
		       "refused");
	return CR_UNKNOWN_ERROR;
}

void conn_infile_refuse(MYSQL *m)
{
	mysql_set_local_infile_handler(m, refuse_init, refuse_read, refuse_end, refuse_error, NULL);
}

/* What a refused connect asked for, in the spec's words. */
static void connect_hint(char *out, size_t outsz, const struct endpoint *ep, bool plain, unsigned e,
			 const char *msg)
{
	const char *ca = ep->tls_ca ? ep->tls_ca : "the system trust store";

	out[0] = '\0';
	if (e == CR_SSL_CONNECTION_ERROR && !plain && strstr(msg, "does not support")) {
		(void)snprintf(out, outsz,
			       ": tls.mode %s: the server offers no TLS (nothing was sent to it)",
			       spec_tls_mode_name(ep->tls_mode));
		return;
	}
	if (e != CR_SSL_CONNECTION_ERROR || ep->tls_mode < TLS_VERIFY_CA)
		return;
	if (ep->tls_mode == TLS_VERIFY_CA)
		(void)snprintf(out, outsz,
			       ": tls.mode verify-ca: the server's certificate must be signed by "
			       "the CA of %s",
			       ca);
	else
		(void)snprintf(out, outsz,
			       ": tls.mode verify-identity: the server's certificate must be "
			       "signed by the CA of %s and name the host it is reached by",
			       ca);
}

/*
 * caching_sha2_password and sha256_password without TLS: the password
 * goes encrypted with the server's RSA public key. With tls.serverPublicKey
 * it is the operator's copy of the key (read here first: the connector,
 * when it cannot read the file, silently asks the server for the key,
 * which a man in the middle answers with its own); with
 * tls.getServerPublicKey the operator accepts the server's word. Either
 * lets those two methods join the ones a connection without TLS may use;
 * without either they stay refused, the password never leaves but as a
 * scramble.
 */
static int rsa_auth_options(MYSQL *m, const struct endpoint *ep, struct gw_err *err)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	int rc = 0;

	if (!ep->tls_server_key && !ep->tls_get_server_key)
		return 0;
	if (ep->tls_server_key) {
		if (!(bio = BIO_new_file(ep->tls_server_key, "r")) ||
		    !(key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL))) {
			rc = err_set(
			    err, GW_EFATAL,
			    "tls.serverPublicKey %s: not a readable PEM public key (openssl rsa "
			    "-pubout writes one; a server's is its "
			    "caching_sha2_password_public_key_path)",
			    ep->tls_server_key);
			goto out;
		}
		if (mysql_optionsv(m, MYSQL_SERVER_PUBLIC_KEY, ep->tls_server_key)) {
			rc = err_set(err, GW_EFATAL, "cannot set the server's public key");
			goto out;
		}
	}
	if (mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH,
			   "mysql_native_password,client_ed25519,auth_gssapi_client,"
			   "caching_sha2_password,sha256_password"))
		rc = err_set(err, GW_EFATAL, "cannot set the authentication methods");
out:
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

static int try_connect(MYSQL **out, const struct endpoint *ep, const char *host, unsigned port,
		       const char *password, unsigned flags, bool plain, struct gw_err *err,
		       const char *role)
{
	unsigned timeout = 10, rw_timeout = flags & CONN_STREAM ? CONN_STREAM_TIMEOUT_S : 3600;
	unsigned local_infile = flags & CONN_LOCAL_INFILE ? 1 : 0;
	my_bool reconnect = 0;
	MYSQL *m = mysql_init(NULL);

	*out = NULL;
	if (!m)
		return err_set(err, GW_ENOMEM, "%s: out of memory", role);
	(void)mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	(void)mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	(void)mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	(void)mysql_optionsv(m, MYSQL_OPT_RECONNECT, &reconnect);
	(void)mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "binary");
	/* Before the server has said a word. Only the copy's connections
	 * offer LOCAL INFILE at all. */
	conn_infile_refuse(m);
	if (mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local_infile)) {
		mysql_close(m);
		return err_set(err, GW_EFATAL, "%s %s:%u: cannot set the LOCAL INFILE option", role,
			       host, port);
	}
	if (apply_tls(m, ep, plain) < 0) {
		mysql_close(m);
		return err_set(err, GW_EFATAL, "%s %s:%u: cannot set TLS options", role, host,
			       port);
	}
	if ((plain || ep->tls_mode == TLS_DISABLED) && rsa_auth_options(m, ep, err) < 0) {
		mysql_close(m);
		err_prefix(err, "%s %s:%u", role, host, port);
		return GW_EFATAL;
	}
	if (!mysql_real_connect(m, host, ep->user, password, NULL, port, NULL,
				CLIENT_MULTI_RESULTS | CLIENT_FOUND_ROWS)) {
		unsigned e = mysql_errno(m);
		int code = conn_errno_retryable(e) ? GW_ERETRY : GW_EFATAL;
		char hint[1200];

		if (e == CR_PLUGIN_NOT_ALLOWED) {
			/* The connector's message names the first method, not
			 * the one refused. */
			err_set(err, GW_EFATAL,
				"%s %s:%u (user %s): the server asks for an authentication "
				"method that would hand it the password (mysql_clear_password, "
				"dialog, sha256_password or caching_sha2_password) on a "
				"connection without TLS: refused (errno %u); use a server with "
				"TLS and tls.mode required or stronger, an account "
				"identified by mysql_native_password or ed25519, or (for "
				"caching_sha2_password and sha256_password) the server's RSA "
				"public key in tls.serverPublicKey",
				role, host, port, ep->user ? ep->user : "", e);
			mysql_close(m);
			return GW_EFATAL;
		}
		connect_hint(hint, sizeof(hint), ep, plain, e, mysql_error(m));
		err_set(err, code, "%s %s:%u (user %s): %s (errno %u)%s", role, host, port,
			ep->user ? ep->user : "", mysql_error(m), e, hint);
		mysql_close(m);
		return code;
	}
	/* apply_tls() made the connector refuse a server without TLS before
	 * authenticating; this is the second line, should a connector
	 * version ever go on in clear. */
	if (!plain && ep->tls_mode >= TLS_REQUIRED && !mysql_get_ssl_cipher(m)) {
		mysql_close(m);
		return err_set(err, GW_EFATAL,
			       "%s %s:%u: tls.mode %s, but the server does not speak TLS (SSL "
			       "not enabled there)",
			       role, host, port, spec_tls_mode_name(ep->tls_mode));
	}
	*out = m;
	return 0;
}

/* Whether a failed connect failed in the TLS handshake (for "preferred"). */
static bool mysql_errno_is_tls(const struct gw_err *err)
{
	return strstr(err->msg, "SSL") != NULL || strstr(err->msg, "TLS") != NULL;
}

/* Whether this is the first fallback to clear for host:port in this
 * process: every connection of "preferred" to a server without TLS falls
 * back, and the log says so once. */
static bool first_fallback(const char *host, unsigned port)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t seen[64];
	static size_t nseen;
	char key[300];
	uint64_t h = 1469598103934665603ULL;
	bool first = true;
	size_t i;

	(void)snprintf(key, sizeof(key), "%s:%u", host, port);
	for (i = 0; key[i]; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	pthread_mutex_lock(&mu);
	for (i = 0; i < nseen && first; i++)
		first = seen[i] != h;
	if (first && nseen < ARRAY_SIZE(seen))
		seen[nseen++] = h;
	pthread_mutex_unlock(&mu);
	return first;
}

int conn_open(MYSQL **out, const struct endpoint *ep, const char *role, unsigned flags,
	      const char *task, struct gw_err *err)
{
	char *password = NULL, *rds_host = NULL;
	const char *host = ep->host;
	unsigned port = ep->port;
	MYSQL *m = NULL;
	int r;

	*out = NULL;
	if (ep->is_rds) {
		if ((r = cloud_endpoint_resolve(&rds_host, &port, ep, task, err)) < 0)
			return r;
		host = rds_host;
	}
	if (ep->password.kind != SECRET_NONE &&
	    (r = spec_secret_resolve(&password, &ep->password, err)) < 0) {
		err_prefix(err, "%s", role);
		goto out;
	}
	r = try_connect(&m, ep, host, port, password, flags, false, err, role);
	if (r < 0 && ep->tls_mode == TLS_PREFERRED && mysql_errno_is_tls(err)) {
		if (first_fallback(host, port))
			log_warn(task,
				 "%s %s:%u: TLS not available, connecting without it (said once "
				 "per server)",
				 role, host, port);
		r = try_connect(&m, ep, host, port, password, flags, true, err, role);
	}
	if (r < 0)
		goto out;
	if (!(flags & CONN_NO_SESSION) &&
	    (r = conn_exec(m,
			   "SET SESSION time_zone = '+00:00', "
			   "sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,"
			   "NO_ENGINE_SUBSTITUTION'",
			   err)) < 0) {
		err_prefix(err, "%s", role);
		mysql_close(m);
		m = NULL;
		goto out;
	}
	*out = m;
out:
	spec_secret_free(password);
	free(rds_host);
	return r;
}

int conn_query(MYSQL_RES **out, MYSQL *m, const char *sql, const char *what, struct gw_err *err)
{
	*out = NULL;
	if (mysql_real_query(m, sql, strlen(sql)))
		return conn_error(err, m, what);
	if (!(*out = mysql_store_result(m)))
		return mysql_errno(m) ? conn_error(err, m, what)
				      : err_set(err, GW_EFATAL, "%s: no result set", what);
	return 0;
}

int conn_query_where(MYSQL_RES **out, MYSQL *m, const char *sql, const char *what,
		     const char *where, struct gw_err *err)
{
	int r = conn_query(out, m, sql, what, err);

	if (r < 0 && where && mysql_errno(m))
		r = conn_error_filtered(err, m, what);
	return r;
}

int conn_exec(MYSQL *m, const char *sql, struct gw_err *err)
{
	MYSQL_RES *res;

	if (mysql_real_query(m, sql, strlen(sql)))
		return conn_error(err, m, "query");
	do {
		res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		else if (mysql_field_count(m))
			return conn_error(err, m, "query result");
	} while (mysql_next_result(m) == 0);
	if (mysql_errno(m))
		return conn_error(err, m, "query");
	return 0;
}

int conn_execf(MYSQL *m, struct gw_err *err, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = err_set(err, GW_ENOMEM, "out of memory");
	else
		r = conn_exec(m, buf_cstr(&b), err);
	buf_release(&b);
	return r;
}

int conn_query_value(struct buf *out, bool *found_out, MYSQL *m, const char *sql,
		     struct gw_err *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned long *lens;
	int r = 0;

	buf_reset(out);
	if (found_out)
		*found_out = false;
	if (mysql_real_query(m, sql, strlen(sql)))
		return conn_error(err, m, "query");
	res = mysql_store_result(m);
	if (!res)
		return mysql_field_count(m) ? conn_error(err, m, "query result") : 0;
	row = mysql_fetch_row(res);
	if (row) {
		if (found_out)
			*found_out = true;
		lens = mysql_fetch_lengths(res);
		if (row[0] && buf_add(out, row[0], lens[0]) < 0)
			r = err_set(err, GW_ENOMEM, "out of memory");
	}
	mysql_free_result(res);
	while (mysql_next_result(m) == 0) {
		res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
	}
	return r;
}

int conn_quote_ident(struct buf *b, const char *name)
{
	const char *p;

	if (buf_putc(b, '`') < 0)
		return GW_ENOMEM;
	for (p = name; *p; p++) {
		if (*p == '`' && buf_putc(b, '`') < 0)
			return GW_ENOMEM;
		if (buf_putc(b, *p) < 0)
			return GW_ENOMEM;
	}
	return buf_putc(b, '`');
}

int conn_quote_string(struct buf *b, MYSQL *m, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (!m) {
		if (len == 0)
			return buf_puts(b, "''");
		if (buf_grow(b, 2 + 2 * len) < 0 || buf_puts(b, "0x") < 0)
			return GW_ENOMEM;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			b->ptr[b->len++] = hex[c >> 4];
			b->ptr[b->len++] = hex[c & 15];
		}
		b->ptr[b->len] = '\0';
		return 0;
	}
	if (buf_grow(b, 2 * len + 3) < 0)
		return GW_ENOMEM;
	b->ptr[b->len++] = '\'';
	b->len += mysql_real_escape_string(m, b->ptr + b->len, s, (unsigned long)len);
	b->ptr[b->len++] = '\'';
	b->ptr[b->len] = '\0';
	return 0;
}

static void *guard_main(void *arg)
{
	struct conn_guard *g = arg;
	int64_t waited = 0;

	while (!atomic_load(&g->done) && !*g->cancel)
		util_sleep_ms(100, NULL);
	while (!atomic_load(&g->done) && waited < CONN_GUARD_GRACE_MS) {
		util_sleep_ms(100, NULL);
		waited += 100;
	}
	if (!atomic_load(&g->done)) {
		atomic_store(&g->fired, 1);
		(void)mariadb_cancel(g->m);
	}
	return NULL;
}

void conn_guard_start(struct conn_guard *g, MYSQL *m, const volatile int *cancel)
{
	memset(g, 0, sizeof(*g));
	g->m = m;
	g->cancel = cancel;
	atomic_init(&g->done, 0);
	atomic_init(&g->fired, 0);
	/* Without the thread the task still stops, once the statement ends. */
	g->live = pthread_create(&g->thread, NULL, guard_main, g) == 0;
}

bool conn_guard_stop(struct conn_guard *g)
{
	if (g->live) {
		atomic_store(&g->done, 1);
		(void)pthread_join(g->thread, NULL);
		g->live = false;
	}
	return atomic_load(&g->fired) != 0;
}

void conn_server_version(MYSQL *m, unsigned long *version_out, bool *mariadb_out)
{
	const char *info = mysql_get_server_info(m);

	*version_out = mysql_get_server_version(m);
	*mariadb_out = info && strstr(info, "MariaDB") != NULL;
}
