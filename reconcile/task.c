#include "lib/common.h"
#include "reconcile/task.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

/*
 * The lock keeper: a thread with a dedicated destination connection that
 * holds GET_LOCK('godwit:NAME', 0) for as long as this controller drives
 * the task, and checks every second that it still does. Shared between the
 * task and the thread by a reference count, so that a task whose
 * destination changed can let an old keeper wind down without waiting.
 */
/* How long a controller that takes a lock over waits before acting. */
#define LOCK_TAKEOVER_MS 3000
/* How long after it starts a keeper does not yet take a held lock for
 * another controller's: the session of a process that just ended (this
 * controller restarted, --once run after --once) holds it until the server
 * notices the connection closed. A migration seen as another's is left to
 * it (a deleted one forgotten), so a moment's sight must not decide. */
#define LOCK_GRACE_MS 2000

struct keeper {
	pthread_t th;
	volatile int quit;
	atomic_int refs;
	atomic_int state;    /* enum lock_state */
	atomic_int fatal;    /* LOCK_ERROR is permanent (e.g. access denied) */
	atomic_ulong holder; /* thread id of the connection holding the lock, 0 */
	pthread_mutex_t mu;
	char msg[512];
	struct endpoint ep; /* a deep copy of the destination, owned */
	char name[64];
	int64_t retry_ms;
	const struct lock_ops *ops;
	void (*wake)(void *ctx); /* called under mu, never once quit is set */
	void *wake_ctx;
	atomic_int want; /* take the lock (1) or only watch whether it is free */
	atomic_int poke; /* want changed: stop sleeping */
};

static void endpoint_release(struct endpoint *e)
{
	free(e->host);
	free(e->user);
	free(e->password.name);
	free(e->tls_ca);
	free(e->tls_server_key);
	free(e->rds.region);
	free(e->rds.instance_id);
	free(e->rds.account_id);
	free(e->rds.role_name);
	free(e->meta_database);
	memset(e, 0, sizeof(*e));
}

static bool dup_str(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return !s || *out;
}

/* The lock thread outlives specs: it keeps its own copy of the endpoint. */
static int endpoint_dup(struct endpoint *out, const struct endpoint *e)
{
	*out = *e;
	out->host = out->user = out->password.name = out->tls_ca = out->tls_server_key = NULL;
	out->rds.region = out->rds.instance_id = out->rds.account_id = NULL;
	out->rds.role_name = out->meta_database = NULL;
	if (!dup_str(&out->host, e->host) || !dup_str(&out->user, e->user) ||
	    !dup_str(&out->password.name, e->password.name) || !dup_str(&out->tls_ca, e->tls_ca) ||
	    !dup_str(&out->tls_server_key, e->tls_server_key) ||
	    !dup_str(&out->rds.region, e->rds.region) ||
	    !dup_str(&out->rds.instance_id, e->rds.instance_id) ||
	    !dup_str(&out->rds.account_id, e->rds.account_id) ||
	    !dup_str(&out->rds.role_name, e->rds.role_name) ||
	    !dup_str(&out->meta_database, e->meta_database)) {
		endpoint_release(out);
		return GW_ENOMEM;
	}
	return 0;
}

static void keeper_unref(struct keeper *k)
{
	if (atomic_fetch_sub(&k->refs, 1) == 1) {
		pthread_mutex_destroy(&k->mu);
		endpoint_release(&k->ep);
		free(k);
	}
}

static void keeper_set(struct keeper *k, enum lock_state st, const char *msg)
{
	bool changed;

	pthread_mutex_lock(&k->mu);
	snprintf(k->msg, sizeof(k->msg), "%s", msg ? msg : "");
	changed = atomic_exchange(&k->state, st) != (int)st;
	/* under mu: keeper_drop() sets quit under it, so no wake reaches a
	 * controller that already let the task go */
	if (changed && !k->quit && k->wake)
		k->wake(k->wake_ctx);
	pthread_mutex_unlock(&k->mu);
}

/* SELECT fn('lock'); for IS_USED_LOCK "1" when this connection holds it. */
static int keeper_query(char *out, size_t outsz, struct lock_conn *m, const char *fn,
			const char *lock, struct gw_err *err)
{
	int r = m->ops->call(out, outsz, m, fn, lock, err);

	if (r == 0 && !strcmp(fn, "IS_USED_LOCK"))
		snprintf(out, outsz, "%d",
			 strcmp(out, "NULL") && strtoul(out, NULL, 10) == m->ops->id(m));
	return r;
}

/* Sleeps ms, or less when asked to quit or when want changed. */
static void keeper_sleep(struct keeper *k, int64_t ms)
{
	int64_t end = util_now_mono_ms() + ms;

	while (!k->quit && !atomic_exchange(&k->poke, 0) && util_now_mono_ms() < end)
		util_sleep_ms(50, &k->quit);
}

/* Another session holds the lock: LOCK_OTHER, saying whose it is. */
static void keeper_other(struct keeper *k, struct lock_conn *m, const char *lock, bool waiting)
{
	char who[160], msg[400];

	m->ops->holder(who, sizeof(who), m, lock);
	if (waiting && atomic_load(&k->state) != LOCK_OTHER)
		log_info(k->name, "another controller holds lock %s (%s); waiting", lock,
			 who[0] ? who : "another session");
	snprintf(msg, sizeof(msg),
		 "another controller drives this migration (lock %s held by %s)%s", lock,
		 who[0] ? who : "another session", waiting ? "; waiting" : "");
	keeper_set(k, LOCK_OTHER, msg);
}

