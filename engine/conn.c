#include "lib/common.h"
#include "engine/conn.h"
#include "cloud/cloud.h"
#include "engine/sha2auth.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <openssl/evp.h>
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
 * Authentication methods a connection without TLS may use: those that
 * send a scramble or a signature (mysql_native_password, client_ed25519,
 * auth_gssapi_client), and caching_sha2_password and sha256_password when
 * they are godwit's own (engine/sha2auth.h: the password goes only to a
 * key the spec trusts). mysql_clear_password and dialog send the password
 * as is: never without TLS. The connector matches this list by substring:
 * no plugin it can load is a substring of these names but the names
 * themselves.
 */
#define CONN_PLAIN_AUTH "mysql_native_password,client_ed25519,auth_gssapi_client"
#define CONN_PLAIN_AUTH_SHA2 CONN_PLAIN_AUTH ",caching_sha2_password,sha256_password"

/* How the thread's last connection authenticated, for conn_auth_path(). */
static _Thread_local enum sha2auth_path last_auth;
static _Thread_local const char *last_method;

enum sha2auth_path conn_auth_path(const char **method_out)
{
	*method_out = last_method;
	return last_auth;
}

static int apply_tls(MYSQL *m, const struct endpoint *ep, bool plain, bool sha2)
{
	my_bool yes = 1, no = 0;

	if (plain || ep->tls_mode == TLS_DISABLED)
		return mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH,
				      sha2 ? CONN_PLAIN_AUTH_SHA2 : CONN_PLAIN_AUTH)
			   ? -1
			   : 0;
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
 * The message of a connect that godwit's caching_sha2_password or
 * sha256_password refused (engine/sha2auth.h), or that failed after
 * encrypting with the spec's key; 0 if neither.
 */
static int sha2_failure(struct gw_err *err, const struct sha2auth *a, const struct endpoint *ep,
			const char *who, unsigned e, const char *msg)
{
	if (a->path == SHA2AUTH_REFUSED_NO_KEY && strcmp(a->method, "caching_sha2_password") == 0)
		/* Retryable: one login of this user over TLS (or with the
		 * server's key) warms the cache again, no spec change needed. */
		return err_set(
		    err, GW_ERETRY,
		    "%s: the server asks for a full caching_sha2_password authentication: its "
		    "cache does not hold this account (cold after a restart or failover of the "
		    "server; or the user or password is wrong), and without TLS that needs the "
		    "server's RSA public key, which the spec does not give: refused, nothing but "
		    "the scramble was sent. Fix: tls.serverPublicKey: FILE (the server's "
		    "caching_sha2_password_public_key_path), or TLS (tls.mode required or "
		    "stronger), or an account IDENTIFIED WITH mysql_native_password; a login "
		    "of this user over TLS warms the cache until the next restart",
		    who);
	if (a->path == SHA2AUTH_REFUSED_NO_KEY)
		return err_set(err, GW_EFATAL,
			       "%s: the account uses sha256_password, which without TLS always "
			       "sends the password encrypted with the server's RSA public key, "
			       "which the spec does not give: refused, the password was not "
			       "sent. Fix: tls.serverPublicKey: FILE (the server's "
			       "sha256_password_public_key_path), or TLS (tls.mode required or "
			       "stronger), or an account IDENTIFIED WITH mysql_native_password",
			       who);
	if (a->path == SHA2AUTH_REFUSED_PROTOCOL)
		return err_set(err, GW_EFATAL,
			       "%s: the server broke the %s protocol (an answer to the scramble "
			       "or a public key that is neither): refused, the password was not "
			       "sent",
			       who, a->method);
	if (a->path == SHA2AUTH_FULL_KEY && e == ER_ACCESS_DENIED_ERROR)
		return err_set(err, GW_EFATAL,
			       "%s: %s (errno %u); the password went encrypted with the key of "
			       "tls.serverPublicKey %s: if the password is right, that file is "
			       "not this server's key",
			       who, msg, e, ep->tls_server_key);
	return 0;
}

