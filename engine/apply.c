#include "lib/common.h"
#include "engine/apply.h"
#include "engine/conn.h"
#include "engine/meta.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/banned.h"

/* A group's statements: records of a 4-byte SQL length, a 2-byte label
 * length, a flag byte (expect one row), the label and the SQL. */
#define REC_HEAD 7

struct group {
	struct buf part[2]; /* enum apply_part */
	struct buf pos_sql;
	struct buf pos_text;
	uint64_t events, txns;
	int64_t last_event_ts;
};

struct worker {
	struct applier *a;
	MYSQL *m;
	pthread_t thread;
	bool live;
	struct conn_guard guard;
	bool guarded;
	struct group g;
	uint64_t seq; /* the group it holds (1, 2, ...), 0 for none */
	struct gw_err err;
};

struct applier {
	struct action_io *io;
	unsigned n;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* seq, committed, failed or stop changed */
	uint64_t sealed;   /* groups handed over */
	uint64_t committed;
	bool failed, stop;
	struct gw_err err; /* the first failure */
	struct group build;
	struct worker w[APPLY_CONNS];
};

static void group_reset(struct group *g)
{
	size_t i;

	/* a big group's memory is not kept for every later one */
	for (i = 0; i < 2; i++) {
		if (g->part[i].cap > APPLY_GROUP_BYTES)
			buf_release(&g->part[i]);
		buf_reset(&g->part[i]);
	}
	buf_reset(&g->pos_sql);
	buf_reset(&g->pos_text);
	g->events = g->txns = 0;
	g->last_event_ts = 0;
}

static void group_release(struct group *g)
{
	buf_release(&g->part[0]);
	buf_release(&g->part[1]);
	buf_release(&g->pos_sql);
	buf_release(&g->pos_text);
}

/* Waits on the condition for at most ms (the mutex held). */
static void cond_wait_ms(struct applier *a, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
}

typedef int (*stmt_fn)(void *ctx, const char *what, const char *sql, size_t len, bool expect_one);

/* Calls fn for each statement of b, in order; stops at its first error. */
static int each_stmt(const struct buf *b, stmt_fn fn, void *ctx)
{
	size_t off = 0;
	int rc;

	while (off + REC_HEAD <= b->len) {
		const char *rec = b->ptr + off;
		char what[300];
		uint32_t len;
		uint16_t wlen;
		memcpy(&len, rec, 4);
		memcpy(&wlen, rec + 4, 2);
		(void)snprintf(what, sizeof(what), "%.*s", (int)wlen, rec + REC_HEAD);
		if ((rc = fn(ctx, what, rec + REC_HEAD + wlen, len, rec[6] != 0)) < 0)
			return rc;
		off += REC_HEAD + wlen + len;
	}
	return 0;
}

/* --- the workers ----------------------------------------------------- */

int apply_stmt(MYSQL *m, const char *what, const char *sql, size_t len, bool expect_one,
	       struct gw_err *err)
{
	int rc;

	if (mysql_real_query(m, sql, len)) {
		rc = conn_error(err, m, "applying changes");
		err_prefix(err, "%s", what);
		return rc;
	}
	if (expect_one && mysql_affected_rows(m) != 1) {
		err_set(err, GW_EFATAL,
			"the destination has no row equal to the source's before image (the tables "
			"differ): %.300s",
			sql);
		err_prefix(err, "%s", what);
		return GW_EFATAL;
	}
	return 0;
}

static int run_stmt(void *ctx, const char *what, const char *sql, size_t len, bool expect_one)
{
	struct worker *w = ctx;

	return apply_stmt(w->m, what, sql, len, expect_one, &w->err);
}

static int run_part(struct worker *w, enum apply_part p)
{
	return each_stmt(&w->g.part[p], run_stmt, w);
}

/*
 * Waits until the group before seq is committed. Should that take
 * APPLY_YIELD_MS while this group holds the locks of its free part, they
 * are given up (rolled back) in case the other waits for one of them;
 * *redo says the free part runs again. GW_ECANCEL when the applier stops
 * or another group failed.
 */