static void *keeper_main(void *arg)
{
	struct keeper *k = arg;
	struct gw_err err = GW_ERR_INIT;
	char lock[80], val[32];
	struct lock_conn *m = NULL;
	bool held = false, saw_other = false;
	int64_t started = util_now_mono_ms();

	snprintf(lock, sizeof(lock), "godwit:%s", k->name);
	while (!k->quit) {
		if (!m) {
			int code = k->ops->open(&m, &k->ep, k->name, &err);

			if (code < 0) {
				m = NULL;
				atomic_store(&k->fatal, code != GW_ERETRY);
				keeper_set(k, LOCK_ERROR, err.msg);
				util_sleep_ms(k->retry_ms, &k->quit);
				continue;
			}
			atomic_store(&k->fatal, 0);
		}
		if (held && !atomic_load(&k->want)) {
			/* let go (--max-migrations): another migration gets the slot */
			if (keeper_query(val, sizeof(val), m, "RELEASE_LOCK", lock, &err) < 0) {
				m->ops->close(m);
				m = NULL;
			}
			held = false;
			atomic_store(&k->holder, 0);
			log_info(k->name, "lock %s released (parked)", lock);
			keeper_set(k, LOCK_UNKNOWN, "");
			continue;
		}
		if (!held && !atomic_load(&k->want)) {
			/* not admitted: watch whether anybody drives it */
			if (keeper_query(val, sizeof(val), m, "IS_FREE_LOCK", lock, &err) < 0) {
				keeper_set(k, LOCK_ERROR, err.msg);
				m->ops->close(m);
				m = NULL;
			} else if (!strcmp(val, "1")) {
				keeper_set(k, LOCK_FREE, "no controller drives this migration");
			} else {
				saw_other = true;
				keeper_other(k, m, lock, false);
			}
			keeper_sleep(k, k->retry_ms);
			continue;
		}
		if (!held) {
			if (keeper_query(val, sizeof(val), m, "GET_LOCK", lock, &err) < 0) {
				keeper_set(k, LOCK_ERROR, err.msg);
				m->ops->close(m);
				m = NULL;
			} else if (!strcmp(val, "1")) {
				held = true;
				atomic_store(&k->holder, m->ops->id(m));
				if (saw_other || atomic_load(&k->state) == LOCK_OTHER) {
					/* A takeover. The previous holder may be alive
					 * with only its lock connection gone: it sees
					 * the loss within a second and cancels its
					 * worker. Hold the lock that long before
					 * acting (data transactions are fenced by
					 * meta_fence() anyway; DDL is not). */
					log_info(k->name,
						 "lock %s taken over; acting in %d ms (the "
						 "previous holder stops its worker)",
						 lock, LOCK_TAKEOVER_MS);
					util_sleep_ms(LOCK_TAKEOVER_MS, &k->quit);
				}
				log_info(k->name, "lock %s acquired on the destination", lock);
				saw_other = false;
				keeper_set(k, LOCK_HELD, "");
				continue;
			} else if (util_now_mono_ms() - started < LOCK_GRACE_MS) {
				saw_other = true; /* still unknown: try again shortly */
				keeper_sleep(k, 200);
				continue;
			} else {
				saw_other = true;
				keeper_other(k, m, lock, true);
			}
			keeper_sleep(k, k->retry_ms);
			continue;
		}
		keeper_sleep(k, 1000);
		if (held && !atomic_load(&k->want))
			continue;
		if (k->quit)
			break;
		if (keeper_query(val, sizeof(val), m, "IS_USED_LOCK", lock, &err) < 0 ||
		    strcmp(val, "1") != 0) {
			log_warn(k->name, "lost the lock on the destination: %s",
				 err.msg[0] ? err.msg : "not held");
			held = false;
			atomic_store(&k->holder, 0);
			keeper_set(k, LOCK_ERROR, "lost the lock on the destination");
			m->ops->close(m);
			m = NULL;
		}
	}
	if (m) {
		if (held && keeper_query(val, sizeof(val), m, "RELEASE_LOCK", lock, &err) < 0)
			log_warn(k->name, "releasing the lock: %s", err.msg);
		m->ops->close(m);
	}
	keeper_unref(k);
	return NULL;
}

static void keeper_drop(struct task *t, bool wait)
{
	struct keeper *k = t->keeper;

	if (!k)
		return;
	t->keeper = NULL;
	pthread_mutex_lock(&k->mu);
	k->quit = 1;
	pthread_mutex_unlock(&k->mu);
	if (wait)
		(void)pthread_join(k->th, NULL);
	else
		(void)pthread_detach(k->th);
	keeper_unref(k);
}

static void keeper_start(struct task *t)
{
	struct keeper *k;

	if (!t->env->lock) {
		log_error(t->name, "no lock implementation: nothing runs");
		return;
	}
	if (!(k = calloc(1, sizeof(*k))))
		return;
	if (endpoint_dup(&k->ep, &t->spec->destination) < 0) {
		free(k);
		return;
	}
	atomic_init(&k->refs, 2);
	atomic_init(&k->state, LOCK_UNKNOWN);
	atomic_init(&k->fatal, 0);
	atomic_init(&k->holder, 0);
	pthread_mutex_init(&k->mu, NULL);
	snprintf(k->name, sizeof(k->name), "%s", t->name);
	k->retry_ms = t->env->lock_retry_ms > 0 ? t->env->lock_retry_ms : 3000;
	k->ops = t->env->lock;
	k->wake = t->env->wake;
	k->wake_ctx = t->env->ctx;
	atomic_init(&k->want, !t->env->admission || t->admitted);
	atomic_init(&k->poke, 0);
	if (pthread_create(&k->th, NULL, keeper_main, k) != 0) {
		log_error(t->name, "cannot start the lock thread");
		pthread_mutex_destroy(&k->mu);
		endpoint_release(&k->ep);
		free(k);
		return;
	}
	t->keeper = k;
}

static enum lock_state lock_state(const struct task *t, char *msg, size_t msgsz)
{
	struct keeper *k = t->keeper;
	enum lock_state st;

	if (msg && msgsz)
		msg[0] = 0;
	if (!k)
		return LOCK_UNKNOWN;
	st = (enum lock_state)atomic_load(&k->state);
	if (msg) {
		pthread_mutex_lock(&k->mu);
		snprintf(msg, msgsz, "%s", k->msg);
		pthread_mutex_unlock(&k->mu);
	}
	return st;
}

/* --- revisions --- */

void spec_rev_release(struct spec_rev *r)
{
	free(r->file);
	free(r->author);
	memset(r, 0, sizeof(*r));
}

void spec_rev_copy(struct spec_rev *dst, const struct spec_rev *src)
{
	spec_rev_release(dst);
	if (!src)
		return;
	dst->file = src->file ? strdup(src->file) : NULL;
	dst->author = src->author ? strdup(src->author) : NULL;
	memcpy(dst->sha256, src->sha256, sizeof(dst->sha256));
	memcpy(dst->commit, src->commit, sizeof(dst->commit));
	dst->time = src->time;
}

/* --- the record, persisted --- */

static int task_dir(char *out, size_t outsz, const struct task *t, const char *file)
{
	int n = snprintf(out, outsz, "%s/tasks/%s/%s", t->env->state_dir, t->name, file);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int put_line(struct buf *b, const char *key, const char *val)
{
	const char *p;

	if (buf_puts(b, key) < 0 || buf_putc(b, '=') < 0)
		return GW_ENOMEM;
	for (p = val; *p; p++)
		if (buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p) < 0)
			return GW_ENOMEM;
	return buf_putc(b, '\n');
}

/* The revision of the spec, so that a controller started after the file
 * was deleted knows which file it was (and with --git who deleted it). */
static int rev_lines(struct buf *b, const struct spec_rev *r)
{
	if (put_line(b, "rev_file", r->file ? r->file : "") < 0 ||
	    put_line(b, "rev_sha256", r->sha256) < 0 || put_line(b, "rev_commit", r->commit) < 0 ||
	    put_line(b, "rev_author", r->author ? r->author : "") < 0 ||
	    buf_printf(b, "rev_time=%lld\n", (long long)r->time) < 0)
		return GW_ENOMEM;
	return 0;
}

/* Who wrote the task's record ("" when nobody, or a godwit of before the
 * line). */
static void record_writer(char *out, size_t outsz, const struct task *t)
{
	struct buf b = BUF_INIT;
	char path[4096];
	const char *p, *e;

	out[0] = '\0';
	if (!t->env->state_dir || task_dir(path, sizeof(path), t, "record") < 0 ||
	    util_read_file(&b, path) < 0 || !b.len)
		goto out;
	if ((p = strstr(buf_cstr(&b), "\ncontroller=")) || !strncmp(b.ptr, "controller=", 11)) {
		p = p ? p + 12 : b.ptr + 11;
		e = strchr(p, '\n');
		snprintf(out, outsz, "%.*s", (int)(e ? e - p : (ptrdiff_t)strlen(p)), p);
	}
out:
	buf_release(&b);
}

/* What a driver learnt that a record keeps (not the phase and messages of
 * the moment): taken from a record another controller left. */
