#include "lib/common.h"
#include "controller/metascan.h"
#include "engine/conn.h"
#include "engine/meta.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "reconcile/task.h"
#include "spec/spec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* How long metascan_free() waits for a scan to end. */
#define METASCAN_FREE_WAIT_S 2

struct req {
	char **names;
	char **bytes;
	size_t *lens;
	size_t n;
};

struct metascan {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	volatile int quit;
	bool exited;   /* the thread returned */
	bool have_req; /* a request waits */
	bool working;
	struct req req;
	struct meta_found *found; /* the last result, until taken */
	size_t nfound;
	bool ready;
	void (*wake)(void *ctx);
	void *ctx;
};

static void req_release(struct req *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->names[i]);
		free(r->bytes[i]);
	}
	free(r->names);
	free(r->bytes);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

/* "host:port/metadb" or "rds:region/id/metadb": one read per key. */
static int dest_key(struct buf *out, const struct spec *s)
{
	const struct endpoint *e = &s->destination;

	if (e->is_rds)
		return buf_printf(out, "rds:%s/%s/%s", e->rds.region, e->rds.instance_id,
				  meta_database_of(s));
	return buf_printf(out, "%s:%u/%s", e->host, e->port, meta_database_of(s));
}

/* The entry of name (added, through via, when new); NULL out of memory. */
static struct meta_found *add_found(struct meta_found **v, size_t *n, const char *name,
				    const char *via)
{
	struct meta_found *nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return &(*v)[i];
	if (!(nv = realloc(*v, (*n + 1) * sizeof(*nv))))
		return NULL;
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	snprintf(nv[*n].name, sizeof(nv[*n].name), "%s", name);
	snprintf(nv[*n].via, sizeof(nv[*n].via), "%s", via);
	return &nv[(*n)++];
}

/* The whitelist entries recorded on the same meta database, each with its
 * migration (a migration whitelisted and never further is found too). */
static int add_whitelist(struct meta_found **v, size_t *n, MYSQL *m, const struct spec *s,
			 struct gw_err *err)
{
	struct meta_wl_entry *all = NULL, *nw;
	size_t nall = 0, i;
	int r;

	if ((r = meta_whitelist_list(&all, &nall, m, meta_database_of(s), NULL, err)) < 0)
		return r;
	for (i = 0; i < nall && r == 0; i++) {
		struct meta_found *f = add_found(v, n, all[i].task, s->name);

		if (!f || !(nw = realloc(f->wl, (f->nwl + 1) * sizeof(*nw)))) {
			r = err_set(err, GW_ENOMEM, "out of memory");
			break;
		}
		f->wl = nw;
		f->wl[f->nwl++] = all[i];
	}
	free(all);
	return r;
}

void metascan_found_free(struct meta_found *found, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(found[i].wl);
	free(found);
}

