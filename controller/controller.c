#include "lib/common.h"
#include "controller/controller.h"
#include "controller/forge.h"
#include "controller/gate.h"
#include "controller/http.h"
#include "controller/metascan.h"
#include "controller/notify.h"
#include "controller/peers.h"
#include "controller/source.h"
#include "controller/status.h"
#include "engine/meta.h"
#include "lib/json.h"
#include "spec/overlap.h"
#include "lib/log.h"
#include "lib/util.h"
#include "reconcile/task.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <mysql.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
	int wfd;	    /* eventfd: a worker or lock thread has news */
	struct metascan *metascan;
	bool meta_wait;	     /* a scan of the destinations is under way */
	char (*ignored)[64]; /* recorded on a destination, not ours */
	size_t nignored;
	char (*recorded)[64]; /* names the destinations record (last scan) */
	size_t nrecorded;
	bool meta_known;   /* a scan of the destinations finished */
	char id[128];	   /* --id, or host:pid */
	struct http *http; /* --listen */
	struct source *src;
	struct peers *peers; /* the controllers sharing the state directory */
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

/*
 * The migration a file that does not load stood for, as the state
 * directory remembers it (the record's rev_file): a spec saved broken while
 * no controller ran is that migration, Invalid, not a deletion of it.
 */
static bool name_from_state(struct ctl *c, char *out, size_t outsz, const char *path)
{
	struct buf rec = BUF_INIT, want = BUF_INIT;
	char dir[4096], file[4400];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!c->o->state_dir ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/tasks", c->o->state_dir) >= sizeof(dir) ||
	    buf_printf(&want, "\nrev_file=%s\n", path) < 0 || !(d = opendir(dir))) {
		buf_release(&want);
		return false;
	}
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 64)
			continue;
		buf_reset(&rec);
		snprintf(file, sizeof(file), "%s/%s/record", dir, de->d_name);
		if (util_read_file(&rec, file) == 0 && strstr(buf_cstr(&rec), buf_cstr(&want)) &&
		    !strstr(buf_cstr(&rec), "\ndeleted=1\n")) {
			snprintf(out, outsz, "%s", de->d_name);
			found = true;
		}
	}
	closedir(d);
	buf_release(&rec);
	buf_release(&want);
	return found;
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

/*
 * Level-triggered: the migrations the state directory knows and no task
 * of this process stands for (a spec deleted while no controller ran, or
 * between two --once runs) become tasks again, dormant, with the spec
 * they last acted on; the caller's deletion check then treats them as it
 * treats a spec seen to go.
 */
static void restore_known(struct ctl *c, struct source *src, bool any_invalid)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;

	if (!c->o->state_dir ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/tasks", c->o->state_dir) >= sizeof(dir) ||
	    !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		struct task *t, **nt;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(t->name) ||
		    find_task(c, de->d_name))
			continue;
		if (!(nt = realloc(c->tasks, (c->ntasks + 1) * sizeof(*nt))))
			break;
		c->tasks = nt;
		if (task_new(&t, de->d_name, &c->env, util_now_ms()) < 0)
			break;
		/* a record from before the file was kept (rev_file) cannot tell
		 * whether a file that does not load stands for it */
		if (task_restore(t) < 0 || (!t->rev.file && any_invalid)) {
			task_free(t);
			continue;
		}
		if (t->rev.file) {
			struct spec_deleted del;
			struct spec_rev rev;

			memset(&del, 0, sizeof(del));
			source_attribute_deletion(src, t->rev.file, &del);
			if (del.commit[0]) {
				memset(&rev, 0, sizeof(rev));
				rev.file = t->rev.file;
				rev.author = del.author;
				memcpy(rev.commit, del.commit, sizeof(rev.commit));
				rev.time = del.commit_time;
				spec_rev_copy(&t->attempted, &rev);
			}
			free(del.author);
		}
		log_info(t->name,
			 "known to the state directory (%s), no spec names it now: "
			 "deleted while no controller watched?",
			 t->rev.file ? t->rev.file : "no file");
		c->tasks[c->ntasks++] = t;
	}
	closedir(d);
}