static void take_knowledge(struct task_record *to, const struct task_record *from)
{
	memcpy(to->precheck_hash, from->precheck_hash, sizeof(to->precheck_hash));
	memcpy(to->whitelist_hash, from->whitelist_hash, sizeof(to->whitelist_hash));
	to->whitelist_added = from->whitelist_added;
	to->verified = from->verified;
	to->incremental_done = from->incremental_done;
	to->incomplete = from->incomplete;
	to->retries_total = from->retries_total;
	to->last_success_ms = from->last_success_ms;
	if (from->created_ms)
		to->created_ms = from->created_ms;
}

/*
 * Whether this controller may write the task's record: it holds the lock
 * (or works without one), or the record is its own, nobody's, or left by a
 * controller that no longer runs. In that last case, without the lock,
 * what that one learnt is taken into this one's record first: this
 * controller has not driven the migration since.
 */
static bool record_mine(struct task *t)
{
	struct task_record r;
	char who[160];

	if (!t->env->use_lock || !t->spec || lock_state(t, NULL, 0) == LOCK_HELD)
		return true;
	record_writer(who, sizeof(who), t);
	if (!who[0] || (t->env->controller_id && !strcmp(who, t->env->controller_id)))
		return true;
	if (t->env->controller_alive && t->env->controller_alive(t->env->ctx, who))
		return false;
	if (task_record_load(&r, t->env->state_dir, t->name) == 0)
		take_knowledge(&t->rec, &r);
	return true;
}

int task_save_record(struct task *t)
{
	const struct task_record *r = &t->rec;
	struct buf b = BUF_INIT;
	char path[4096];
	int rc = GW_ENOMEM;

	if (!t->env->state_dir)
		return 0;
	if (!record_mine(t)) {
		/* another running controller's: it records what it sees */
		t->rec_dirty = false;
		return 0;
	}
	if (task_dir(path, sizeof(path), t, "") < 0 || util_mkdir_p(path, 0755) < 0)
		return GW_EFATAL;
	if (put_line(&b, "phase", phase_name(r->phase)) < 0 ||
	    put_line(&b, "controller", t->env->controller_id ? t->env->controller_id : "") < 0 ||
	    put_line(&b, "precheck_hash", r->precheck_hash) < 0 ||
	    put_line(&b, "whitelist_hash", r->whitelist_hash) < 0 ||
	    put_line(&b, "blocked_hash", r->blocked_hash) < 0 ||
	    put_line(&b, "blocked_phase", phase_name(r->blocked_phase)) < 0 ||
	    buf_printf(&b,
		       "whitelist_added=%d\nverified=%d\nincremental_done=%d\nincomplete=%d\n"
		       "deleted=%d\nretries=%d\nretry_since_ms=%lld\nnext_attempt_ms=%lld\n"
		       "retries_total=%llu\nlast_success_ms=%lld\ncreated_ms=%lld\n",
		       r->whitelist_added, r->verified, r->incremental_done, r->incomplete,
		       r->deleted, r->retries, (long long)r->retry_since_ms,
		       (long long)r->next_attempt_ms, (unsigned long long)r->retries_total,
		       (long long)r->last_success_ms, (long long)r->created_ms) < 0 ||
	    put_line(&b, "message", r->message) < 0 || put_line(&b, "warning", r->warning) < 0 ||
	    rev_lines(&b, t->rev.file ? &t->rev : &t->attempted) < 0)
		goto out;
	if (task_dir(path, sizeof(path), t, "record") < 0)
		goto out;
	rc = util_write_file_atomic(path, b.ptr, b.len) < 0 ? GW_EFATAL : 0;
	if (rc == 0)
		t->rec_dirty = false;
out:
	buf_release(&b);
	return rc;
}

static void copy_field(char *dst, size_t dstsz, const char *v)
{
	snprintf(dst, dstsz, "%s", v);
}

int task_record_load(struct task_record *r, const char *state_dir, const char *name)
{
	struct buf b = BUF_INIT;
	char path[4096], *line, *next, *eq;
	int64_t n;
	int rc = GW_ENOTFOUND, len;

	task_record_init(r);
	len = snprintf(path, sizeof(path), "%s/tasks/%s/record", state_dir ? state_dir : "", name);
	if (!state_dir || len < 0 || (size_t)len >= sizeof(path) || util_read_file(&b, path) < 0 ||
	    !b.len)
		goto out;
	rc = 0;
	for (line = b.ptr; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!(eq = strchr(line, '=')))
			continue;
		*eq++ = 0;
		n = strtoll(eq, NULL, 10);
		if (!strcmp(line, "phase") && phase_parse(eq) >= 0)
			r->phase = (enum phase)phase_parse(eq);
		else if (!strcmp(line, "precheck_hash"))
			copy_field(r->precheck_hash, sizeof(r->precheck_hash), eq);
		else if (!strcmp(line, "whitelist_hash"))
			copy_field(r->whitelist_hash, sizeof(r->whitelist_hash), eq);
		else if (!strcmp(line, "blocked_hash"))
			copy_field(r->blocked_hash, sizeof(r->blocked_hash), eq);
		else if (!strcmp(line, "blocked_phase") && phase_parse(eq) >= 0)
			r->blocked_phase = (enum phase)phase_parse(eq);
		else if (!strcmp(line, "whitelist_added"))
			r->whitelist_added = n != 0;
		else if (!strcmp(line, "verified"))
			r->verified = n != 0;
		else if (!strcmp(line, "incremental_done"))
			r->incremental_done = n != 0;
		else if (!strcmp(line, "incomplete"))
			r->incomplete = n != 0;
		else if (!strcmp(line, "deleted"))
			r->deleted = n != 0;
		else if (!strcmp(line, "retries"))
			r->retries = (int)n;
		else if (!strcmp(line, "retry_since_ms"))
			r->retry_since_ms = n;
		else if (!strcmp(line, "next_attempt_ms"))
			r->next_attempt_ms = n;
		else if (!strcmp(line, "retries_total"))
			r->retries_total = (uint64_t)n;
		else if (!strcmp(line, "last_success_ms"))
			r->last_success_ms = n;
		else if (!strcmp(line, "created_ms"))
			r->created_ms = n;
		else if (!strcmp(line, "message"))
			copy_field(r->message, sizeof(r->message), eq);
		else if (!strcmp(line, "warning"))
			copy_field(r->warning, sizeof(r->warning), eq);
	}
	/* Active phases are re-derived from the destination. */
	if (!phase_steady(r->phase) || r->phase == PH_INCREMENTAL)
		r->phase = PH_PENDING;
	if (r->blocked_hash[0] && r->blocked_phase != PH_FAILED &&
	    r->blocked_phase != PH_PRECHECK_FAILED)
		r->blocked_hash[0] = 0;
out:
	buf_release(&b);
	return rc;
}

static void save_spec(struct task *t)
{
	char path[4096];

	if (t->spec_saved || !t->env->state_dir || !t->spec_bytes)
		return;
	if (task_dir(path, sizeof(path), t, "") < 0 || util_mkdir_p(path, 0755) < 0 ||
	    task_dir(path, sizeof(path), t, "spec.yaml") < 0)
		return;
	if (util_write_file_atomic(path, t->spec_bytes, t->spec_len) == 0)
		t->spec_saved = true;
}

/* The spec this controller last acted on, for SpecImmutable after a
 * restart; NULL when there is none or it does not match immutable_hash
 * (NULL: any). */
