/*
 * Connections to MySQL-protocol servers, for every engine. conn_open()
 * resolves the password at the moment of use (and wipes it), applies the
 * endpoint's TLS mode, resolves rds endpoints through the cloud API, and
 * sets the session up for lossless transfer: character set binary on the
 * wire, time_zone '+00:00', sql_mode without implicit conversions.
 *
 * What a hostile server or a man in the middle cannot do (docs/security.md):
 * read a local file (every file request is refused but for the copy's own
 * LOAD DATA), receive credentials from a connection whose tls.mode is
 * required or stronger when it offers no TLS (refused before the handshake
 * response), or get the password itself on a connection without TLS (only
 * authentication methods that send a scramble or a signature are allowed
 * there, and caching_sha2_password and sha256_password, whose password
 * goes only to a key the spec trusts: engine/sha2auth.h).
 *
 * Errors from the server are classified with conn_error(): connection
 * failures and lock waits/deadlocks are GW_ERETRY, the rest GW_EFATAL.
 */
#ifndef GODWIT_CONN_H
#define GODWIT_CONN_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "engine/sha2auth.h"
#include "spec/spec.h"

#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>

enum conn_flags {
	CONN_DEFAULT = 0,
	CONN_LOCAL_INFILE = 1, /* allow LOAD DATA LOCAL INFILE */
	CONN_NO_SESSION = 2,   /* do not touch session variables */
	CONN_STREAM = 4,       /* a replica stream: reads time out after
				  CONN_STREAM_TIMEOUT_S, since the server's heartbeats
				  come every second (a hung server is a lost one) */
};
#define CONN_STREAM_TIMEOUT_S 10

/* Opens a connection; *out is owned by the caller (mysql_close). `role` is
 * "source" or "destination", for messages. */
int conn_open(MYSQL **out, const struct endpoint *ep, const char *role, unsigned flags,
	      const char *task, struct gw_err *err);
/* How the calling thread's last successful conn_open() went through
 * caching_sha2_password or sha256_password (SHA2AUTH_NONE: another
 * method), and which of the two (*method_out, NULL if neither); precheck
 * tells from it what a restart of the server changes. */
enum sha2auth_path conn_auth_path(const char **method_out);
/*
 * Makes m refuse every LOAD DATA LOCAL INFILE file request of the server.
 * conn_open() does it before connecting; copy.c arms its own handler
 * around each LOAD DATA it issues and calls this again right after.
 */
void conn_infile_refuse(MYSQL *m);
/* Classifies the last error of m and writes "what: message (errno N)". */
int conn_error(struct gw_err *err, MYSQL *m, const char *what);
/* The same for a query that carries a table's `where`: the error number
 * and SQLSTATE, never the server's message, which may quote row data
 * (EXTRACTVALUE's "XPATH syntax error: '...'"). */
int conn_error_filtered(struct gw_err *err, MYSQL *m, const char *what);
/* Whether a MySQL error number means the operation may succeed later. */
bool conn_errno_retryable(unsigned errnum);
/* Runs a query and stores its whole result in *out (the caller frees it
 * with mysql_free_result). A statement without a result set is an error.
 * `what` names the step in the message ("reading the columns"). */
int conn_query(MYSQL_RES **out, MYSQL *m, const char *sql, const char *what,
	       struct gw_err *err) WARN_UNUSED;
/* The same for a query that carries where, a table's row filter (NULL:
 * none): a failure is reported by conn_error_filtered. */
int conn_query_where(MYSQL_RES **out, MYSQL *m, const char *sql, const char *what,
		     const char *where, struct gw_err *err) WARN_UNUSED;
/* Runs one statement and discards any result. */
int conn_exec(MYSQL *m, const char *sql, struct gw_err *err);
int conn_execf(MYSQL *m, struct gw_err *err, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Runs a query expected to return at most one row and one column; the value
 * (or NULL for no row / SQL NULL) is copied into out, which is reset first.
 * *found_out (may be NULL) tells whether a row came back. */
int conn_query_value(struct buf *out, bool *found_out, MYSQL *m, const char *sql,
		     struct gw_err *err);
/* Appends `name` quoted as an identifier (backticks doubled). */
int conn_quote_ident(struct buf *b, const char *name) WARN_UNUSED;
/* Appends 'value' as a string literal escaped for m's connection (or, when
 * m is NULL, with hex '0x..' for arbitrary bytes). */
int conn_quote_string(struct buf *b, MYSQL *m, const char *s, size_t len) WARN_UNUSED;
/*
 * A guard that breaks a statement stuck on the server (a lock held by
 * someone else, a server that stopped answering) once the task is
 * cancelled: after *cancel is set and the guard is not stopped within
 * CONN_GUARD_GRACE_MS, m's socket is shut down, so the blocked call returns
 * an error at once. A cancel that the code sees by itself at a checkpoint
 * (the usual case) is never disturbed. The server rolls back the open
 * transaction, whose position was not committed: nothing is lost.
 */
#define CONN_GUARD_GRACE_MS 2000
struct conn_guard {
	pthread_t thread;
	MYSQL *m;
	const volatile int *cancel;
	atomic_int done;
	atomic_int fired;
	bool live;
};
/* Starts guarding m (borrowed; it must outlive conn_guard_stop). */
void conn_guard_start(struct conn_guard *g, MYSQL *m, const volatile int *cancel);
/* Stops the guard; returns whether it shut the connection down. */
bool conn_guard_stop(struct conn_guard *g);

/* The server's version as a number (e.g. 101106) and whether it is MariaDB. */
void conn_server_version(MYSQL *m, unsigned long *version_out, bool *mariadb_out);

#endif