static void apply_snapshot(struct ctl *c, struct source_snapshot *snap, struct source *src)
{
	bool *seen = calloc(c->ntasks + snap->nfiles + 1, sizeof(*seen)), *ns, any_invalid = false;
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
		any_invalid = true;
		known = path_name_get(c, f->path);
		if (known && find_task(c, known) && !find_task(c, known)->invalid &&
		    find_task(c, known)->rev.file && strcmp(find_task(c, known)->rev.file, f->path))
			known = NULL;
		if (known)
			snprintf(name, sizeof(name), "%s", known);
		else if (!name_from_state(c, name, sizeof(name), f->path))
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
	if (snap->complete) {
		size_t n = c->ntasks;

		restore_known(c, src, any_invalid);
		if (c->ntasks > n) {
			if (!(ns = realloc(seen, c->ntasks * sizeof(*seen)))) {
				free(seen);
				return;
			}
			seen = ns;
			memset(seen + n, 0, (c->ntasks - n) * sizeof(*seen));
		}
		before = c->ntasks;
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
				/* audited once carried out (hook_deleted) */
				log_info(t->name, "spec deleted: stopping (data kept)");
				task_set_deleted(t);
			} else if (!c->recheck_ms) {
				c->recheck_ms = t->missing_since_ms + DELETE_CONFIRM_MS;
			}
		}
	}
	free(seen);
}

/* After each complete snapshot: which migrations do the destinations in
 * use record? */
static void request_metascan(struct ctl *c)
{
	const char **names = NULL, **bytes = NULL;
	size_t *lens = NULL, i, n = 0;

	if (!c->metascan)
		return;
	if (c->ntasks && (!(names = calloc(c->ntasks, sizeof(*names))) ||
			  !(bytes = calloc(c->ntasks, sizeof(*bytes))) ||
			  !(lens = calloc(c->ntasks, sizeof(*lens)))))
		goto out;
	for (i = 0; i < c->ntasks; i++) {
		struct task *t = c->tasks[i];

		if (!t->spec || !t->spec_bytes || t->deleted)
			continue;
		names[n] = t->name;
		bytes[n] = t->spec_bytes;
		lens[n++] = t->spec_len;
	}
	metascan_request(c->metascan, names, bytes, lens, n);
	c->meta_wait = true;
out:
	free(names);
	free(bytes);
	free(lens);
}

static bool is_ignored(struct ctl *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nignored; i++)
		if (!strcmp(c->ignored[i], name))
			return true;
	return false;
}

static void ignore(struct ctl *c, const char *name)
{
	char(*n)[64] = realloc(c->ignored, (c->nignored + 1) * sizeof(*n));

	if (!n)
		return;
	c->ignored = n;
	snprintf(n[c->nignored++], sizeof(n[0]), "%s", name);
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v && *v ? strdup(v) : NULL;
	return v && *v && !*dst ? GW_ENOMEM : 0;
}

/*
 * An orphan's whitelist entries, as its destination recorded them: the
 * instances of its endpoints (and how to reach them) replace those of the
 * spec it borrows, whose cidrs are not its own; the whitelist removal then
 * takes back what the record holds (cloud/whitelist.c).
 */
static int orphan_whitelist(struct spec *s, struct task_record *rec, const struct meta_found *f)
{
	struct endpoint *eps[2] = {&s->source, &s->destination};
	bool set[2] = {false, false};
	size_t i;
	int r = 0;

	util_strv_free(s->whitelist_cidrs, s->nwhitelist);
	s->whitelist_cidrs = NULL;
	s->nwhitelist = 0;
	for (i = 0; i < f->nwl && r == 0; i++) {
		const struct meta_wl_entry *e = &f->wl[i];
		size_t j = strcmp(e->role, "source") ? 1 : 0;

		if (set[j])
			continue;
		set[j] = true;
		eps[j]->is_rds = true;
		if ((r = set_str(&eps[j]->rds.region, e->region)) < 0 ||
		    (r = set_str(&eps[j]->rds.instance_id, e->instance_id)) < 0 ||
		    (r = set_str(&eps[j]->rds.account_id, e->account_id)) < 0)
			break;
		r = set_str(&eps[j]->rds.role_name, e->role_name);
	}
	if (f->nwl)
		rec->whitelist_added = true;
	return r;
}