static struct spec *load_saved_spec(struct task *t, const char *immutable_hash, char **bytes_out,
				    size_t *len_out)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct buf b = BUF_INIT;
	struct spec *s = NULL;
	char path[4096];

	*bytes_out = NULL;
	if (!t->env->state_dir || task_dir(path, sizeof(path), t, "spec.yaml") < 0 ||
	    util_read_file(&b, path) < 0 || !b.len)
		goto out;
	if (spec_load_buffer(&s, path, b.ptr, b.len, &d) < 0) {
		s = NULL;
		goto out;
	}
	if (immutable_hash && strcmp(s->immutable_hash, immutable_hash) != 0) {
		spec_free(s);
		s = NULL;
		goto out;
	}
	*bytes_out = buf_detach(&b, len_out);
out:
	diag_list_release(&d);
	buf_release(&b);
	return s;
}

/* --- lifecycle --- */

static const char *const cond_types[TASK_NCOND] = {
    "Ready",  "Reconciling", "Stalled",	 "SpecImmutable", "DestinationIncomplete",
    "Locked", "NotDelayed",  "Conflict",
};

int task_new(struct task **out, const char *name, const struct task_env *env, int64_t now_ms)
{
	struct task *t = calloc(1, sizeof(*t));
	size_t i;

	*out = NULL;
	if (!t)
		return GW_ENOMEM;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->env = env;
	t->created_ms = now_ms;
	t->rng = (uint32_t)now_ms ^ 0x9e3779b9u;
	for (i = 0; name[i]; i++)
		t->rng = t->rng * 31 + (unsigned char)name[i];
	task_record_init(&t->rec);
	atomic_init(&t->worker_done, 0);
	progress_init(&t->progress);
	for (i = 0; i < TASK_NCOND; i++)
		t->conds[i].type = cond_types[i];
	(void)task_record_load(&t->rec, env->state_dir, t->name);
	if (!t->rec.created_ms)
		t->rec.created_ms = now_ms;
	*out = t;
	return 0;
}

static void retire(struct task *t, struct spec *s)
{
	struct spec **n;

	if (!s)
		return;
	if (!t->worker_live || t->job_spec != s) {
		spec_free(s);
		return;
	}
	n = realloc(t->retired, (t->nretired + 1) * sizeof(*n));
	if (!n) {
		/* leak rather than free under a running worker */
		return;
	}
	t->retired = n;
	t->retired[t->nretired++] = s;
}

static void free_retired(struct task *t)
{
	size_t i;

	for (i = 0; i < t->nretired; i++)
		spec_free(t->retired[i]);
	free(t->retired);
	t->retired = NULL;
	t->nretired = 0;
}

static void set_bytes(struct task *t, const char *bytes, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, bytes, len);
	copy[len] = 0;
	free(t->spec_bytes);
	t->spec_bytes = copy;
	t->spec_len = len;
	t->spec_saved = false;
}

static void set_pending(struct task *t, struct spec *s, const char *bytes, size_t len)
{
	char *copy = malloc(len + 1);

	spec_free(t->pending);
	free(t->pending_bytes);
	t->pending = s;
	t->pending_bytes = copy;
	t->pending_len = copy ? len : 0;
	if (copy) {
		memcpy(copy, bytes, len);
		copy[len] = 0;
	}
}

static bool rev_same(const struct spec_rev *a, const struct spec_rev *b)
{
	return !strcmp(a->sha256, b->sha256) && !strcmp(a->commit, b->commit) &&
	       !strcmp(a->file ? a->file : "", b->file ? b->file : "");
}

/* A spec (valid or not) is there: the task is alive again, and the record
 * knows its file. */
static void spec_seen(struct task *t, const struct spec_rev *rev)
{
	bool save = t->rec.deleted || !rev_same(&t->attempted, rev);
	char path[4096];

	t->rec.deleted = false;
	t->dormant = false;
	spec_rev_copy(&t->attempted, rev);
	/* only a record kept already (one that does not drive the migration
	 * writes nothing: the driver's records it), and only when it is this
	 * controller's to write (task_save_record), now or at a later tick */
	if (save && t->env->state_dir && task_dir(path, sizeof(path), t, "record") == 0 &&
	    access(path, F_OK) == 0) {
		t->rec_dirty = true;
		(void)task_save_record(t);
	}
}

/*
 * A lock just taken over: another controller sharing the state directory
 * may have driven the migration, and what it learnt (precheck passed,
 * whitelist added, the gated stop done, retries) is in the record it
 * left, not in this controller's memory of the task, which may be days
 * old. Read it then, before acting.
 */
static void adopt_record(struct task *t)
{
	bool held = t->keeper && lock_state(t, NULL, 0) == LOCK_HELD;
	struct task_record r;
	char who[160];

	if (held && !t->held_before)
		t->adopt = true;
	t->held_before = held;
	if (!held)
		t->adopt = false;
	if (!t->adopt || t->worker_live)
		return;
	t->adopt = false;
	record_writer(who, sizeof(who), t);
	if (!who[0] || !t->env->controller_id || !strcmp(who, t->env->controller_id) ||
	    task_record_load(&r, t->env->state_dir, t->name) < 0)
		return;
	if (strcmp(r.precheck_hash, t->rec.precheck_hash) ||
	    r.whitelist_added != t->rec.whitelist_added || r.verified != t->rec.verified ||
	    r.incremental_done != t->rec.incremental_done || r.phase != t->rec.phase)
		log_info(t->name, "taking up the record %s left", who);
	if (!t->deleted)
		r.deleted = false;
	if (!r.created_ms)
		r.created_ms = t->rec.created_ms;
	t->rec = r;
	t->rec_dirty = true;
}

int task_restore(struct task *t)
{
	struct buf b = BUF_INIT;
	char path[4096], *line, *next, *eq;
	int rc = GW_ENOTFOUND;

	if (!t->env->state_dir || task_dir(path, sizeof(path), t, "record") < 0 ||
	    util_read_file(&b, path) < 0 || !b.len)
		goto out;
	/* records written before the flag existed */
	if (t->rec.deleted || (t->rec.phase == PH_STOPPED &&
			       !strncmp(t->rec.message, "spec deleted", strlen("spec deleted"))))
		goto out;
	spec_rev_release(&t->rev);
	for (line = b.ptr; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!(eq = strchr(line, '=')))
			continue;
		*eq++ = 0;
		if (!strcmp(line, "rev_file") && *eq)
			t->rev.file = strdup(eq);
		else if (!strcmp(line, "rev_author") && *eq)
			t->rev.author = strdup(eq);
		else if (!strcmp(line, "rev_sha256"))
			copy_field(t->rev.sha256, sizeof(t->rev.sha256), eq);
		else if (!strcmp(line, "rev_commit"))
			copy_field(t->rev.commit, sizeof(t->rev.commit), eq);
		else if (!strcmp(line, "rev_time"))
			t->rev.time = strtoll(eq, NULL, 10);
	}
	spec_rev_copy(&t->attempted, &t->rev);
	if (!t->spec && (t->spec = load_saved_spec(t, NULL, &t->spec_bytes, &t->spec_len)))
		t->spec_saved = true;
	t->dormant = true;
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