/* The task names in the meta database of s's destination. */
static int scan_one(struct meta_found **v, size_t *n, const struct spec *s, struct gw_err *err)
{
	const char *db = meta_database_of(s);
	struct buf q = BUF_INIT;
	MYSQL *m = NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	bool found = false;
	int r;

	if ((r = conn_open(&m, &s->destination, "destination", CONN_NO_SESSION, s->name, err)) <
	    0) {
		m = NULL;
		goto out;
	}
	/* reads only: the meta database may not exist */
	if ((r = meta_present(&found, m, db, err)) < 0 || !found)
		goto out;
	if (buf_puts(&q, "SELECT task FROM ") < 0 || conn_quote_ident(&q, db) < 0 ||
	    buf_puts(&q, ".task_stage") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (mysql_query(m, buf_cstr(&q)) != 0 || !(res = mysql_store_result(m))) {
		r = conn_error(err, m, "listing the migrations of the meta database");
		goto out;
	}
	while ((row = mysql_fetch_row(res)))
		if (row[0] && strlen(row[0]) < sizeof((*v)->name) &&
		    !add_found(v, n, row[0], s->name)) {
			r = err_set(err, GW_ENOMEM, "out of memory");
			break;
		}
	if (r == 0)
		r = add_whitelist(v, n, m, s, err);
out:
	if (res)
		mysql_free_result(res);
	if (m)
		mysql_close(m);
	buf_release(&q);
	return r;
}

static void scan(struct metascan *m, struct req *r, struct meta_found **v, size_t *n)
{
	char **keys = calloc(r->n + 1, sizeof(*keys));
	size_t i, j, nkeys = 0;

	if (!keys)
		return;
	for (i = 0; i < r->n && !m->quit; i++) {
		struct diag_list d = DIAG_LIST_INIT;
		struct gw_err err = GW_ERR_INIT;
		struct buf key = BUF_INIT;
		struct spec *s = NULL;

		if (spec_load_buffer(&s, r->names[i], r->bytes[i], r->lens[i], &d) < 0 ||
		    dest_key(&key, s) < 0)
			goto next;
		for (j = 0; j < nkeys; j++)
			if (!strcmp(keys[j], buf_cstr(&key)))
				break;
		if (j < nkeys)
			goto next;
		if (scan_one(v, n, s, &err) < 0)
			log_warn(NULL,
				 "reading the migrations recorded on the destination of %s: %s",
				 s->name, err.msg);
		keys[nkeys++] = buf_detach(&key, NULL);
	next:
		buf_release(&key);
		spec_free(s);
		diag_list_release(&d);
	}
	for (j = 0; j < nkeys; j++)
		free(keys[j]);
	free(keys);
}

static void *metascan_main(void *arg)
{
	struct metascan *m = arg;

	pthread_mutex_lock(&m->mu);
	for (;;) {
		struct meta_found *v = NULL;
		struct req r;
		size_t n = 0;

		while (!m->quit && !m->have_req)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->quit)
			break;
		r = m->req;
		memset(&m->req, 0, sizeof(m->req));
		m->have_req = false;
		m->working = true;
		pthread_mutex_unlock(&m->mu);
		scan(m, &r, &v, &n);
		req_release(&r);
		pthread_mutex_lock(&m->mu);
		m->working = false;
		metascan_found_free(m->found, m->nfound);
		m->found = v;
		m->nfound = n;
		m->ready = true;
		if (!m->quit && m->wake)
			m->wake(m->ctx);
	}
	m->exited = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int metascan_start(struct metascan **out, void (*wake)(void *ctx), void *ctx, struct gw_err *err)
{
	struct metascan *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return err_set(err, GW_ENOMEM, "out of memory");
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->wake = wake;
	m->ctx = ctx;
	if (pthread_create(&m->th, NULL, metascan_main, m) != 0) {
		pthread_mutex_destroy(&m->mu);
		pthread_cond_destroy(&m->cv);
		free(m);
		return err_set(err, GW_EFATAL, "cannot start the meta database thread");
	}
	*out = m;
	return 0;
}

void metascan_request(struct metascan *m, const char *const *names, const char *const *bytes,
		      const size_t *lens, size_t n)
{
	struct req r;
	size_t i;

	memset(&r, 0, sizeof(r));
	if (n &&
	    (!(r.names = calloc(n, sizeof(*r.names))) || !(r.bytes = calloc(n, sizeof(*r.bytes))) ||
	     !(r.lens = calloc(n, sizeof(*r.lens)))))
		goto oom;
	for (i = 0; i < n; i++) {
		r.n = i + 1;
		if (!(r.names[i] = strdup(names[i])) || !(r.bytes[i] = malloc(lens[i] + 1)))
			goto oom;
		memcpy(r.bytes[i], bytes[i], lens[i]);
		r.bytes[i][lens[i]] = 0;
		r.lens[i] = lens[i];
	}
	pthread_mutex_lock(&m->mu);
	req_release(&m->req);
	m->req = r;
	m->have_req = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return;
oom:
	log_warn(NULL, "out of memory asking for the migrations of the destinations");
	req_release(&r);
}

bool metascan_result(struct metascan *m, struct meta_found **found_out, size_t *n_out)
{
	bool ready;

	pthread_mutex_lock(&m->mu);
	ready = m->ready;
	*found_out = ready ? m->found : NULL;
	*n_out = ready ? m->nfound : 0;
	if (ready) {
		m->found = NULL;
		m->nfound = 0;
		m->ready = false;
	}
	pthread_mutex_unlock(&m->mu);
	return ready;
}

bool metascan_busy(struct metascan *m)
{
	bool busy;

	pthread_mutex_lock(&m->mu);
	busy = m->have_req || m->working;
	pthread_mutex_unlock(&m->mu);
	return busy;
}

bool metascan_free(struct metascan *m)
{
	struct timespec ts;
	bool exited;

	if (!m)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += METASCAN_FREE_WAIT_S;
	pthread_mutex_lock(&m->mu);
	m->quit = 1;
	pthread_cond_broadcast(&m->cv);
	/* A scan waits on a server (a connect, a query behind a lock) for as
	 * long as the server lets it: the process is ending, it is left. */
	while (!m->exited)
		if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) == ETIMEDOUT)
			break;
	exited = m->exited;
	pthread_mutex_unlock(&m->mu);
	if (!exited) {
		log_warn(NULL, "the scan of the destinations does not end: not waiting for it");
		(void)pthread_detach(m->th);
		return false;
	}
	(void)pthread_join(m->th, NULL);
	req_release(&m->req);
	metascan_found_free(m->found, m->nfound);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
	return true;
}