/*
 * A migration a destination records that neither a spec nor the state
 * directory knows. With --git the branch's history tells whether its spec
 * was deleted there: then it is deleted like any other (the lock taken on
 * that destination, Stopped, the audit line naming the deleting commit).
 * Otherwise it may be another spec source's migration sharing the
 * destination: said once, left alone.
 */
static bool adopt_orphan(struct ctl *c, const struct meta_found *f)
{
	struct task *via = find_task(c, f->via), *t, **nt;
	struct task_record rec;
	struct spec_deleted del;
	struct diag_list d = DIAG_LIST_INIT;
	struct spec *s = NULL;
	struct spec_rev rev;

	if (find_task(c, f->name) || is_ignored(c, f->name))
		return true;
	/* the migration it was found through is gone since (its deletion
	 * carried out while the scan ran): the caller asks again */
	if (!via || !via->spec_bytes)
		return false;
	/* the state directory carried its deletion out already */
	if (task_record_load(&rec, c->o->state_dir, f->name) == 0 && rec.deleted)
		return true;
	if (source_find_deleted(c->src, f->name, &del) < 0) {
		log_warn(NULL,
			 "migration %s is recorded on the destination of %s (its meta database), "
			 "but no spec here names it%s: left alone",
			 f->name, f->via,
			 c->o->git_url
			     ? " and the branch's history deleted none of that name"
			     : " (with --dir nothing tells whether its spec was deleted)");
		ignore(c, f->name);
		return true;
	}
	memset(&rev, 0, sizeof(rev));
	rev.file = del.path;
	rev.author = del.author;
	memcpy(rev.commit, del.commit, sizeof(rev.commit));
	rev.time = del.commit_time;
	if (spec_load_buffer(&s, via->spec->file, via->spec_bytes, via->spec_len, &d) < 0 ||
	    !(nt = realloc(c->tasks, (c->ntasks + 1) * sizeof(*nt))) ||
	    task_new(&t, f->name, &c->env, util_now_ms()) < 0) {
		spec_free(s);
		goto out;
	}
	c->tasks = nt;
	free(s->name);
	if (!(s->name = strdup(f->name))) {
		spec_free(s);
		task_free(t);
		goto out;
	}
	s->hash[0] = s->immutable_hash[0] = 0;
	if (orphan_whitelist(s, &t->rec, f) < 0) {
		spec_free(s);
		task_free(t);
		goto out;
	}
	task_set_orphan(t, s, &rev);
	c->tasks[c->ntasks++] = t;
	log_info(t->name,
		 "recorded on the destination of %s; its spec %s was deleted by commit %.12s: "
		 "stopping (data kept)%s",
		 f->via, del.path ? del.path : "", del.commit,
		 f->nwl ? "; its recorded whitelist entries are taken back" : "");
out:
	diag_list_release(&d);
	free(del.path);
	free(del.author);
	return true;
}

static bool recorded(struct ctl *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nrecorded; i++)
		if (!strcmp(c->recorded[i], name))
			return true;
	return false;
}

static int64_t declared(struct ctl *c, struct task *t)
{
	if (!t->declared_s && t->rev.file)
		t->declared_s = source_declared_time(c->src, t->rev.file);
	return t->declared_s;
}

/*
 * Which of two overlapping migrations goes on. The same answer in every
 * controller on the spec source, whatever its state directory: one whose
 * destination records it (data moved) over one it does not, else the
 * earlier declared (with --git when the file came to the branch, else the
 * file name), else the name.
 */
static bool declared_before(struct ctl *c, struct task *a, struct task *b)
{
	bool ra = recorded(c, a->name), rb = recorded(c, b->name);
	int64_t ta, tb;
	int cmp;

	if (ra != rb)
		return ra;
	ta = declared(c, a);
	tb = declared(c, b);
	if (ta && tb && ta != tb)
		return ta < tb;
	cmp = strcmp(a->rev.file ? a->rev.file : "", b->rev.file ? b->rev.file : "");
	return cmp ? cmp < 0 : strcmp(a->name, b->name) < 0;
}