void task_set_spec(struct task *t, struct spec *s, const char *bytes, size_t len,
		   const struct spec_rev *rev)
{
	bool dest_changed;
	struct spec *saved;
	char *saved_bytes = NULL;
	size_t saved_len = 0;

	spec_seen(t, rev);
	t->invalid = false;
	t->invalid_msg[0] = 0;
	t->deleted = false;
	if (t->probing) {
		set_pending(t, s, bytes, len);
		return;
	}
	if (!t->spec && (saved = load_saved_spec(t, NULL, &saved_bytes, &saved_len)) != NULL) {
		if (strcmp(saved->immutable_hash, s->immutable_hash) != 0) {
			/* Changed while no controller watched: look at the
			 * destination the task used before deciding. */
			t->spec = saved;
			t->spec_bytes = saved_bytes;
			t->spec_len = saved_len;
			t->spec_saved = true;
			t->probing = true;
			set_pending(t, s, bytes, len);
			spec_rev_copy(&t->rev, rev);
			return;
		}
		spec_free(saved);
		free(saved_bytes);
	}
	if (t->spec && !strcmp(t->spec->hash, s->hash)) {
		spec_free(s);
		spec_free(t->pending);
		t->pending = NULL;
		t->spec_immutable = false;
		spec_rev_copy(&t->rev, rev);
		return;
	}
	if (t->stage_known && machine_spec_immutable(t->stage, t->meta_hash, s) && t->spec &&
	    !machine_spec_immutable(t->stage, t->meta_hash, t->spec)) {
		set_pending(t, s, bytes, len);
		t->spec_immutable = true;
		snprintf(t->immutable_msg, sizeof(t->immutable_msg),
			 "source, destination, objects and migrationTypes cannot change after "
			 "data moved; going on with the previous spec (restore it, or delete "
			 "the migration and create it under another name)");
		log_warn(t->name, "%s", t->immutable_msg);
		return;
	}
	dest_changed = !t->spec || strcmp(t->spec->immutable_hash, s->immutable_hash) != 0;
	set_pending(t, NULL, "", 0);
	t->spec_immutable = false;
	retire(t, t->spec);
	t->spec = s;
	set_bytes(t, bytes, len);
	spec_rev_copy(&t->rev, rev);
	if (dest_changed) {
		/* another destination: the stage must be read there */
		t->stage_known = false;
		keeper_drop(t, false);
	}
}

void task_set_orphan(struct task *t, struct spec *s, const struct spec_rev *rev)
{
	retire(t, t->spec);
	t->spec = s;
	t->spec_saved = true; /* not its own spec: never written as spec.yaml */
	spec_rev_copy(&t->rev, rev);
	spec_rev_copy(&t->attempted, rev);
	t->deleted = true;
}

void task_set_invalid(struct task *t, const char *msg, const struct spec_rev *rev)
{
	spec_seen(t, rev);
	t->invalid = true;
	t->deleted = false;
	snprintf(t->invalid_msg, sizeof(t->invalid_msg), "%s", msg);
}

void task_set_deleted(struct task *t)
{
	t->deleted = true;
}

void task_admit(struct task *t, bool yes)
{
	if (t->admitted == yes)
		return;
	t->admitted = yes;
	if (t->keeper) {
		atomic_store(&t->keeper->want, yes);
		atomic_store(&t->keeper->poke, 1);
	}
}

enum lock_state task_lock_state(const struct task *t)
{
	return lock_state(t, NULL, 0);
}

bool task_parkable(const struct task *t)
{
	return t->spec && !t->deleted && !t->invalid && !t->conflict && !t->worker_live &&
	       t->stage_known && !t->spec_immutable &&
	       (t->rec.phase == PH_COMPLETED ||
		(t->rec.phase == PH_STOPPED && t->spec->state == STATE_STOPPED)) &&
	       lock_state(t, NULL, 0) == LOCK_HELD;
}

void task_park(struct task *t)
{
	snprintf(t->parked_hash, sizeof(t->parked_hash), "%s", t->spec->hash);
	log_info(t->name, "%s: letting its lock go to another migration (--max-migrations)",
		 phase_name(t->rec.phase));
	task_admit(t, false);
}

bool task_wants_slot(const struct task *t)
{
	if (!t->spec || t->invalid || t->finished || (t->dormant && !t->deleted))
		return false;
	if (t->deleted)
		return true;
	if (t->conflict || (t->parked_hash[0] && !strcmp(t->parked_hash, t->spec->hash)))
		return false;
	return lock_state(t, NULL, 0) != LOCK_OTHER;
}

void task_set_conflict(struct task *t, const char *msg)
{
	if (!msg) {
		if (t->conflict)
			log_info(t->name, "the conflict is gone: going on");
		t->conflict = false;
		t->conflict_msg[0] = 0;
		return;
	}
	if (!t->conflict || strcmp(t->conflict_msg, msg))
		log_warn(t->name, "refused: %s", msg);
	t->conflict = true;
	snprintf(t->conflict_msg, sizeof(t->conflict_msg), "%s", msg);
}

bool task_busy(const struct task *t)
{
	return t->worker_live;
}

void task_cancel(struct task *t)
{
	t->cancel = 1;
	t->draining = true;
}

bool task_owned(const struct task *t)
{
	if (!t->env->use_lock || !t->spec)
		return true;
	return lock_state(t, NULL, 0) == LOCK_HELD;
}

bool task_reports(const struct task *t)
{
	enum lock_state ls;

	if (!t->env->use_lock || !t->spec || (t->conflict && !t->deleted))
		return true; /* a conflict is the spec source's: every controller sees it */
	ls = lock_state(t, NULL, 0);
	/* LOCK_FREE: nobody drives it; this controller says why it waits */
	return ls == LOCK_HELD || ls == LOCK_ERROR || ls == LOCK_FREE ||
	       (t->parked_hash[0] && t->spec && !strcmp(t->parked_hash, t->spec->hash));
}

bool task_steady(const struct task *t)
{
	if (t->dormant && !t->deleted)
		return true; /* nothing to do until the controller decides */
	if (t->conflict && !t->deleted && !t->invalid)
		return !t->worker_live; /* a person must act */
	if (t->worker_live && t->running != MA_INCREMENTAL)
		return false;
	if (t->env->use_lock && t->spec && lock_state(t, NULL, 0) == LOCK_OTHER)
		return true; /* another controller drives it */
	if (!task_reports(t))
		return false; /* taking the lock */
	/* held: SpecImmutable without the previous spec; a person must act */
	if (t->spec_immutable && !t->pending && !t->worker_live)
		return true;
	/* A phase from the record is not trusted before the destination was
	 * read in this process. Failed and PrecheckFailed wait for an edit:
	 * they stand for the spec they failed with, not for one edited since;
	 * Invalid stands only while the spec is. (Until the machine has seen
	 * the spec, the recorded phase is a previous run's: a spec fixed
	 * while no controller ran must not end --once as Invalid.) */
	if (t->spec && !t->invalid && !t->deleted && !t->stage_known &&
	    (!phase_is_error(t->rec.phase) || t->rec.phase == PH_INVALID ||
	     strcmp(t->rec.blocked_hash, t->spec->hash)))
		return false;
	if (t->rec.phase == PH_INCREMENTAL)
		return t->running == MA_INCREMENTAL && atomic_load(&t->progress.caught_up) &&
		       atomic_load(&t->progress.delay_seconds) <= 0;
	return phase_steady(t->rec.phase);
}

/* --- the worker --- */