static int wait_turn(struct worker *w, uint64_t seq, bool holds, bool *redo)
{
	struct applier *a = w->a;
	int64_t start = util_now_mono_ms();
	int rc = 0;

	*redo = false;
	pthread_mutex_lock(&a->mu);
	while (a->committed + 1 < seq && !a->failed && !a->stop) {
		if (holds && !*redo && util_now_mono_ms() - start >= APPLY_YIELD_MS) {
			pthread_mutex_unlock(&a->mu);
			log_info(a->io->task,
				 "applier: the group before group %llu did not commit in %d ms: it "
				 "gives its changes up (rolled back) and applies them once that "
				 "group committed",
				 (unsigned long long)seq, APPLY_YIELD_MS);
			if (mysql_query(w->m, "ROLLBACK"))
				rc = conn_error(&w->err, w->m, "rolling back to wait");
			pthread_mutex_lock(&a->mu);
			*redo = true;
			if (rc < 0)
				break;
			continue;
		}
		cond_wait_ms(a, 100);
	}
	if (rc == 0 && (a->failed || a->stop))
		rc = GW_ECANCEL;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static int run_once(struct worker *w, uint64_t seq, bool *deadlock)
{
	struct applier *a = w->a;
	bool redo = false;
	int rc;

	*deadlock = false;
	if ((rc = conn_exec(w->m, "START TRANSACTION", &w->err)) < 0 ||
	    (rc = run_part(w, APPLY_FREE)) < 0 ||
	    (rc = wait_turn(w, seq, w->g.part[APPLY_FREE].len > 0, &redo)) < 0)
		goto fail;
	if (redo && ((rc = conn_exec(w->m, "START TRANSACTION", &w->err)) < 0 ||
		     (rc = run_part(w, APPLY_FREE)) < 0))
		goto fail;
	if ((rc = run_part(w, APPLY_AFTER)) < 0)
		goto fail;
	if (mysql_real_query(w->m, w->g.pos_sql.ptr, w->g.pos_sql.len)) {
		rc = conn_error(&w->err, w->m, "recording the position");
		goto fail;
	}
	/* (a failed commit is rolled back by meta_commit) */
	return meta_commit(w->m, a->io->task, a->io->lock_holder, &w->err);
fail:
	*deadlock = mysql_errno(w->m) == ER_LOCK_DEADLOCK;
	(void)mysql_query(w->m, "ROLLBACK");
	return rc;
}

/*
 * Applies group seq and commits it after the group before it. A deadlock
 * the server broke (two groups in flight locking more than their rows, in
 * opposite orders) rolled this group back: it waits for the group before
 * it to commit (the first group in flight goes on at once) and applies
 * again, up to APPLY_RETRIES times.
 */
static int run_group(struct worker *w, uint64_t seq)
{
	struct applier *a = w->a;
	bool deadlock, redo;
	int rc, tries;

	for (tries = 0;; tries++) {
		rc = run_once(w, seq, &deadlock);
		if (rc == 0 || !deadlock || tries == APPLY_RETRIES)
			return rc;
		log_info(a->io->task,
			 "applier: group %llu was rolled back by a deadlock with another group in "
			 "flight: applying it again once the groups before it committed",
			 (unsigned long long)seq);
		if ((rc = wait_turn(w, seq, false, &redo)) < 0)
			return rc;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct applier *a = w->a;
	struct progress *p = a->io->progress;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		uint64_t seq;
		int rc;
		while (!w->seq && !a->stop && !a->failed)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!w->seq || a->stop || a->failed)
			break;
		seq = w->seq;
		pthread_mutex_unlock(&a->mu);
		rc = run_group(w, seq);
		pthread_mutex_lock(&a->mu);
		if (rc < 0) {
			/* (a cancel of wait_turn follows another's failure or
			 * the stop; the fence's is this group's own: the lock
			 * was lost, and the builder must hear of it) */
			if (!a->failed && !a->stop) {
				a->failed = true;
				a->err = w->err;
				if (!a->err.code)
					a->err.code = rc;
			}
			pthread_cond_broadcast(&a->cv);
			break;
		}
		/* in commit order, under the lock: the position shown never
		 * goes back */
		atomic_fetch_add(&p->events_applied, w->g.events);
		atomic_fetch_add(&p->txns_applied, w->g.txns);
		atomic_store(&p->last_event_unix, w->g.last_event_ts);
		progress_set_position(p, buf_cstr(&w->g.pos_text));
		a->committed = seq;
		w->seq = 0;
		group_reset(&w->g);
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* --- the builder's side ------------------------------------------------ */

/* The destination logs InnoDB writes as statements: READ COMMITTED is
 * refused there (ER_BINLOG_STMT_MODE_AND_ROW_ENGINE). */
static int logs_statements(bool *out, MYSQL *m, struct gw_err *err)
{
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int rc;

	*out = false;
	if ((rc = conn_query(&res, m, "SELECT @@GLOBAL.log_bin, @@SESSION.binlog_format",
			     "reading the destination's binlog format", err)) < 0)
		return rc;
	if ((row = mysql_fetch_row(res)) && row[0] && row[1])
		*out = strcmp(row[0], "0") && strcasecmp(row[0], "OFF") &&
		       !strcasecmp(row[1], "STATEMENT");
	mysql_free_result(res);
	return 0;
}

int applier_start(struct applier **out, struct action_io *io, unsigned conns, struct gw_err *err)
{
	pthread_condattr_t ca;
	struct applier *a;
	bool stmt;
	unsigned i;
	int rc;

	*out = NULL;
	if (!(a = calloc(1, sizeof(*a))))
		return err_set(err, GW_ENOMEM, "out of memory");
	a->io = io;
	a->n = conns < 1 ? 1 : conns > APPLY_CONNS ? APPLY_CONNS : conns;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (i = 0; i < a->n; i++) {
		struct worker *w = &a->w[i];
		w->a = a;
		if ((rc = conn_open(&w->m, &io->spec->destination, "destination", CONN_DEFAULT,
				    io->task, err)) < 0)
			goto fail;
		if (i == 0) {
			if ((rc = logs_statements(&stmt, w->m, err)) < 0)
				goto fail;
			if (stmt && a->n > 1) {
				log_info(io->task,
					 "the destination logs statements "
					 "(binlog_format=STATEMENT): one connection applies");
				a->n = 1;
			}
		}
		if ((rc = conn_exec(w->m, "SET SESSION foreign_key_checks = 0", err)) < 0 ||
		    (a->n > 1 &&
		     (rc = conn_exec(w->m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
				     err)) < 0))
			goto fail;
	}
	for (i = 0; i < a->n; i++) {
		struct worker *w = &a->w[i];
		conn_guard_start(&w->guard, w->m, io->cancel);
		w->guarded = true;
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			rc = err_set(err, GW_EFATAL, "cannot start an applier thread");
			goto fail;
		}
		w->live = true;
	}
	*out = a;
	return 0;
fail:
	(void)applier_free(a);
	return rc;
}

unsigned applier_conns(const struct applier *a)
{
	return a->n;
}

int applier_add(struct applier *a, enum apply_part part, const char *what, const char *sql,
		size_t len, bool expect_one)
{
	struct buf *b = &a->build.part[part];
	size_t wl = strlen(what);
	uint32_t l = (uint32_t)len;
	uint16_t w = (uint16_t)(wl > 255 ? 255 : wl);
	char flag = expect_one ? 1 : 0;

	if (len > UINT32_MAX)
		return GW_ENOMEM;
	if (buf_add(b, &l, 4) < 0 || buf_add(b, &w, 2) < 0 || buf_add(b, &flag, 1) < 0 ||
	    buf_add(b, what, w) < 0 || buf_add(b, sql, len) < 0)
		return GW_ENOMEM;
	return 0;
}

size_t applier_pending_bytes(const struct applier *a)
{
	return a->build.part[0].len + a->build.part[1].len;
}

int applier_take(struct applier *a, stmt_fn fn, void *ctx)
{
	int rc = each_stmt(&a->build.part[APPLY_FREE], fn, ctx);

	if (rc == 0)
		rc = each_stmt(&a->build.part[APPLY_AFTER], fn, ctx);

	group_reset(&a->build);
	return rc;
}

void applier_discard(struct applier *a)
{
	group_reset(&a->build);
}

static int failure(struct applier *a, struct gw_err *err)
{
	*err = a->err;
	return a->err.code ? a->err.code : GW_EFATAL;
}

int applier_seal(struct applier *a, const struct buf *pos_sql, const char *pos_text,
		 uint64_t events, uint64_t txns, int64_t last_event_ts, struct gw_err *err)
{
	struct group *b = &a->build, tmp;
	struct worker *w;
	int rc = 0;

	if (buf_add(&b->pos_sql, pos_sql->ptr, pos_sql->len) < 0 ||
	    buf_puts(&b->pos_text, pos_text) < 0)
		return err_set(err, GW_ENOMEM, "out of memory");
	b->events = events;
	b->txns = txns;
	b->last_event_ts = last_event_ts;
	pthread_mutex_lock(&a->mu);
	w = &a->w[a->sealed % a->n];
	while (w->seq && !a->failed && !*a->io->cancel)
		cond_wait_ms(a, 100);
	if (a->failed) {
		rc = failure(a, err);
	} else if (*a->io->cancel) {
		rc = err_set(err, GW_ECANCEL, "cancelled");
	} else {
		tmp = w->g;
		w->g = *b;
		*b = tmp;
		w->seq = ++a->sealed;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	group_reset(b);
	return rc;
}

int applier_drain(struct applier *a, struct gw_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&a->mu);
	while (a->committed < a->sealed && !a->failed)
		cond_wait_ms(a, 100);
	if (a->failed)
		rc = failure(a, err);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int applier_check(struct applier *a, struct gw_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&a->mu);
	if (a->failed)
		rc = failure(a, err);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

bool applier_ready(struct applier *a)
{
	bool ready;

	pthread_mutex_lock(&a->mu);
	ready = a->w[a->sealed % a->n].seq == 0;
	pthread_mutex_unlock(&a->mu);
	return ready;
}

bool applier_idle(struct applier *a)
{
	bool idle;

	pthread_mutex_lock(&a->mu);
	idle = a->committed == a->sealed && !a->failed;
	pthread_mutex_unlock(&a->mu);
	return idle;
}

bool applier_free(struct applier *a)
{
	bool fired = false;
	unsigned i;

	if (!a)
		return false;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < APPLY_CONNS; i++) {
		struct worker *w = &a->w[i];
		if (w->live)
			(void)pthread_join(w->thread, NULL);
		if (w->guarded && conn_guard_stop(&w->guard))
			fired = true;
		if (w->m)
			mysql_close(w->m);
		group_release(&w->g);
	}
	group_release(&a->build);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
	return fired;
}