static bool conflict_candidate(const struct task *t)
{
	return t->spec && !t->invalid && !t->deleted && !t->dormant && !t->finished;
}

/*
 * Two migrations that write the same destination objects would overwrite
 * (with incremental, delete) each other's rows: the later declared one is
 * refused (condition Conflict), and goes on once the other is gone or no
 * longer overlaps. Until the destinations were read once, both wait.
 */
static void check_conflicts(struct ctl *c)
{
	size_t i, j;

	for (i = 0; i < c->ntasks; i++) {
		struct task *t = c->tasks[i];
		struct buf why = BUF_INIT, msg = BUF_INIT;

		if (!conflict_candidate(t)) {
			if (t->conflict)
				task_set_conflict(t, NULL);
			continue;
		}
		for (j = 0; j < c->ntasks && !msg.len; j++) {
			struct task *u = c->tasks[j];
			int r;

			if (u == t || !conflict_candidate(u))
				continue;
			buf_reset(&why);
			if ((r = spec_overlap(t->spec, u->spec, &why)) <= 0)
				continue;
			if (!c->meta_known)
				r = buf_printf(&msg,
					       "waiting: it writes what %s writes (%s); which one "
					       "goes on is decided once the destination was read",
					       u->name, buf_cstr(&why));
			else if (declared_before(c, u, t))
				r = buf_printf(
				    &msg,
				    "conflict with %s (%s, declared first): %s; delete or "
				    "narrow one of them",
				    u->name, u->rev.file ? u->rev.file : "?", buf_cstr(&why));
			if (r < 0)
				buf_reset(&msg);
		}
		task_set_conflict(t, msg.len ? buf_cstr(&msg) : NULL);
		buf_release(&why);
		buf_release(&msg);
	}
}

static void take_metascan(struct ctl *c)
{
	struct meta_found *found = NULL;
	char(*names)[64];
	size_t i, n = 0;
	bool again = false;

	if (!c->metascan || !metascan_result(c->metascan, &found, &n))
		return;
	c->meta_wait = metascan_busy(c->metascan);
	if ((names = calloc(n + 1, sizeof(*names)))) {
		for (i = 0; i < n; i++)
			memcpy(names[i], found[i].name, sizeof(names[i]));
		free(c->recorded);
		c->recorded = names;
		c->nrecorded = n;
		c->meta_known = true;
	}
	for (i = 0; i < n; i++)
		if (!adopt_orphan(c, &found[i]))
			again = true;
	metascan_found_free(found, n);
	check_conflicts(c);
	if (again && !c->meta_wait)
		request_metascan(c);
}

/* Rendezvous hashing: each controller prefers other migrations, so that
 * replicas started together spread them without many collisions. */