static void *worker_main(void *arg)
{
	struct task *t = arg;
	const struct task_env *env = t->env;
	const struct actions *acts = env->actions;
	struct spec *s = t->job_spec;
	struct action_io *io = &t->io;
	enum meta_stage st = META_NONE, target;
	char hash[65] = "";
	int r;

	r = env->observe(&st, hash, s, &io->err);
	if (r == 0) {
		t->job_stage_known = true;
		t->job_stage = st;
		memcpy(t->job_meta_hash, hash, sizeof(hash));
	}
	if (r < 0 || t->running == MA_OBSERVE)
		goto out;
	if (t->cancel) {
		r = GW_ECANCEL;
		goto out;
	}
	switch (t->running) {
	case MA_PRECHECK: r = acts->precheck(io, &t->ps); break;
	case MA_WHITELIST_ADD: r = acts->whitelist(io, 1); break;
	case MA_WHITELIST_REMOVE: r = acts->whitelist(io, 0); break;
	case MA_SCHEMA_CREATE: r = acts->schema(io, SCHEMA_CREATE); break;
	case MA_SCHEMA_AFTER_FULL: r = acts->schema(io, SCHEMA_AFTER_FULL); break;
	case MA_SCHEMA_CUTOVER: r = acts->schema(io, SCHEMA_CUTOVER); break;
	case MA_FULL: r = acts->full(io); break;
	case MA_INCREMENTAL: r = acts->incremental(io); break;
	case MA_VERIFY: r = acts->verify(io); break;
	default: r = err_set(&io->err, GW_EFATAL, "unknown action"); break;
	}
	if (r == 0 && (target = mact_stage(t->running, s)) != META_NONE && target > st) {
		if ((r = env->record_stage(s, target, &io->err)) == 0) {
			t->job_stage_known = true;
			t->job_stage = target;
			snprintf(t->job_meta_hash, sizeof(t->job_meta_hash), "%s",
				 s->immutable_hash);
		} else {
			err_prefix(&io->err, "recording stage %s", meta_stage_name(target));
		}
	}
out:
	if (r < 0 && !io->err.msg[0])
		err_set(&io->err, r, "%s", err_code_name(r));
	t->job_result = r;
	atomic_store(&t->worker_done, 1);
	/* env outlives the task; the task may be collected from here on */
	if (env->wake)
		env->wake(env->ctx);
	return NULL;
}

static uint64_t progress_mark(struct progress *p)
{
	return atomic_load(&p->rows_done) + atomic_load(&p->events_applied) +
	       atomic_load(&p->txns_applied);
}

static void start_job(struct task *t, enum mact a, bool stop, int64_t now_ms)
{
	struct action_io *io = &t->io;

	t->cancel = 0;
	t->stop_requested = stop;
	t->running = a;
	snprintf(t->running_hash, sizeof(t->running_hash), "%s", t->spec->hash);
	t->job_spec = t->spec;
	t->job_stage_known = false;
	t->job_result = 0;
	memset(&t->ps, 0, sizeof(t->ps));
	buf_release(&io->report);
	memset(io, 0, sizeof(*io));
	io->spec = t->spec;
	io->task = t->name;
	io->state_dir = t->env->state_dir;
	io->cancel = &t->cancel;
	io->stop_requested = &t->stop_requested;
	io->progress = &t->progress;
	io->lock_holder = t->keeper && t->env->use_lock ? atomic_load(&t->keeper->holder) : 0;
	if (a == MA_FULL || a == MA_INCREMENTAL || a == MA_VERIFY)
		progress_reset(&t->progress);
	atomic_store(&t->progress.started_mono_ms, util_now_mono_ms());
	atomic_store(&t->worker_done, 0);
	t->running_since_ms = now_ms;
	t->running_mark = progress_mark(&t->progress);
	if (a != MA_OBSERVE && t->env->audit)
		t->env->audit(t->env->ctx, t, a, "start", 0, NULL);
	if (a != MA_OBSERVE)
		log_info(t->name, "%s: start", mact_name(a));
	if (pthread_create(&t->worker, NULL, worker_main, t) != 0) {
		err_set(&io->err, GW_ERETRY, "cannot start a worker thread: %s", strerror(errno));
		t->job_result = GW_ERETRY;
		atomic_store(&t->worker_done, 1);
		t->worker_live = false;
		return;
	}
	t->worker_live = true;
}

static void collect(struct task *t, struct machine_in *in)
{
	enum mact a = t->running;

	if (t->worker_live)
		(void)pthread_join(t->worker, NULL);
	t->worker_live = false;
	free_retired(t);
	if (t->job_stage_known) {
		t->stage_known = true;
		t->stage = t->job_stage;
		memcpy(t->meta_hash, t->job_meta_hash, sizeof(t->meta_hash));
	} else if (t->job_result < 0 && t->job_result != GW_ECANCEL) {
		t->stage_known = false;
	}
	if (a == MA_FULL) {
		t->full_rows_done = atomic_load(&t->progress.rows_done);
		t->full_rows_total = atomic_load(&t->progress.rows_total);
	}
	in->done = a;
	in->result = t->job_result;
	in->error = t->io.err.msg;
	in->warning = t->io.warning;
	in->precheck_failed = t->ps.failed;
	in->precheck_whitelisted = t->ps.whitelist_added;
	if (a == MA_PRECHECK && (t->job_result == 0 || t->io.report.len)) {
		buf_reset(&t->precheck_report);
		if (buf_add(&t->precheck_report, t->io.report.ptr ? t->io.report.ptr : "",
			    t->io.report.len) < 0)
			buf_reset(&t->precheck_report);
		t->last_ps = t->ps;
		t->precheck_time = util_now_ms() / 1000;
	} else if (a != MA_OBSERVE && t->io.report.len) {
		if (a == MA_VERIFY) {
			buf_reset(&t->verify_report);
			if (buf_add(&t->verify_report, t->io.report.ptr, t->io.report.len) < 0)
				buf_reset(&t->verify_report);
		}
		buf_reset(&t->last_report);
		if (buf_add(&t->last_report, t->io.report.ptr, t->io.report.len) < 0)
			buf_reset(&t->last_report);
	}
	if (a != MA_OBSERVE) {
		if (t->env->audit)
			t->env->audit(t->env->ctx, t, a, "end", t->job_result,
				      t->job_result < 0 ? t->io.err.msg : NULL);
		if (t->job_result == GW_ENOTFOUND &&
		    (a == MA_WHITELIST_ADD || a == MA_WHITELIST_REMOVE))
			log_debug(t->name, "%s: not applicable", mact_name(a));
		else if (t->job_result < 0 && t->job_result != GW_ECANCEL)
			log_warn(t->name, "%s: %s", mact_name(a), t->io.err.msg);
		else
			log_info(t->name, "%s: %s", mact_name(a),
				 t->job_result == 0 ? "done" : "cancelled");
	} else if (t->job_result < 0) {
		log_warn(t->name, "reading the destination: %s", t->io.err.msg);
	}
	t->running = MA_NONE;
}

static void cond_set(struct task *t, int i, bool status, const char *reason, const char *msg,
		     int64_t now_s)
{
	struct condition *c = &t->conds[i];

	if (c->status != status || !c->last_transition)
		c->last_transition = now_s;
	c->status = status;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	snprintf(c->message, sizeof(c->message), "%s", msg ? msg : "");
}

