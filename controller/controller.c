#include "lib/common.h"
#include "controller/controller.h"
#include "controller/forge.h"
#include "controller/gate.h"
#include "controller/notify.h"
#include "controller/source.h"
#include "controller/status.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "reconcile/task.h"

#include <curl/curl.h>
#include <errno.h>
#include <mysql.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/banned.h"

/* A spec file path and the migration it last named (so that a file that
 * turns invalid marks the right migration Invalid). */
struct path_name {
	char *path;
	char name[64];
};

struct ctl {
	const struct controller_opts *o;
	struct task_env env;
	struct task **tasks;
	size_t ntasks;
	struct path_name *paths;
	size_t npaths;
	struct notifier *notifier;
	struct gate gate;    /* --verify-commits */
	struct forge *forge; /* --commit-status */
	bool snapshot_taken;
	int64_t recheck_ms; /* monotonic; 0: no deletion waits for confirmation */
};

/*
 * A spec missing from one scan is believed deleted only when a scan at
 * least this much later still misses it: deleting stops a migration for
 * good, and an editor that renames the file to a backup before writing
 * the new one, or a slow ConfigMap update, looks the same for a moment.
 */
#define DELETE_CONFIRM_MS 2000

static struct task *find_task(struct ctl *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ntasks; i++)
		if (!strcmp(c->tasks[i]->name, name))
			return c->tasks[i];
	return NULL;
}

static struct task *get_task(struct ctl *c, const char *name)
{
	struct task *t = find_task(c, name), **nt;

	if (t)
		return t;
	if (!(nt = realloc(c->tasks, (c->ntasks + 1) * sizeof(*nt))))
		return NULL;
	c->tasks = nt;
	if (task_new(&t, name, &c->env, util_now_ms()) < 0)
		return NULL;
	c->tasks[c->ntasks++] = t;
	log_info(name, "migration found");
	return t;
}

static const char *path_name_get(struct ctl *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->npaths; i++)
		if (!strcmp(c->paths[i].path, path))
			return c->paths[i].name;
	return NULL;
}

static void path_name_set(struct ctl *c, const char *path, const char *name)
{
	struct path_name *np;
	size_t i;

	for (i = 0; i < c->npaths; i++)
		if (!strcmp(c->paths[i].path, path)) {
			snprintf(c->paths[i].name, sizeof(c->paths[i].name), "%s", name);
			return;
		}
	if (!(np = realloc(c->paths, (c->npaths + 1) * sizeof(*np))))
		return;
	c->paths = np;
	if (!(np[c->npaths].path = strdup(path)))
		return;
	snprintf(np[c->npaths].name, sizeof(np[c->npaths].name), "%s", name);
	c->npaths++;
}

/* A migration name for a file that does not load: its base name made
 * into a valid name ("Shop_B.yaml" -> "shop-b"). */