static int try_connect(MYSQL **out, const struct endpoint *ep, const char *host, unsigned port,
		       const char *password, EVP_PKEY *key, unsigned flags, bool plain,
		       struct gw_err *err, const char *role)
{
	unsigned timeout = 10, rw_timeout = flags & CONN_STREAM ? CONN_STREAM_TIMEOUT_S : 3600;
	unsigned local_infile = flags & CONN_LOCAL_INFILE ? 1 : 0;
	my_bool reconnect = 0;
	struct sha2auth auth = {
	    .password = password, .key = key, .get_server_key = ep->tls_get_server_key};
	MYSQL *m = mysql_init(NULL), *ok;
	bool sha2;

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
	/* On every connection, so that the connector never loads its own
	 * SHA-2 methods first. */
	sha2 = sha2auth_ready(m);
	if (apply_tls(m, ep, plain, sha2) < 0) {
		mysql_close(m);
		return err_set(err, GW_EFATAL, "%s %s:%u: cannot set TLS options", role, host,
			       port);
	}
	sha2auth_begin(&auth);
	ok = mysql_real_connect(m, host, ep->user, password, NULL, port, NULL,
				CLIENT_MULTI_RESULTS | CLIENT_FOUND_ROWS);
	sha2auth_end();
	if (!ok) {
		unsigned e = mysql_errno(m);
		char hint[1200], who[400];
		int code;

		(void)snprintf(who, sizeof(who), "%s %s:%u (user %s)", role, host, port,
			       ep->user ? ep->user : "");
		if ((code = sha2_failure(err, &auth, ep, who, e, mysql_error(m))) < 0) {
			mysql_close(m);
			return code;
		}
		if (e == CR_PLUGIN_NOT_ALLOWED) {
			/* The connector's message names the first method, not
			 * the one refused. */
			err_set(err, GW_EFATAL,
				"%s: the server asks for an authentication method that would "
				"hand it the password (mysql_clear_password or dialog%s) on a "
				"connection without TLS: refused (errno %u); use a server with "
				"TLS and tls.mode required or stronger, or an account identified "
				"by mysql_native_password, ed25519 or caching_sha2_password",
				who,
				sha2 ? ""
				     : "; caching_sha2_password and sha256_password, as "
				       "this connector has its own, which would take the "
				       "server's key",
				e);
			mysql_close(m);
			return GW_EFATAL;
		}
		code = conn_errno_retryable(e) ? GW_ERETRY : GW_EFATAL;
		connect_hint(hint, sizeof(hint), ep, plain, e, mysql_error(m));
		err_set(err, code, "%s: %s (errno %u)%s", who, mysql_error(m), e, hint);
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
	last_auth = auth.path;
	last_method = auth.method;
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
	EVP_PKEY *key = NULL;
	MYSQL *m = NULL;
	int r;

	*out = NULL;
	last_auth = SHA2AUTH_NONE;
	last_method = NULL;
	/* Read here, before connecting: the key the password may be
	 * encrypted with is the operator's copy, never one from the wire. */
	if (ep->tls_server_key && (r = sha2auth_load_key(&key, ep->tls_server_key, err)) < 0) {
		err_prefix(err, "%s", role);
		return r;
	}
	if (ep->is_rds) {
		if ((r = cloud_endpoint_resolve(&rds_host, &port, ep, task, err)) < 0)
			goto out;
		host = rds_host;
	}
	if (ep->password.kind != SECRET_NONE &&
	    (r = spec_secret_resolve(&password, &ep->password, err)) < 0) {
		err_prefix(err, "%s", role);
		goto out;
	}
	r = try_connect(&m, ep, host, port, password, key, flags, false, err, role);
	if (r < 0 && ep->tls_mode == TLS_PREFERRED && mysql_errno_is_tls(err)) {
		if (first_fallback(host, port))
			log_warn(task,
				 "%s %s:%u: TLS not available, connecting without it (said once "
				 "per server)",
				 role, host, port);
		r = try_connect(&m, ep, host, port, password, key, flags, true, err, role);
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
	EVP_PKEY_free(key);
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