static void update_conditions(struct task *t, int64_t now_ms)
{
	enum phase p = t->rec.phase;
	int64_t now_s = now_ms / 1000;
	char lmsg[512];
	enum lock_state ls;

	cond_set(t, 0, p == PH_COMPLETED || p == PH_STOPPED || p == PH_INCREMENTAL, phase_name(p),
		 t->rec.message, now_s);
	cond_set(t, 1, !phase_steady(p) || t->worker_live,
		 t->worker_live ? "ActionRunning" : "Idle",
		 t->worker_live ? mact_name(t->running) : NULL, now_s);
	cond_set(t, 2, phase_is_error(p), phase_is_error(p) ? phase_name(p) : "None",
		 phase_is_error(p) ? t->rec.message : NULL, now_s);
	cond_set(t, 3, t->spec_immutable, t->spec_immutable ? "SpecImmutable" : "None",
		 t->spec_immutable ? t->immutable_msg : NULL, now_s);
	cond_set(t, 4, t->rec.incomplete, t->rec.incomplete ? "StoppedDuringCopy" : "None",
		 t->rec.incomplete ? "the full copy did not finish: the destination is incomplete"
				   : NULL,
		 now_s);
	if (t->env->use_lock && t->spec) {
		ls = lock_state(t, lmsg, sizeof(lmsg));
		bool parked = t->parked_hash[0] && !strcmp(t->parked_hash, t->spec->hash);

		cond_set(t, 5, ls == LOCK_HELD,
			 ls == LOCK_HELD    ? "LockHeld"
			 : ls == LOCK_OTHER ? "HeldByAnother"
			 : ls == LOCK_ERROR ? "LockError"
			 : parked	    ? "Released"
			 : ls == LOCK_FREE  ? "WaitingForRoom"
					    : "Acquiring",
			 parked ? "converged: the lock went back for another migration" : lmsg,
			 now_s);
	} else {
		cond_set(t, 5, true, "NoLock", NULL, now_s);
	}
	/* "The migration task is not delayed": what a gated stop waits for. */
	if (t->worker_live && t->running == MA_INCREMENTAL && t->spec) {
		bool live = !atomic_load(&t->worker_done);
		int64_t d = progress_delay(&t->progress, now_ms / 1000, live);
		int64_t max_s = t->spec->stop_max_delay_ms / 1000;

		snprintf(lmsg, sizeof(lmsg), "delay %llds, stop.maxDelay %llds", (long long)d,
			 (long long)max_s);
		cond_set(t, 6, d >= 0 && d <= max_s,
			 d < 0	      ? "Starting"
			 : d <= max_s ? "CaughtUp"
				      : "Delayed",
			 lmsg, now_s);
	} else {
		cond_set(t, 6, false, "NotStreaming", NULL, now_s);
	}
	cond_set(t, 7, t->conflict, t->conflict ? "Conflict" : "None",
		 t->conflict ? t->conflict_msg : NULL, now_s);
}

static void resolve_immutable(struct task *t)
{
	struct spec *old;
	char *bytes = NULL;
	size_t len = 0;

	if (t->probing && t->stage_known && !t->worker_live) {
		t->probing = false;
		if (t->stage == META_NONE) {
			/* nothing moved there: the new spec is free to apply */
			retire(t, t->spec);
			t->spec = t->pending;
			free(t->spec_bytes);
			t->spec_bytes = t->pending_bytes;
			t->spec_len = t->pending_len;
			t->pending = NULL;
			t->pending_bytes = NULL;
			t->pending_len = 0;
			t->spec_saved = false;
			t->stage_known = false;
			keeper_drop(t, false);
			return;
		}
		t->spec_immutable = true;
		snprintf(t->immutable_msg, sizeof(t->immutable_msg),
			 "source, destination, objects and migrationTypes cannot change after "
			 "data moved; going on with the previous spec (restore it, or delete "
			 "the migration and create it under another name)");
		log_warn(t->name, "%s", t->immutable_msg);
		return;
	}
	if (t->probing || t->worker_live)
		return;

	if (!t->spec || !t->stage_known || !machine_spec_immutable(t->stage, t->meta_hash, t->spec))
		return;
	/* After a restart: the spec on disk changed while this controller was
	 * away. Go on with the one it acted on, if it kept it. */
	old = load_saved_spec(t, t->meta_hash, &bytes, &len);
	t->spec_immutable = true;
	snprintf(t->immutable_msg, sizeof(t->immutable_msg),
		 "source, destination, objects and migrationTypes cannot change after data "
		 "moved; %s",
		 old ? "going on with the previous spec (restore it, or delete the migration "
		       "and create it under another name)"
		     : "the previous spec is not known here: restore it");
	if (!old)
		return;
	set_pending(t, t->spec, t->spec_bytes ? t->spec_bytes : "",
		    t->spec_bytes ? t->spec_len : 0);
	t->spec = old;
	free(t->spec_bytes);
	t->spec_bytes = bytes;
	t->spec_len = len;
	t->spec_saved = true;
	log_warn(t->name, "%s", t->immutable_msg);
}

/* The record changed from before: a new phase logged and told, the record
 * saved. */
static void record_changed(struct task *t, const struct task_record *before)
{
	if (before->phase != t->rec.phase) {
		log_info(t->name, "phase %s -> %s: %s", phase_name(before->phase),
			 phase_name(t->rec.phase), t->rec.message);
		if (t->env->phase_changed)
			t->env->phase_changed(t->env->ctx, t, before->phase, t->rec.phase);
	}
	if (memcmp(before, &t->rec, sizeof(*before)) != 0)
		(void)task_save_record(t);
}

/* The destination cannot be reached to take the lock: a lost connection
 * like any other, Retrying within retryWindow, then Failed. */
static void lock_unreachable(struct task *t, int64_t now_ms)
{
	struct task_record before = t->rec;
	char msg[512];

	if (t->rec.blocked_hash[0] && !strcmp(t->rec.blocked_hash, t->spec->hash))
		return;
	(void)lock_state(t, msg, sizeof(msg));
	if (!t->rec.retry_since_ms)
		t->rec.retry_since_ms = now_ms;
	if (t->keeper && atomic_load(&t->keeper->fatal)) {
		/* Access denied and the like: waiting does not fix them. */
		t->rec.phase = PH_FAILED;
		snprintf(t->rec.blocked_hash, sizeof(t->rec.blocked_hash), "%s", t->spec->hash);
		snprintf(t->rec.message, sizeof(t->rec.message),
			 "taking the lock on the destination: %s", msg);
	} else if (now_ms - t->rec.retry_since_ms > t->spec->retry_window_ms) {
		t->rec.phase = PH_FAILED;
		snprintf(t->rec.blocked_hash, sizeof(t->rec.blocked_hash), "%s", t->spec->hash);
		snprintf(t->rec.message, sizeof(t->rec.message),
			 "destination unreachable for longer than retryWindow: %s", msg);
	} else {
		t->rec.phase = PH_RETRYING;
		snprintf(t->rec.message, sizeof(t->rec.message), "taking the lock: %s", msg);
	}
	record_changed(t, &before);
}

/*
 * A deleted spec whose lock this controller does not get: another
 * controller drives the migration and carries the deletion out itself,
 * or the destination cannot be reached (the whitelist entries, if any,
 * stay: nothing can be checked). Either way it is done here; the record
 * says so, so that a later scan does not take it up again.
 */