static void name_from_path(char *out, size_t outsz, const char *path)
{
	const char *b = strrchr(path, '/');
	size_t i = 0;

	b = b ? b + 1 : path;
	for (; *b && *b != '.' && i + 1 < outsz && i < 63; b++) {
		char ch = *b;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		out[i++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '-';
	}
	out[i] = 0;
	if (!i)
		snprintf(out, outsz, "invalid");
}

static void apply_snapshot(struct ctl *c, struct source_snapshot *snap)
{
	bool *seen = calloc(c->ntasks + snap->nfiles + 1, sizeof(*seen));
	size_t i, j, before = c->ntasks;

	if (!seen) {
		log_error(NULL, "out of memory applying the specs");
		return;
	}
	for (i = 0; i < snap->nfiles; i++) {
		struct spec_file *f = &snap->files[i];
		struct diag_list d = DIAG_LIST_INIT;
		struct spec_rev rev;
		struct spec *s = NULL;
		struct task *t;
		struct buf msg = BUF_INIT;
		char name[64];
		const char *known;

		memset(&rev, 0, sizeof(rev));
		rev.file = f->path;
		rev.author = f->author;
		memcpy(rev.sha256, f->sha256, sizeof(rev.sha256));
		memcpy(rev.commit, f->commit, sizeof(rev.commit));
		rev.time = f->commit_time;
		if (spec_load_buffer(&s, f->path, f->content, f->len, &d) == 0) {
			t = find_task(c, s->name);
			for (j = 0; t && j < c->ntasks; j++)
				if (c->tasks[j] == t && seen[j]) {
					/* two files, one name: the second is refused */
					spec_free(s);
					s = NULL;
					if (buf_printf(
						&msg,
						"%s: metadata.name '%s' is already used by %s",
						f->path, t->name,
						t->rev.file ? t->rev.file : "another spec") < 0)
						buf_reset(&msg);
				}
			if (s) {
				if (!(t = get_task(c, s->name))) {
					spec_free(s);
					goto next;
				}
				path_name_set(c, f->path, s->name);
				task_set_spec(t, s, f->content, f->len, &rev);
				for (j = 0; j < c->ntasks; j++)
					if (c->tasks[j] == t)
						seen[j] = true;
				t->missing_since_ms = 0;
				goto next;
			}
		} else if (diag_list_format(&msg, &d) < 0) {
			buf_reset(&msg);
		}
		known = path_name_get(c, f->path);
		if (known && find_task(c, known) && !find_task(c, known)->invalid &&
		    find_task(c, known)->rev.file && strcmp(find_task(c, known)->rev.file, f->path))
			known = NULL;
		if (known)
			snprintf(name, sizeof(name), "%s", known);
		else
			name_from_path(name, sizeof(name), f->path);
		if (!(t = get_task(c, name)))
			goto next;
		for (j = 0; j < c->ntasks; j++)
			if (c->tasks[j] == t) {
				if (seen[j]) /* a valid spec of that name exists */
					goto next;
				seen[j] = true;
			}
		t->missing_since_ms = 0;
		{
			size_t l = msg.len;

			while (l && msg.ptr[l - 1] == '\n')
				l--;
			buf_truncate(&msg, l);
		}
		if (!t->invalid || strcmp(t->invalid_msg, buf_cstr(&msg)))
			log_error(name, "invalid spec: %s", buf_cstr(&msg));
		task_set_invalid(t, msg.len ? buf_cstr(&msg) : "invalid spec", &rev);
	next:
		diag_list_release(&d);
		buf_release(&msg);
	}
	for (i = 0; i < snap->ndeleted; i++) {
		struct spec_deleted *del = &snap->deleted[i];
		struct spec_rev rev;

		for (j = 0; j < c->ntasks; j++) {
			struct task *t = c->tasks[j];

			if (seen[j] || !t->rev.file || strcmp(t->rev.file, del->path))
				continue;
			memset(&rev, 0, sizeof(rev));
			rev.file = del->path;
			rev.author = del->author;
			memcpy(rev.commit, del->commit, sizeof(rev.commit));
			rev.time = del->commit_time;
			spec_rev_copy(&t->attempted, &rev);
		}
	}
	/* A source that suddenly lists nothing at all is not believed. */
	if (!snap->complete) {
		log_warn(NULL, "the spec source could not be read whole; nothing is deleted");
	} else if (!snap->nfiles && before) {
		log_warn(NULL,
			 "the spec source lists no spec at all; refusing to delete %zu "
			 "migration(s)",
			 before);
	} else {
		int64_t mono = util_now_mono_ms();

		for (j = 0; j < before; j++) {
			struct task *t = c->tasks[j];

			if (seen[j] || t->deleted)
				continue;
			if (!t->missing_since_ms) {
				log_debug(t->name, "%s is gone: deleted if still gone in %d ms",
					  t->rev.file ? t->rev.file : "its spec",
					  DELETE_CONFIRM_MS);
				t->missing_since_ms = mono;
				if (!c->recheck_ms || c->recheck_ms > mono + DELETE_CONFIRM_MS)
					c->recheck_ms = mono + DELETE_CONFIRM_MS;
			} else if (mono - t->missing_since_ms >= DELETE_CONFIRM_MS) {
				log_info(t->name, "spec deleted: stopping (data kept)");
				if (c->o->state_dir)
					(void)status_audit_deletion(c->o->state_dir, t);
				task_set_deleted(t);
			} else if (!c->recheck_ms) {
				c->recheck_ms = t->missing_since_ms + DELETE_CONFIRM_MS;
			}
		}
	}
	free(seen);
}

static void hook_audit(void *ctx, struct task *t, enum mact a, const char *event, int result,
		       const char *error)
{
	struct ctl *c = ctx;

	if (c->o->state_dir)
		(void)status_audit(c->o->state_dir, t, a, event, result, error);
}

static void hook_phase(void *ctx, struct task *t, enum phase from, enum phase to)
{
	struct ctl *c = ctx;
	struct buf b = BUF_INIT;
	const struct spec_rev *rev;
	char ts[32];
	int e = 0;

	if (!c->notifier)
		return;
	util_format_time(ts, util_now_ms() / 1000);
	e |= buf_puts(&b, "{\"migration\":");
	e |= json_str(&b, t->name);
	e |= buf_printf(&b, ",\"from\":\"%s\",\"phase\":\"%s\",\"time\":\"%s\",\"message\":",
			phase_name(from), phase_name(to), ts);
	e |= json_str(&b, t->invalid ? t->invalid_msg : t->rec.message);
	e |= buf_printf(
	    &b, ",\"specHash\":\"%s\",\"revision\":{\"file\":", t->spec ? t->spec->hash : "");
	rev = t->rev.file ? &t->rev : &t->attempted;
	e |= json_str(&b, rev->file ? rev->file : "");
	e |= buf_printf(&b, ",\"commit\":\"%s\",\"author\":", rev->commit);
	e |= json_str(&b, rev->author ? rev->author : "");
	e |= buf_puts(&b, "}}");
	if (!e)
		notifier_post(c->notifier, buf_cstr(&b));
	buf_release(&b);
}

static void drop_finished(struct ctl *c)
{
	size_t i = 0;

	while (i < c->ntasks) {
		struct task *t = c->tasks[i];

		if (t->finished && !task_busy(t)) {
			if (c->o->state_dir && task_reports(t))
				(void)status_write_task(c->o->state_dir, t, util_now_ms());
			log_info(t->name, "migration forgotten (spec deleted)");
			task_free(t);
			c->tasks[i] = c->tasks[--c->ntasks];
			continue;
		}
		i++;
	}
}

static bool all_steady(struct ctl *c)
{
	size_t i;

	if (!c->snapshot_taken || c->recheck_ms)
		return false;
	for (i = 0; i < c->ntasks; i++)
		if (!task_steady(c->tasks[i]))
			return false;
	return true;
}

static int once_exit_code(struct ctl *c)
{
	size_t i;

	for (i = 0; i < c->ntasks; i++)
		if (task_reports(c->tasks[i]) && phase_is_error(c->tasks[i]->rec.phase))
			return 1;
	return 0;
}

static void write_all(struct ctl *c, int64_t now)
{
	struct task **mine = NULL;
	size_t i, n = 0;

	if (!c->o->state_dir)
		return;
	if (c->ntasks && !(mine = calloc(c->ntasks, sizeof(*mine))))
		return;
	for (i = 0; i < c->ntasks; i++)
		if (task_reports(c->tasks[i])) {
			(void)status_write_task(c->o->state_dir, c->tasks[i], now);
			mine[n++] = c->tasks[i];
		}
	/* only the migrations this controller drives: another controller
	 * sharing the state directory reports the others */
	if (n || !c->ntasks)
		(void)status_write_metrics(c->o->state_dir, mine, n);
	free(mine);
}

static int take_snapshot(struct ctl *c, struct source *src)
{
	struct source_snapshot snap;
	struct gw_err err = GW_ERR_INIT;

	memset(&snap, 0, sizeof(snap));
	if (source_snapshot(src, &snap, &err) < 0) {
		log_warn(NULL, "reading the specs: %s", err.msg);
		return -1;
	}
	/* An incomplete empty snapshot: nothing fetched yet. */
	if (snap.complete || snap.nfiles)
		apply_snapshot(c, &snap);
	gate_apply(&c->gate, &snap.verify, c->tasks, c->ntasks, c->o->state_dir, util_now_ms());
	if (snap.complete)
		c->snapshot_taken = true;
	source_snapshot_release(&snap);
	return 0;
}

int controller_run(const struct controller_opts *o, struct gw_err *err)
{
	struct ctl c;
	struct source *src = NULL;
	sigset_t mask, old;
	int sfd = -1, tfd = -1, rc = 2;
	struct itimerspec its;
	int64_t tick = o->tick_ms > 0 ? o->tick_ms : 500, stop_deadline = 0, now;
	bool stopping = false, first = true, leak = false;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.env.actions = o->actions;
	c.env.state_dir = o->state_dir;
	c.env.observe = task_observe_destination;
	c.env.record_stage = task_record_destination;
	c.env.use_lock = true;
	c.env.lock_retry_ms = 3000;
	c.env.audit = hook_audit;
	c.env.phase_changed = hook_phase;
	c.env.ctx = &c;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked before any thread starts, so that every thread inherits it
	 * and only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &mask, &old) != 0) {
		err_set(err, GW_EFATAL, "cannot block signals");
		return 2;
	}
	if (mysql_library_init(0, NULL, NULL) != 0) {
		err_set(err, GW_EFATAL, "cannot initialise the MySQL client library");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(err, GW_EFATAL, "cannot initialise libcurl");
		goto out;
	}
	if (o->state_dir && util_mkdir_p(o->state_dir, 0755) < 0) {
		err_set(err, GW_EFATAL, "state directory %s: %s", o->state_dir, strerror(errno));
		goto out;
	}
	if (o->notify_url && notifier_start(&c.notifier, o->notify_url, err) < 0)
		goto out;
	if (o->commit_status &&
	    forge_start(&c.forge, o->commit_status, getenv("GODWIT_FORGE_TOKEN"),
			o->status_url_base, err) < 0)
		goto out;

	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		err_set(err, GW_EFATAL, "signalfd: %s", strerror(errno));
		goto out;
	}
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
		err_set(err, GW_EFATAL, "timerfd: %s", strerror(errno));
		goto out;
	}
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = tick / 1000;
	its.it_interval.tv_nsec = (long)(tick % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(tfd, 0, &its, NULL) < 0) {
		err_set(err, GW_EFATAL, "timerfd_settime: %s", strerror(errno));
		goto out;
	}
	if (o->dir) {
		if (source_dir_open(&src, o->dir, o->interval_ms, err) < 0)
			goto out;
	} else if (source_git_open(&src, o->git_url, o->branch, o->path,
				   o->interval_ms > 0 ? o->interval_ms : 30000,
				   o->state_dir ? o->state_dir : ".", o->verify_commits, err) < 0) {
		goto out;
	}
	log_info(NULL, "controller started: %s %s, state in %s", o->dir ? "directory" : "git",
		 o->dir ? o->dir : o->git_url, o->state_dir ? o->state_dir : "(none)");

	for (;;) {
		struct pollfd pf[3];
		struct signalfd_siginfo si;
		uint64_t ticks;
		bool changed = first;

		pf[0].fd = source_fd(src);
		pf[0].events = POLLIN;
		pf[1].fd = sfd;
		pf[1].events = POLLIN;
		pf[2].fd = tfd;
		pf[2].events = POLLIN;
		if (poll(pf, 3, (int)tick * 4) < 0 && errno != EINTR) {
			err_set(err, GW_EFATAL, "poll: %s", strerror(errno));
			goto out;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				log_info(NULL, "SIGHUP: rescanning the specs");
				source_refresh(src);
				changed = true;
			} else if (!stopping) {
				log_info(NULL, "%s: stopping (workers checkpoint)",
					 si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
				stopping = true;
				stop_deadline =
				    util_now_mono_ms() +
				    (o->shutdown_grace_ms > 0 ? o->shutdown_grace_ms : 20000);
				for (i = 0; i < c.ntasks; i++)
					task_cancel(c.tasks[i]);
			}
		}
		while (read(tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
			;
		if (source_changed(src))
			changed = true;
		if (c.recheck_ms && util_now_mono_ms() >= c.recheck_ms) {
			c.recheck_ms = 0;
			changed = true;
		}
		first = false;
		if (stopping) {
			bool busy = false;

			for (i = 0; i < c.ntasks; i++) {
				task_tick(c.tasks[i], util_now_ms());
				busy |= task_busy(c.tasks[i]);
			}
			if (!busy || util_now_mono_ms() > stop_deadline) {
				if (busy)
					log_warn(NULL, "some workers did not stop in time");
				write_all(&c, util_now_ms());
				forge_report(c.forge, c.tasks, c.ntasks);
				rc = 0;
				break;
			}
			continue;
		}
		if (changed)
			(void)take_snapshot(&c, src);
		now = util_now_ms();
		for (i = 0; i < c.ntasks; i++)
			task_tick(c.tasks[i], now);
		write_all(&c, now);
		forge_report(c.forge, c.tasks, c.ntasks);
		drop_finished(&c);
		if (o->once && !c.snapshot_taken && source_last_error(src)) {
			/* --once is for scripts: a source that cannot be read
			 * is an error, not something to wait for */
			err_set(err, GW_EFATAL, "reading the specs: %s", source_last_error(src));
			rc = 2;
			break;
		}
		if (o->once && all_steady(&c)) {
			rc = once_exit_code(&c);
			log_info(NULL, "--once: every migration is steady; exiting with %d", rc);
			for (i = 0; i < c.ntasks; i++)
				task_cancel(c.tasks[i]);
			break;
		}
	}
out:
	for (i = 0; i < c.ntasks; i++) {
		if (!task_can_free(c.tasks[i])) {
			/* a worker stuck on a hung server past the grace time:
			 * the process is ending, leave it */
			log_warn(c.tasks[i]->name, "worker still busy at exit");
			leak = true;
			continue;
		}
		task_free(c.tasks[i]);
	}
	if (leak) {
		if (c.notifier)
			notifier_free(c.notifier, 1000);
		forge_free(c.forge, 1000);
		return rc;
	}
	free(c.tasks);
	for (i = 0; i < c.npaths; i++)
		free(c.paths[i].path);
	free(c.paths);
	if (src)
		source_free(src);
	if (c.notifier)
		notifier_free(c.notifier, 3000);
	forge_free(c.forge, 5000);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	curl_global_cleanup();
	mysql_library_end();
	return rc;
}
