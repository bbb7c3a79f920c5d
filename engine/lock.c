/*
 * The per-migration lock GET_LOCK('godwit:NAME') on the destination, for
 * the lock keeper of reconcile/task.c (struct lock_ops), and the task's
 * recorded stage read and written for the task loop. A lock taken on a
 * connection is the server's to release when the connection goes: a
 * controller that dies lets the next one in.
 */
#include "lib/common.h"
#include "engine/conn.h"
#include "engine/meta.h"
#include "reconcile/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct mysql_lock_conn {
	struct lock_conn base; /* first: what reconcile sees */
	MYSQL *m;
};

static int lock_open(struct lock_conn **out, const struct endpoint *ep, const char *task,
		     struct gw_err *err)
{
	struct mysql_lock_conn *c;
	int r;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return err_set(err, GW_ENOMEM, "out of memory");
	if ((r = conn_open(&c->m, ep, "destination", CONN_NO_SESSION, task, err)) < 0) {
		free(c);
		return r;
	}
	c->base.ops = &engine_lock_ops;
	*out = &c->base;
	return 0;
}

static int lock_call(char *out, size_t outsz, struct lock_conn *lc, const char *fn,
		     const char *lock, struct gw_err *err)
{
	struct mysql_lock_conn *c = (struct mysql_lock_conn *)lc;
	struct buf q = BUF_INIT, v = BUF_INIT;
	bool found = false;
	int r;

	if (buf_printf(&q, "SELECT %s(", fn) < 0 ||
	    conn_quote_string(&q, c->m, lock, strlen(lock)) < 0 ||
	    buf_puts(&q, !strcmp(fn, "GET_LOCK") ? ", 0)" : ")") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	r = conn_query_value(&v, &found, c->m, buf_cstr(&q), err);
	snprintf(out, outsz, "%s", found && v.len ? buf_cstr(&v) : "NULL");
out:
	buf_release(&q);
	buf_release(&v);
	return r;
}

static unsigned long lock_id(struct lock_conn *lc)
{
	return mysql_thread_id(((struct mysql_lock_conn *)lc)->m);
}

/* The host needs the PROCESS privilege to see another account's sessions. */
static void lock_holder(char *out, size_t outsz, struct lock_conn *lc, const char *lock)
{
	MYSQL *m = ((struct mysql_lock_conn *)lc)->m;
	struct gw_err err = GW_ERR_INIT;
	struct buf q = BUF_INIT, v = BUF_INIT;
	bool found = false;

	out[0] = 0;
	if (buf_puts(&q, "SELECT CONCAT('connection ', l.id, IFNULL(CONCAT(' from ', p.HOST), '')) "
			 "FROM (SELECT IS_USED_LOCK(") < 0 ||
	    conn_quote_string(&q, m, lock, strlen(lock)) < 0 ||
	    buf_puts(&q, ") AS id) l LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.id "
			 "WHERE l.id IS NOT NULL") < 0)
		goto out;
	if (conn_query_value(&v, &found, m, buf_cstr(&q), &err) == 0 && found)
		snprintf(out, outsz, "%s", buf_cstr(&v));
out:
	buf_release(&q);
	buf_release(&v);
}

static void lock_close(struct lock_conn *lc)
{
	struct mysql_lock_conn *c = (struct mysql_lock_conn *)lc;

	if (c) {
		mysql_close(c->m);
		free(c);
	}
}

const struct lock_ops engine_lock_ops = {lock_open, lock_call, lock_id, lock_holder, lock_close};

int meta_observe_task(enum meta_stage *stage_out, char hash_out[65], const struct spec *s,
		      struct gw_err *err)
{
	const char *db = meta_database_of(s);
	MYSQL *m = NULL;
	bool found = false;
	int r;

	*stage_out = META_NONE;
	hash_out[0] = 0;
	if ((r = conn_open(&m, &s->destination, "destination", CONN_DEFAULT, s->name, err)) < 0) {
		m = NULL;
		goto out;
	}
	/* Reads only: the meta database may not exist yet (nothing written). */
	if ((r = meta_present(&found, m, db, err)) < 0 || !found)
		goto out;
	r = meta_stage_get(stage_out, hash_out, m, db, s->name, err);
out:
	if (m)
		mysql_close(m);
	return r;
}

int meta_record_task(const struct spec *s, enum meta_stage st, struct gw_err *err)
{
	const char *db = meta_database_of(s);
	MYSQL *m = NULL;
	int r;

	if ((r = conn_open(&m, &s->destination, "destination", CONN_DEFAULT, s->name, err)) < 0)
		return r;
	if ((r = meta_ensure(m, db, err)) == 0)
		r = meta_stage_set(m, db, s->name, st, s->immutable_hash, err);
	mysql_close(m);
	return r;
}