static void deleted_unlocked(struct task *t, enum lock_state ls, int64_t now_ms)
{
	struct task_record before = t->rec;

	t->rec.deleted = true;
	if (ls == LOCK_ERROR) {
		t->rec.phase = PH_STOPPED;
		snprintf(t->rec.message, sizeof(t->rec.message),
			 "spec deleted: stopped; the destination could not be reached%s; data kept",
			 t->rec.whitelist_added ? " (whitelist entries not removed)" : "");
		if (before.phase != t->rec.phase && t->env->phase_changed)
			t->env->phase_changed(t->env->ctx, t, before.phase, t->rec.phase);
		/* carried out here; with LOCK_OTHER the driver does it */
		if (!before.deleted && t->env->deleted)
			t->env->deleted(t->env->ctx, t);
	}
	t->finished = true;
	(void)now_ms;
	if (memcmp(&before, &t->rec, sizeof(before)) != 0 || t->rec_dirty)
		(void)task_save_record(t);
}

/*
 * A deleted spec whose destination cannot be reached to take the lock:
 * stopping it (its whitelist entries taken back, the stop recorded) waits
 * for the destination like any lost connection, Retrying within
 * retryWindow; true while it does. Past the window, or for an error that
 * waiting does not fix (access denied), false: deleted_unlocked() ends it.
 */
static bool deleted_retrying(struct task *t, int64_t now_ms)
{
	struct task_record before = t->rec;
	char msg[400];

	if (!t->spec || (t->keeper && atomic_load(&t->keeper->fatal)))
		return false;
	if (!t->rec.retry_since_ms)
		t->rec.retry_since_ms = now_ms;
	if (now_ms - t->rec.retry_since_ms > t->spec->retry_window_ms)
		return false;
	(void)lock_state(t, msg, sizeof(msg));
	t->rec.phase = PH_RETRYING;
	snprintf(t->rec.message, sizeof(t->rec.message),
		 "spec deleted: stopping once the destination can be reached (taking the lock: %s)",
		 msg);
	record_changed(t, &before);
	return true;
}

/* Refused for a conflict: the running action (if any) is cancelled and
 * collected, the lock let go (another controller may drive the earlier
 * spec's migration), nothing starts. */
static void conflict_hold(struct task *t, int64_t now_ms)
{
	struct task_record before = t->rec;
	struct machine_in in;

	if (t->worker_live) {
		t->cancel = 1;
		if (!atomic_load(&t->worker_done)) {
			update_conditions(t, now_ms);
			return;
		}
		memset(&in, 0, sizeof(in));
		collect(t, &in);
	}
	keeper_drop(t, false);
	if (t->rec.phase != PH_PENDING && !phase_steady(t->rec.phase))
		t->rec.phase = PH_PENDING;
	snprintf(t->rec.message, sizeof(t->rec.message), "refused: %s", t->conflict_msg);
	record_changed(t, &before);
	update_conditions(t, now_ms);
}

void task_tick(struct task *t, int64_t now_ms)
{
	struct machine_in in;
	struct machine_out out;
	struct task_record before = t->rec;
	enum lock_state ls = LOCK_HELD;
	bool collected = false;

	if (t->finished)
		return;
	if (t->dormant && !t->deleted)
		return;
	if (t->conflict && !t->deleted && !t->invalid) {
		conflict_hold(t, now_ms);
		return;
	}
	adopt_record(t);
	before = t->rec;
	memset(&in, 0, sizeof(in));
	if (t->worker_live && atomic_load(&t->worker_done)) {
		collect(t, &in);
		collected = true;
	}
	if (t->env->use_lock && t->spec) {
		if (!t->keeper)
			keeper_start(t);
		ls = lock_state(t, NULL, 0);
		if (t->env->admission && !t->admitted && !t->deleted && ls == LOCK_HELD)
			ls = LOCK_UNKNOWN; /* being let go: nothing starts */
		if (ls != LOCK_HELD) {
			/* not ours (or not yet, or lost): nothing runs */
			if (t->worker_live)
				t->cancel = 1;
			if (ls == LOCK_ERROR && !t->deleted && !t->invalid)
				lock_unreachable(t, now_ms);
			if (t->deleted && !t->worker_live &&
			    (ls == LOCK_OTHER ||
			     (ls == LOCK_ERROR && !deleted_retrying(t, now_ms))))
				deleted_unlocked(t, ls, now_ms);
			if (collected || t->rec_dirty)
				(void)task_save_record(t);
			update_conditions(t, now_ms);
			return;
		}
	}
	/* a deleted spec applies nothing: whether it could is moot */
	if (!t->deleted)
		resolve_immutable(t);
	if (!t->deleted && t->spec_immutable && t->pending == NULL && t->spec &&
	    machine_spec_immutable(t->stage, t->meta_hash, t->spec)) {
		/* no spec to go on with: hold */
		if (t->worker_live)
			t->cancel = 1;
		update_conditions(t, now_ms);
		return;
	}
	if (t->spec && !t->spec_immutable && t->stage_known)
		save_spec(t);

	in.spec = t->spec;
	in.invalid = t->invalid || !t->spec;
	in.invalid_msg = t->invalid_msg[0] ? t->invalid_msg : NULL;
	in.deleted = t->deleted;
	in.stage_known = t->stage_known;
	in.stage = t->stage;
	in.running = t->worker_live ? t->running : MA_NONE;
	in.running_hash = t->running_hash;
	in.running_healthy = t->worker_live && (progress_mark(&t->progress) > t->running_mark ||
						atomic_load(&t->progress.caught_up));
	in.now_ms = now_ms;
	t->rng = t->rng * 1103515245u + 12345u;
	in.jitter = t->rng >> 8;
	machine_step(&out, &t->rec, &in);
	if (out.cancel && t->worker_live)
		t->cancel = 1;
	if (out.stop_request && t->worker_live)
		t->stop_requested = 1;
	if (out.action != MA_NONE && !t->worker_live && t->spec && !t->draining)
		start_job(t, out.action, out.stop_request, now_ms);
	if (out.finished)
		t->finished = true;
	if (before.phase != t->rec.phase) {
		log_info(t->name, "phase %s -> %s%s%s", phase_name(before.phase),
			 phase_name(t->rec.phase), t->rec.message[0] ? ": " : "", t->rec.message);
		if (t->env->phase_changed)
			t->env->phase_changed(t->env->ctx, t, before.phase, t->rec.phase);
	}
	if (!before.deleted && t->rec.deleted && t->env->deleted)
		t->env->deleted(t->env->ctx, t);
	if (memcmp(&before, &t->rec, sizeof(before)) != 0 || t->rec_dirty)
		(void)task_save_record(t);
	update_conditions(t, now_ms);
}

bool task_can_free(const struct task *t)
{
	return !t->worker_live || atomic_load(&t->worker_done);
}

void task_free(struct task *t)
{
	if (!t)
		return;
	t->cancel = 1;
	if (t->worker_live)
		(void)pthread_join(t->worker, NULL);
	t->worker_live = false;
	/* The lock thread may sit in a connect to a hung server: it winds
	 * down by itself (and a dead process releases the lock anyway). */
	keeper_drop(t, false);
	free_retired(t);
	buf_release(&t->io.report);
	buf_release(&t->precheck_report);
	buf_release(&t->last_report);
	buf_release(&t->verify_report);
	progress_release(&t->progress);
	spec_free(t->spec);
	spec_free(t->pending);
	free(t->pending_bytes);
	free(t->spec_bytes);
	spec_rev_release(&t->rev);
	spec_rev_release(&t->attempted);
	free(t);
}