static uint64_t preference(const char *id, const char *name)
{
	uint64_t h = 1469598103934665603ull;
	const char *p;

	for (p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

/*
 * --max-migrations N: this controller takes the lock of at most N
 * migrations at once. A migration another controller drives, or one that
 * has converged (Completed, Stopped) gives its slot back; the others wait
 * for room, watching their lock: a migration nobody drives is taken by
 * whichever controller has room first (a dead replica's, after its
 * sessions closed). Deletions are carried out whatever the count.
 */
static void admit(struct ctl *c)
{
	struct task **cand = NULL;
	size_t i, j, n = 0, used = 0;
	int max = c->o->max_migrations;

	if (max <= 0)
		return;
	for (i = 0; i < c->ntasks; i++) {
		struct task *t = c->tasks[i];

		if (!t->admitted)
			continue;
		if (!t->deleted && !t->worker_live &&
		    (task_lock_state(t) == LOCK_OTHER || t->conflict || !task_wants_slot(t)))
			task_admit(t, false);
		else if (task_parkable(t))
			task_park(t);
		else if (!t->deleted)
			used++;
	}
	if (c->ntasks && !(cand = calloc(c->ntasks, sizeof(*cand))))
		return;
	for (i = 0; i < c->ntasks; i++) {
		struct task *t = c->tasks[i];

		if (t->admitted || !task_wants_slot(t))
			continue;
		if (t->deleted) {
			task_admit(t, true);
			continue;
		}
		cand[n++] = t;
	}
	/* most preferred first (n is small: insertion sort) */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 &&
			    preference(c->id, cand[j]->name) > preference(c->id, cand[j - 1]->name);
		     j--) {
			struct task *x = cand[j];

			cand[j] = cand[j - 1];
			cand[j - 1] = x;
		}
	for (i = 0; i < n; i++) {
		struct task *t = cand[i];

		if (used < (size_t)max) {
			task_admit(t, true);
			used++;
		} else if (task_lock_state(t) == LOCK_FREE && t->spec) {
			snprintf(t->rec.message, sizeof(t->rec.message),
				 "waiting for a controller with room (%s drives %zu of %d)", c->id,
				 used, max);
		}
	}
	free(cand);
}

/*
 * Whether this controller writes the task's status files (and reports it
 * in metrics). The driver, which holds the lock, does. A migration that
 * nobody drives from here (waiting for room, its destination unreachable,
 * refused for a conflict, its spec invalid) is reported by whichever
 * controller last wrote its files, unless that one no longer runs: then
 * by this one. Controllers sharing a state directory thus never write
 * over one another, nor over a driver this one cannot see.
 */
static bool writes_status(struct ctl *c, const struct task *t)
{
	char who[128];

	if (!task_reports(t))
		return false;
	if (task_lock_state(t) == LOCK_HELD || !c->peers || !c->o->state_dir)
		return true;
	status_reporter(who, sizeof(who), c->o->state_dir, t->name);
	return !who[0] || !strcmp(who, c->id) || !peers_alive(c->peers, who);
}

static bool hook_alive(void *ctx, const char *id)
{
	struct ctl *c = ctx;

	return c->peers && peers_alive(c->peers, id);
}

static void hook_deleted(void *ctx, struct task *t)
{
	struct ctl *c = ctx;

	if (c->o->state_dir && writes_status(c, t))
		(void)status_audit_deletion(c->o->state_dir, t);
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

static void hook_wake(void *ctx)
{
	struct ctl *c = ctx;
	uint64_t one = 1;

	/* a full counter (it cannot be) still wakes the loop */
	if (write(c->wfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug(NULL, "wake: %s", strerror(errno));
}

static void drop_finished(struct ctl *c)
{
	size_t i = 0;

	while (i < c->ntasks) {
		struct task *t = c->tasks[i];

		if (t->finished && !task_busy(t)) {
			if (c->o->state_dir && writes_status(c, t))
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

	if (!c->snapshot_taken || c->recheck_ms || c->meta_wait)
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
		if (task_reports(c->tasks[i]) &&
		    (phase_is_error(c->tasks[i]->rec.phase) || c->tasks[i]->conflict))
			return 1;
	return 0;
}

static void write_all(struct ctl *c, int64_t now)
{
	struct buf m = BUF_INIT;
	struct task **mine = NULL;
	size_t i, n = 0;

	if (c->ntasks && !(mine = calloc(c->ntasks, sizeof(*mine))))
		return;
	for (i = 0; i < c->ntasks; i++)
		if (writes_status(c, c->tasks[i])) {
			if (c->o->state_dir)
				(void)status_write_task(c->o->state_dir, c->tasks[i], now);
			mine[n++] = c->tasks[i];
		}
	/* the migrations whose files this controller writes: /metrics, and
	 * its part of metrics.prom (peers.h merges the parts of every
	 * controller sharing the state directory) */
	if (status_metrics(&m, mine, n) < 0)
		buf_reset(&m);
	if (c->peers)
		peers_write_metrics(c->peers, &m, util_now_mono_ms());
	if (c->http) {
		http_publish(c->http, m.ptr ? m.ptr : "", m.len, c->snapshot_taken,
			     source_last_error(c->src));
		http_loop_alive(c->http, util_now_mono_ms());
	}
	buf_release(&m);
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
		apply_snapshot(c, &snap, src);
	gate_apply(&c->gate, &snap.verify, c->tasks, c->ntasks, c->o->state_dir, util_now_ms());
	if (snap.complete) {
		c->snapshot_taken = true;
		request_metascan(c);
	}
	check_conflicts(c);
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
	c.wfd = -1;
	c.env.actions = o->actions;
	c.env.state_dir = o->state_dir;
	c.env.observe = meta_observe_task;
	c.env.record_stage = meta_record_task;
	c.env.use_lock = true;
	c.env.lock = &engine_lock_ops;
	c.env.lock_retry_ms = 3000;
	c.env.admission = o->max_migrations > 0;
	if (o->id && *o->id) {
		snprintf(c.id, sizeof(c.id), "%s", o->id);
	} else {
		char host[64] = "";

		(void)gethostname(host, sizeof(host) - 1);
		snprintf(c.id, sizeof(c.id), "%s:%ld", host[0] ? host : "localhost",
			 (long)getpid());
	}
	c.env.controller_id = c.id;
	c.env.audit = hook_audit;
	c.env.phase_changed = hook_phase;
	c.env.wake = hook_wake;
	c.env.deleted = hook_deleted;
	c.env.controller_alive = hook_alive;
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
	if (o->state_dir && peers_join(&c.peers, o->state_dir, c.id, err) < 0)
		goto out;
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
	if ((c.wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		err_set(err, GW_EFATAL, "eventfd: %s", strerror(errno));
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
	c.src = src;
	if (metascan_start(&c.metascan, hook_wake, &c, err) < 0)
		goto out;
	if (o->listen &&
	    http_start(&c.http, o->listen, o->state_dir ? o->state_dir : ".", c.id, err) < 0)
		goto out;
	log_info(NULL, "controller %s started: %s %s, state in %s, --max-migrations %d", c.id,
		 o->dir ? "directory" : "git", o->dir ? o->dir : o->git_url,
		 o->state_dir ? o->state_dir : "(none)", o->max_migrations);

	for (;;) {
		struct pollfd pf[4];
		struct signalfd_siginfo si;
		uint64_t ticks;
		bool changed = first;

		pf[0].fd = source_fd(src);
		pf[0].events = POLLIN;
		pf[1].fd = sfd;
		pf[1].events = POLLIN;
		pf[2].fd = tfd;
		pf[2].events = POLLIN;
		pf[3].fd = c.wfd;
		pf[3].events = POLLIN;
		/* The first step at once; then a finished action, a lock taken
		 * or lost (the eventfd), a source change or a signal wake the
		 * loop, and the timer is the safety net (progress, backoff,
		 * the deletion recheck). */
		if (poll(pf, 4, first ? 0 : (int)tick * 4) < 0 && errno != EINTR) {
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
		while (read(c.wfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
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
		take_metascan(&c);
		now = util_now_ms();
		admit(&c);
		for (i = 0; i < c.ntasks; i++)
			task_tick(c.tasks[i], now);
		write_all(&c, now);
		forge_report(c.forge, c.tasks, c.ntasks);
		drop_finished(&c);
		if (o->once && !c.snapshot_taken && source_last_error(src)) {
			/* --once is for scripts: a source that cannot be read
			 * is an error, not something to wait for. The source
			 * may have judged its tip after this loop's last
			 * snapshot: one more publishes the verdict
			 * (source.yaml, Verified) before the exit. */
			(void)take_snapshot(&c, src);
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
	leak = !metascan_free(c.metascan); /* it wakes the loop: first */
	c.metascan = NULL;
	http_free(c.http);
	c.http = NULL;
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
	peers_free(c.peers);
	if (leak) {
		/* a stuck worker or scan: it must not write to a closed
		 * descriptor, nor find its libraries gone */
		c.env.wake = NULL;
		if (c.notifier)
			notifier_free(c.notifier, 1000);
		forge_free(c.forge, 1000);
		return rc;
	}
	free(c.tasks);
	free(c.ignored);
	free(c.recorded);
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
	if (c.wfd >= 0)
		close(c.wfd);
	curl_global_cleanup();
	mysql_library_end();
	return rc;
}
