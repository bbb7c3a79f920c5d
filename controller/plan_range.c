/*
 * `godwit plan --git-range BASE..HEAD`: what merging a pull request does.
 *
 * The specs the range changes are the files under --path whose blob
 * differs between the merge base of BASE and HEAD and HEAD (what the pull
 * request shows). After the merge, the branch holds BASE's specs with
 * those files replaced by HEAD's (or gone): that set is judged, against
 * BASE's as before, migration by migration (a file renamed with its
 * metadata.name kept is the same migration). Everything is read from git
 * objects, never from a work tree.
 */
#include "lib/common.h"
#include "controller/plan.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/util.h"
#include "spec/overlap.h"

#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

/* One spec file of a tree, loaded. */
struct pfile {
	char *path; /* relative to --path */
	git_oid blob;
	struct spec *spec; /* NULL when it does not load */
	char *diags;	   /* the loader's messages when it does not */
	bool changed;	   /* the range changes this path */
};

struct fileset {
	struct pfile *f;
	size_t n;
};

enum change { CH_ADDED, CH_CHANGED, CH_DELETED, CH_INVALID };

/* One step the controller takes once merged. */
struct step {
	enum mact a;
	bool irreversible;
	char *desc;
};

/* What merging does to one migration (or one invalid file). */
struct item {
	char name[64];
	char file[512];
	enum change ch;
	const struct spec *before, *after;
	struct buf effects;  /* lines: what changes and what that does */
	struct buf warnings; /* lines */
	struct buf errors;   /* lines */
	struct step *steps;
	size_t nsteps;
	char steps_note[160]; /* what the steps assume */
	int irreversible;     /* count, steps and effects */
	int nerrors;
	char now[160]; /* where it stands (from --state-dir) */
};

struct plan {
	struct item *items;
	size_t n;
};

static void fileset_release(struct fileset *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		free(fs->f[i].path);
		spec_free(fs->f[i].spec);
		free(fs->f[i].diags);
	}
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

static int cmp_pfile(const void *a, const void *b)
{
	return strcmp(((const struct pfile *)a)->path, ((const struct pfile *)b)->path);
}

static struct pfile *fileset_find(const struct fileset *fs, const char *path)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].path, path))
			return &fs->f[i];
	return NULL;
}

static bool is_spec_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' &&
	       ((l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")));
}

static int add_file(struct fileset *fs, const char *rel, const git_oid *id, git_repository *repo)
{
	struct pfile *nf, *f;
	git_blob *blob = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	struct buf msg = BUF_INIT;
	int r = GW_ENOMEM;

	if (!(nf = realloc(fs->f, (fs->n + 1) * sizeof(*nf))))
		return GW_ENOMEM;
	fs->f = nf;
	f = &fs->f[fs->n];
	memset(f, 0, sizeof(*f));
	if (!(f->path = strdup(rel)))
		return GW_ENOMEM;
	fs->n++;
	f->blob = *id;
	if (git_blob_lookup(&blob, repo, id) < 0) {
		r = GW_EFATAL;
		goto out;
	}
	if (spec_load_buffer(&f->spec, rel, git_blob_rawcontent(blob),
			     (size_t)git_blob_rawsize(blob), &d) < 0) {
		if (diag_list_format(&msg, &d) < 0)
			goto out;
		while (msg.len && msg.ptr[msg.len - 1] == '\n')
			buf_truncate(&msg, msg.len - 1);
		f->diags = buf_detach(&msg, NULL);
	}
	r = 0;
out:
	git_blob_free(blob);
	diag_list_release(&d);
	buf_release(&msg);
	return r;
}

static int walk(struct fileset *fs, git_repository *repo, git_tree *tree, const char *prefix,
		int depth)
{
	size_t i, n = git_tree_entrycount(tree);
	int r = 0;

	if (depth > 16)
		return 0;
	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		struct buf rel = BUF_INIT;

		if (buf_printf(&rel, "%s%s%s", prefix, *prefix ? "/" : "", name) < 0) {
			buf_release(&rel);
			return GW_ENOMEM;
		}
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE && name[0] != '.') {
			git_tree *sub = NULL;

			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) == 0)
				r = walk(fs, repo, sub, buf_cstr(&rel), depth + 1);
			git_tree_free(sub);
		} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && is_spec_name(name)) {
			r = add_file(fs, buf_cstr(&rel), git_tree_entry_id(e), repo);
		}
		buf_release(&rel);
	}
	return r;
}

/* The spec files of commit c under path, sorted. */
static int load_commit(struct fileset *fs, git_repository *repo, const git_oid *c, const char *path)
{
	git_commit *commit = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *sub = NULL;
	int r = GW_EFATAL;

	memset(fs, 0, sizeof(*fs));
	if (git_commit_lookup(&commit, repo, c) < 0 || git_commit_tree(&root, commit) < 0)
		goto out;
	if (path && *path) {
		r = 0;
		if (git_tree_entry_bypath(&sub, root, path) < 0 ||
		    git_tree_entry_type(sub) != GIT_OBJECT_TREE)
			goto out; /* no such folder: no spec */
		if (git_tree_lookup(&tree, repo, git_tree_entry_id(sub)) < 0) {
			r = GW_EFATAL;
			goto out;
		}
		r = walk(fs, repo, tree, "", 0);
	} else {
		r = walk(fs, repo, root, "", 0);
	}
	if (fs->n)
		qsort(fs->f, fs->n, sizeof(*fs->f), cmp_pfile);
out:
	git_tree_entry_free(sub);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(commit);
	return r;
}

/* --- describing ---------------------------------------------------- */

static int line(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int line(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return e | buf_putc(b, '\n');
}

static void endpoint_str(char *out, size_t outsz, const struct endpoint *e)
{
	if (e->is_rds)
		snprintf(out, outsz, "rds %s/%s%s%s", e->rds.region, e->rds.instance_id,
			 e->rds.account_id ? " in account " : "",
			 e->rds.account_id ? e->rds.account_id : "");
	else
		snprintf(out, outsz, "%s:%u", e->host ? e->host : "?", e->port);
}

/* "shop as shop_b (tables orders, items)" for every object, "; " between. */
static int objects_str(struct buf *b, const struct spec *s)
{
	size_t i, j;
	int e = 0;

	for (i = 0; i < s->nobjects; i++) {
		const struct object_sel *o = &s->objects[i];

		e |= buf_printf(b, "%s%s", i ? "; " : "", o->database);
		if (o->rename_to)
			e |= buf_printf(b, " as %s", o->rename_to);
		if (o->ntables) {
			e |= buf_puts(b, " (tables ");
			for (j = 0; j < o->ntables; j++)
				e |= buf_printf(b, "%s%s", j ? ", " : "", o->tables[j].name);
			e |= buf_putc(b, ')');
		}
	}
	return e;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool secret_eq(const struct secret_ref *a, const struct secret_ref *b)
{
	return a->kind == b->kind && str_eq(a->name, b->name);
}

static const char *tls_word(enum tls_mode m)
{
	static const char *const w[] = {"disabled", "preferred", "required", "verify-ca",
					"verify-identity"};

	return (unsigned)m < ARRAY_SIZE(w) ? w[m] : "?";
}

static int stop_settings(struct buf *b, const struct spec *s)
{
	char d[32];

	util_format_duration(d, sizeof(d), s->stop_max_delay_ms);
	return buf_printf(b, "stop.maxDelay %s, freezeSource %s, force %s", d,
			  s->stop_freeze_source ? "true" : "false",
			  s->stop_force ? "true" : "false");
}

static int add_step(struct item *it, enum mact a, const struct spec *s)
{
	struct buf d = BUF_INIT;
	struct step *ns;

	if (plan_describe(&d, a, s) < 0 ||
	    !(ns = realloc(it->steps, (it->nsteps + 1) * sizeof(*ns)))) {
		buf_release(&d);
		return GW_ENOMEM;
	}
	it->steps = ns;
	ns[it->nsteps].a = a;
	ns[it->nsteps].irreversible = mact_irreversible(a, s);
	ns[it->nsteps].desc = buf_detach(&d, NULL);
	if (ns[it->nsteps].irreversible)
		it->irreversible++;
	it->nsteps++;
	return 0;
}

static int add_steps(struct item *it, const struct task_record *rec, const struct spec *s,
		     enum meta_stage st)
{
	enum mact acts[32];
	size_t n = machine_plan(acts, ARRAY_SIZE(acts), rec, s, st), i;
	int e = 0;

	for (i = 0; i < n; i++)
		e |= add_step(it, acts[i], s);
	return e;
}

static int err_line(struct item *it, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int err_line(struct item *it, const char *fmt, ...)
{
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = buf_vprintf(&it->errors, fmt, ap);
	va_end(ap);
	it->nerrors++;
	return e | buf_putc(&it->errors, '\n');
}

/* The settings that may change at any time: what changes. */
static int mutable_changes(struct item *it, const struct spec *a, const struct spec *b)
{
	struct buf *x = &it->effects;
	char d1[32], d2[32];
	size_t i;
	int e = 0;
	bool same;

	if (a->parallelism != b->parallelism)
		e |= line(x, "`parallelism`: %d -> %d (the next full-copy chunks)", a->parallelism,
			  b->parallelism);
	if (a->throttle_rows != b->throttle_rows || a->throttle_bytes != b->throttle_bytes)
		e |= line(
		    x, "`throttle`: %llu rows/s, %llu B/s -> %llu rows/s, %llu B/s (0: no limit)",
		    (unsigned long long)a->throttle_rows, (unsigned long long)a->throttle_bytes,
		    (unsigned long long)b->throttle_rows, (unsigned long long)b->throttle_bytes);
	if (a->verify != b->verify)
		e |= line(x, "`verify`: %s -> %s", a->verify ? "true" : "false",
			  b->verify ? "true" : "false");
	if (a->retry_window_ms != b->retry_window_ms) {
		util_format_duration(d1, sizeof(d1), a->retry_window_ms);
		util_format_duration(d2, sizeof(d2), b->retry_window_ms);
		e |= line(x, "`retryWindow`: %s -> %s", d1, d2);
	}
	if (a->state == b->state && b->state != STATE_STOPPED &&
	    (a->stop_max_delay_ms != b->stop_max_delay_ms ||
	     a->stop_freeze_source != b->stop_freeze_source || a->stop_force != b->stop_force)) {
		e |= buf_puts(x, "`stop` (used at the cutover): ");
		e |= stop_settings(x, b);
		e |= buf_putc(x, '\n');
	}
	same = a->nwhitelist == b->nwhitelist;
	for (i = 0; same && i < a->nwhitelist; i++)
		same = !strcmp(a->whitelist_cidrs[i], b->whitelist_cidrs[i]);
	if (!same)
		e |= line(x, "`whitelist.cidrs` changed (rds whitelist group 'godwit')");
	if (!str_eq(a->source.user, b->source.user) ||
	    !str_eq(a->destination.user, b->destination.user))
		e |= line(x, "`user` of an endpoint changed (the next connections log in as it)");
	if (!secret_eq(&a->source.password, &b->source.password) ||
	    !secret_eq(&a->destination.password, &b->destination.password))
		e |= line(x, "a password reference changed (read at the next connection)");
	if (a->source.tls_mode != b->source.tls_mode ||
	    a->destination.tls_mode != b->destination.tls_mode ||
	    !str_eq(a->source.tls_ca, b->source.tls_ca) ||
	    !str_eq(a->destination.tls_ca, b->destination.tls_ca))
		e |= line(x, "`tls`: source %s, destination %s -> source %s, destination %s",
			  tls_word(a->source.tls_mode), tls_word(a->destination.tls_mode),
			  tls_word(b->source.tls_mode), tls_word(b->destination.tls_mode));
	same = a->nlabels == b->nlabels;
	for (i = 0; same && i < a->nlabels; i++)
		same = !strcmp(a->labels[i].key, b->labels[i].key) &&
		       !strcmp(a->labels[i].value, b->labels[i].value);
	if (!same)
		e |= line(x, "`labels` changed");
	return e;
}

/* Which of the immutable parts differ, as one phrase. */
static int immutable_parts(struct buf *b, const struct spec *a, const struct spec *s)
{
	char e1[300], e2[300], t1[64], t2[64];
	struct buf o1 = BUF_INIT, o2 = BUF_INIT;
	int e = 0;

	endpoint_str(e1, sizeof(e1), &a->source);
	endpoint_str(e2, sizeof(e2), &s->source);
	if (strcmp(e1, e2))
		e |= line(b, "`source`: %s -> %s", e1, e2);
	endpoint_str(e1, sizeof(e1), &a->destination);
	endpoint_str(e2, sizeof(e2), &s->destination);
	if (strcmp(e1, e2) || !str_eq(a->destination.meta_database, s->destination.meta_database))
		e |= line(b, "`destination`: %s -> %s", e1, e2);
	if (a->migration_types != s->migration_types)
		e |= line(b, "`migrationTypes`: %s -> %s",
			  plan_types(t1, sizeof(t1), a->migration_types),
			  plan_types(t2, sizeof(t2), s->migration_types));
	e |= objects_str(&o1, a);
	e |= objects_str(&o2, s);
	if (strcmp(buf_cstr(&o1), buf_cstr(&o2)))
		e |= line(b, "`objects`: %s -> %s", buf_cstr(&o1), buf_cstr(&o2));
	else if (!e && strcmp(a->immutable_hash, s->immutable_hash))
		e |= line(b, "`objects` (filters, columns or exclusions) changed");
	buf_release(&o1);
	buf_release(&o2);
	return e;
}

/* Where the migration stands in state_dir; false when not known. */
static bool stands(struct item *it, struct task_record *rec, enum meta_stage *st,
		   const char *state_dir, const char *name)
{
	char path[4096];
	struct buf b = BUF_INIT;
	bool known = false, have;

	task_record_init(rec);
	*st = META_NONE;
	if (!state_dir)
		return false;
	have = task_record_load(rec, state_dir, name) == 0;
	*st = plan_read_stage(state_dir, name, &known);
	snprintf(path, sizeof(path), "%s/tasks/%s/phase", state_dir, name);
	if (util_read_file(&b, path) == 0 && b.len) {
		while (b.len && b.ptr[b.len - 1] == '\n')
			buf_truncate(&b, b.len - 1);
		snprintf(it->now, sizeof(it->now), "%.40s, stage %s", buf_cstr(&b),
			 meta_stage_name(*st));
	} else if (!have) {
		snprintf(it->now, sizeof(it->now), "not started (nothing in %.80s)", state_dir);
	}
	buf_release(&b);
	return true;
}

static int plan_added(struct item *it, const struct spec *s, const char *state_dir)
{
	struct task_record rec;
	enum meta_stage st;
	char e1[300], e2[300], types[64];
	struct buf o = BUF_INIT;
	int e = 0;

	(void)stands(it, &rec, &st, state_dir, s->name);
	endpoint_str(e1, sizeof(e1), &s->source);
	endpoint_str(e2, sizeof(e2), &s->destination);
	e |= objects_str(&o, s);
	e |= line(&it->effects, "new migration: %s from %s to %s: %s",
		  plan_types(types, sizeof(types), s->migration_types), e1, e2, buf_cstr(&o));
	buf_release(&o);
	if (s->state == STATE_PAUSED)
		e |= line(&it->effects, "created `paused`: nothing runs until `state: running`");
	else if (s->state == STATE_STOPPED)
		e |= line(&it->effects, "created `stopped`: nothing runs");
	e |= add_steps(it, &rec, s, st);
	return e;
}

static int plan_deleted(struct item *it, const struct spec *s)
{
	int e = 0;

	e |= line(&it->effects,
		  "spec deleted: the migration stops at once, as `state: stopped` with "
		  "`stop.force: true` would; the destination's data is kept, rds whitelist "
		  "entries are removed");
	if (s->migration_types & MT_INCREMENTAL) {
		e |= line(&it->effects, "**IRREVERSIBLE**: no gated stop: changes on the source "
					"after the stop are not applied (deleting is not a "
					"cutover: use `state: stopped`)");
		it->irreversible++;
	}
	if (s->migration_types & MT_FULL) {
		e |= line(&it->effects, "a full copy that has not finished leaves the destination "
					"incomplete");
	}
	return e;
}

static int plan_changed(struct item *it, const struct spec *a, const struct spec *s,
			const char *state_dir)
{
	struct task_record rec;
	enum meta_stage st;
	bool known = stands(it, &rec, &st, state_dir, s->name);
	struct buf parts = BUF_INIT;
	int e = 0;

	if (strcmp(a->immutable_hash, s->immutable_hash)) {
		e |= immutable_parts(&parts, a, s);
		e |= buf_puts(&it->effects, buf_cstr(&parts));
		if (known && st > META_NONE) {
			e |=
			    err_line(it,
				     "SpecImmutable: data has moved (stage %s): `source`, "
				     "`destination`, `objects` and `migrationTypes` are fixed; the "
				     "controller refuses this change and goes on with the previous "
				     "spec (create a migration under another name instead)",
				     meta_stage_name(st));
		} else if (known) {
			e |= line(&it->effects,
				  "no data has moved yet: the new `source`, "
				  "`destination`, `objects` or `migrationTypes` apply");
		} else {
			e |= line(
			    &it->warnings,
			    "if data has moved (the migration got past its schema step), this "
			    "change is refused as SpecImmutable and the controller goes on with "
			    "the previous spec; give --state-dir to know");
		}
	}
	e |= mutable_changes(it, a, s);
	if (a->state != s->state) {
		e |= buf_printf(&it->effects, "`state`: %s -> **%s**", plan_state_word(a->state),
				plan_state_word(s->state));
		if (s->state == STATE_STOPPED) {
			e |= buf_puts(&it->effects, " (cutover: ");
			e |= stop_settings(&it->effects, s);
			e |= buf_putc(&it->effects, ')');
		}
		e |= buf_putc(&it->effects, '\n');
		if (s->state == STATE_PAUSED)
			e |= line(&it->effects, "pause: the running action checkpoints and stops; "
						"nothing runs until `state: running`");
		else if (a->state == STATE_PAUSED && s->state == STATE_RUNNING)
			e |= line(&it->effects, "resume from the checkpoints on the destination");
		if (s->state == STATE_STOPPED && s->stop_force) {
			e |=
			    line(&it->effects,
				 "**IRREVERSIBLE**: `stop.force`: stops at once, whatever the "
				 "delay; a full copy not finished is cancelled and the destination "
				 "stays incomplete");
			it->irreversible++;
		}
		if (s->state == STATE_STOPPED && (s->migration_types & MT_FULL) &&
		    !(s->migration_types & MT_INCREMENTAL))
			e |= line(&it->effects,
				  "without `incremental` a running full copy finishes first");
	}
	if (!it->effects.len && !it->nerrors)
		e |= line(&it->effects, "no effect (formatting or comments)");
	if (it->nerrors)
		goto out;
	if (known) {
		e |= add_steps(it, &rec, s, st);
	} else if (a->state != s->state && s->state == STATE_STOPPED &&
		   (s->migration_types & MT_INCREMENTAL)) {
		/* where it stands is not known: the cutover from streaming */
		task_record_init(&rec);
		rec.phase = PH_INCREMENTAL;
		snprintf(rec.precheck_hash, sizeof(rec.precheck_hash), "%s", s->hash);
		snprintf(rec.whitelist_hash, sizeof(rec.whitelist_hash), "%s", s->hash);
		rec.whitelist_added = true;
		snprintf(it->steps_note, sizeof(it->steps_note),
			 "assuming it streams changes, phase Incremental, when merged");
		e |= add_steps(it, &rec, s,
			       (s->migration_types & MT_SCHEMA) ? META_POST_FULL_DONE
								: META_FULL_DONE);
	} else if (s->state == STATE_RUNNING) {
		snprintf(it->steps_note, sizeof(it->steps_note),
			 "the precheck runs again for the changed spec, then the migration goes on "
			 "where it stands");
	}
out:
	buf_release(&parts);
	return e;
}

/* --- the plan ------------------------------------------------------ */

static struct item *item_new(struct plan *p, const char *name, const char *file, enum change ch)
{
	struct item *ni = realloc(p->items, (p->n + 1) * sizeof(*ni)), *it;

	if (!ni)
		return NULL;
	p->items = ni;
	it = &ni[p->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	snprintf(it->file, sizeof(it->file), "%s", file);
	it->ch = ch;
	return it;
}

static void plan_release(struct plan *p)
{
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		buf_release(&p->items[i].effects);
		buf_release(&p->items[i].warnings);
		buf_release(&p->items[i].errors);
		for (j = 0; j < p->items[i].nsteps; j++)
			free(p->items[i].steps[j].desc);
		free(p->items[i].steps);
	}
	free(p->items);
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->file, y->file);
}

/* The valid spec named name in fs (the first by path), or NULL. */
static const struct pfile *by_name(const struct fileset *fs, const char *name)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->f[i].spec && !strcmp(fs->f[i].spec->name, name))
			return &fs->f[i];
	return NULL;
}

static bool seen_name(char **names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static int judge(struct plan *p, const struct fileset *before, const struct fileset *after,
		 const char *state_dir)
{
	char **names = NULL, **nn;
	size_t nnames = 0, i, j;
	int e = 0;

	/* the migrations the changed files name, before or after */
	for (i = 0; i < before->n + after->n; i++) {
		const struct pfile *f = i < before->n ? &before->f[i] : &after->f[i - before->n];

		if (!f->changed || !f->spec || seen_name(names, nnames, f->spec->name))
			continue;
		if (!(nn = realloc(names, (nnames + 1) * sizeof(*nn))))
			goto oom;
		names = nn;
		names[nnames++] = f->spec->name;
	}
	for (i = 0; i < after->n; i++) {
		const struct pfile *f = &after->f[i];
		struct item *it;

		if (!f->changed || f->spec)
			continue;
		if (!(it = item_new(p, "", f->path, CH_INVALID)))
			goto oom;
		e |= err_line(it, "invalid spec (the migration goes Invalid):\n%s", f->diags);
	}
	/* a name used by two files: the controller acts on the first by path
	 * and refuses the other */
	for (i = 0; i < after->n; i++) {
		const struct pfile *f = &after->f[i], *first;
		struct item *it;

		if (!f->spec || !(first = by_name(after, f->spec->name)) || first == f)
			continue;
		if (!f->changed && !first->changed)
			continue;
		if (!(it = item_new(p, f->spec->name, f->path,
				    fileset_find(before, f->path) ? CH_CHANGED : CH_ADDED)))
			goto oom;
		e |= err_line(it,
			      "metadata.name '%s' is used by %s and %s: the controller acts on %s "
			      "and refuses %s",
			      f->spec->name, first->path, f->path, first->path, f->path);
	}
	for (i = 0; i < nnames; i++) {
		const struct pfile *b = by_name(before, names[i]), *a = by_name(after, names[i]);
		struct item *it;

		if (a && b && !a->changed && !strcmp(a->path, b->path))
			continue; /* only a second file of that name changed */

		it = item_new(p, names[i], a ? a->path : b->path,
			      !a   ? CH_DELETED
			      : !b ? CH_ADDED
				   : CH_CHANGED);
		if (!it)
			goto oom;
		it->before = b ? b->spec : NULL;
		it->after = a ? a->spec : NULL;
		if (!a) {
			e |= plan_deleted(it, b->spec);
			continue;
		}
		if (b && strcmp(b->path, a->path))
			e |= line(&it->effects, "file: %s -> %s (the same migration)", b->path,
				  a->path);
		e |= b ? plan_changed(it, b->spec, a->spec, state_dir)
		       : plan_added(it, a->spec, state_dir);
		for (j = 0; j < after->n; j++) {
			const struct pfile *o = &after->f[j];
			struct buf why = BUF_INIT;
			int ov;

			if (o == a || !o->spec || !strcmp(o->spec->name, a->spec->name))
				continue;
			/* The later-declared of the two is refused: a new one, not
			 * the one that was there before (both new: either). */
			if (b && !by_name(before, o->spec->name))
				continue;
			if ((ov = spec_overlap(a->spec, o->spec, &why)) == 1)
				e |= err_line(
				    it,
				    "Conflict: %s%s merged, %s is refused (condition "
				    "Conflict) and writes nothing until the conflict is gone",
				    buf_cstr(&why),
				    why.len && why.ptr[why.len - 1] == '.' ? "" : ";",
				    by_name(before, o->spec->name) || b ? a->spec->name
									: "one of the two");
			else if (ov < 0)
				e |= GW_ENOMEM;
			buf_release(&why);
		}
	}
	free(names);
	if (p->n)
		qsort(p->items, p->n, sizeof(*p->items), cmp_item);
	return e ? GW_ENOMEM : 0;
oom:
	free(names);
	return GW_ENOMEM;
}

static const char *change_word(enum change ch)
{
	switch (ch) {
	case CH_ADDED: return "added";
	case CH_CHANGED: return "changed";
	case CH_DELETED: return "deleted";
	default: return "invalid";
	}
}

/* A one-word summary of what merging does to it. */
static const char *headline(const struct item *it)
{
	if (it->nerrors)
		return "refused";
	switch (it->ch) {
	case CH_ADDED:
		return it->after->state == STATE_RUNNING ? "new migration starts"
							 : "new migration (not started)";
	case CH_DELETED: return "stops (spec deleted)";
	case CH_CHANGED:
		if (it->before->state != it->after->state)
			return it->after->state == STATE_STOPPED  ? "CUTOVER"
			       : it->after->state == STATE_PAUSED ? "pause"
								  : "resume";
		return "settings change";
	default: return "invalid";
	}
}

/* Markdown text: no table or code breaker from a message. */
static int md(struct buf *b, const char *s)
{
	int e = 0;

	for (; *s; s++) {
		if (*s == '|')
			e |= buf_puts(b, "\\|");
		else if (*s == '<')
			e |= buf_puts(b, "&lt;");
		else if (*s == '\n' || *s == '\r')
			e |= buf_putc(b, ' ');
		else
			e |= buf_putc(b, *s);
	}
	return e;
}

/* Each line of text as a list item. */
static int md_list(struct buf *b, const char *text, const char *prefix)
{
	const char *p = text, *nl;
	int e = 0;

	for (; p && *p; p = nl ? nl + 1 : NULL) {
		char l[2048];
		size_t n;

		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (!n)
			continue;
		snprintf(l, sizeof(l), "%.*s", (int)n, p);
		e |= buf_printf(b, "- %s", prefix);
		e |= md(b, l);
		e |= buf_putc(b, '\n');
	}
	return e;
}

static int render_markdown(struct buf *b, const struct plan *p, const char *range, const char *base,
			   const char *head, int nerr, int nirr)
{
	size_t i, j;
	int e = 0;

	e |= buf_puts(b, "<!-- godwit-plan -->\n## godwit plan: `");
	e |= md(b, range);
	e |= buf_printf(b, "` (%.12s..%.12s)\n\n", base, head);
	if (!p->n) {
		e |= buf_puts(b, "No spec changes: merging does nothing to the migrations.\n");
		return e;
	}
	e |= buf_printf(b, "%zu spec change%s, %d irreversible step%s, ", p->n,
			p->n == 1 ? "" : "s", nirr, nirr == 1 ? "" : "s");
	if (nerr)
		e |= buf_printf(b, "**%d error%s**: fix them before merging.\n", nerr,
				nerr == 1 ? "" : "s");
	else
		e |= buf_puts(b, "no errors.\n");
	e |=
	    buf_puts(b, "\n| migration | file | change | what merging does |\n|---|---|---|---|\n");
	for (i = 0; i < p->n; i++) {
		const struct item *it = &p->items[i];

		e |= buf_printf(b, "| %s | `", it->name[0] ? it->name : "-");
		e |= md(b, it->file);
		e |= buf_printf(b, "` | %s | %s%s%s |\n", change_word(it->ch),
				it->nerrors ? "ERROR: " : "", headline(it),
				it->irreversible ? " (irreversible)" : "");
	}
	for (i = 0; i < p->n; i++) {
		const struct item *it = &p->items[i];

		if (it->ch == CH_INVALID) {
			e |= buf_puts(b, "\n### ERROR `");
			e |= md(b, it->file);
			e |= buf_puts(b, "` (invalid)\n\n");
			e |= buf_puts(b, "```\n");
			e |= buf_puts(b, buf_cstr(&it->errors));
			e |= buf_puts(b, "```\n");
			continue;
		}
		e |= buf_printf(b, "\n### %s`%s` (", it->nerrors ? "ERROR " : "", it->name);
		e |= md(b, it->file);
		e |= buf_printf(b, ", %s): %s\n\n", change_word(it->ch), headline(it));
		if (it->now[0]) {
			e |= buf_puts(b, "- now: ");
			e |= md(b, it->now);
			e |= buf_putc(b, '\n');
		}
		e |= md_list(b, buf_cstr(&it->effects), "");
		e |= md_list(b, buf_cstr(&it->warnings), "warning: ");
		e |= md_list(b, buf_cstr(&it->errors), "**ERROR**: ");
		if (it->nsteps) {
			e |= buf_puts(b, "\nThe controller then runs");
			if (it->steps_note[0]) {
				e |= buf_puts(b, " (");
				e |= md(b, it->steps_note);
				e |= buf_putc(b, ')');
			}
			e |= buf_puts(b,
				      ":\n\n| # | action | what it does | |\n|---|---|---|---|\n");
			for (j = 0; j < it->nsteps; j++) {
				e |= buf_printf(b, "| %zu | %s | ", j + 1,
						mact_name(it->steps[j].a));
				e |= md(b, it->steps[j].desc);
				e |=
				    buf_printf(b, " | %s |\n",
					       it->steps[j].irreversible ? "**IRREVERSIBLE**" : "");
			}
		} else if (it->steps_note[0]) {
			e |= buf_puts(b, "\nThen: ");
			e |= md(b, it->steps_note);
			e |= buf_puts(b, ".\n");
		}
	}
	return e;
}

static int json_lines(struct buf *b, const char *key, const char *text)
{
	const char *p = text, *nl;
	int e = 0, first = 1;

	e |= buf_printf(b, ", \"%s\": [", key);
	for (; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl == p)
			continue;
		e |= buf_puts(b, first ? "" : ", ");
		e |= json_strn(b, p, nl ? (size_t)(nl - p) : strlen(p));
		first = 0;
	}
	return e | buf_putc(b, ']');
}

static int render_json(struct buf *b, const struct plan *p, const char *base, const char *head,
		       const char *mbase, int nerr, int nirr)
{
	size_t i, j;
	int e = 0;

	e |= buf_printf(
	    b,
	    "{\"base\": \"%s\", \"head\": \"%s\", \"mergeBase\": \"%s\", \"errors\": %d, "
	    "\"irreversible\": %d, \"changes\": [",
	    base, head, mbase, nerr, nirr);
	for (i = 0; i < p->n; i++) {
		const struct item *it = &p->items[i];

		e |= buf_puts(b, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
		e |= it->name[0] ? json_str(b, it->name) : buf_puts(b, "null");
		e |= buf_puts(b, ", \"file\": ");
		e |= json_str(b, it->file);
		e |= buf_printf(b, ", \"change\": \"%s\", \"summary\": ", change_word(it->ch));
		e |= json_str(b, headline(it));
		if (it->before)
			e |= buf_printf(b, ", \"stateBefore\": \"%s\"",
					plan_state_word(it->before->state));
		if (it->after)
			e |= buf_printf(b, ", \"stateAfter\": \"%s\", \"specHash\": \"%s\"",
					plan_state_word(it->after->state), it->after->hash);
		if (it->now[0]) {
			e |= buf_puts(b, ", \"now\": ");
			e |= json_str(b, it->now);
		}
		e |= json_lines(b, "effects", buf_cstr(&it->effects));
		e |= json_lines(b, "warnings", buf_cstr(&it->warnings));
		e |= json_lines(b, "errors", buf_cstr(&it->errors));
		e |= buf_printf(b, ", \"irreversible\": %d, \"stepsAssume\": ", it->irreversible);
		e |= it->steps_note[0] ? json_str(b, it->steps_note) : buf_puts(b, "null");
		e |= buf_puts(b, ", \"steps\": [");
		for (j = 0; j < it->nsteps; j++) {
			e |= buf_printf(
			    b,
			    "%s{\"step\": %zu, \"action\": \"%s\", \"irreversible\": %s, "
			    "\"description\": ",
			    j ? ", " : "", j + 1, mact_name(it->steps[j].a),
			    it->steps[j].irreversible ? "true" : "false");
			e |= json_str(b, it->steps[j].desc);
			e |= buf_putc(b, '}');
		}
		e |= buf_puts(b, "]}");
	}
	e |= buf_puts(b, "\n]}\n");
	return e;
}

int plan_range(struct buf *out, const char *range, const char *path, const char *state_dir,
	       enum plan_format fmt, struct gw_err *err)
{
	git_repository *repo = NULL;
	git_revspec rs;
	git_oid base, head, mb;
	struct fileset fb, fm, fh, after;
	struct plan p;
	char sb[41], sh[41], sm[41], *dir = NULL;
	size_t i, n;
	int r = GW_EFATAL, nerr = 0, nirr = 0;

	memset(&rs, 0, sizeof(rs));
	memset(&fb, 0, sizeof(fb));
	memset(&fm, 0, sizeof(fm));
	memset(&fh, 0, sizeof(fh));
	memset(&after, 0, sizeof(after));
	memset(&p, 0, sizeof(p));
	if (git_libgit2_init() < 0)
		return err_set(err, GW_EFATAL, "libgit2 failed to start");
	if (path) {
		while (*path == '/')
			path++;
		if ((dir = strdup(path))) {
			n = strlen(dir);
			while (n && dir[n - 1] == '/')
				dir[--n] = '\0';
		}
	}
	if (git_repository_open_ext(&repo, ".", 0, NULL) < 0) {
		err_set(err, GW_EFATAL, "not in a git repository: %s",
			git_error_last() ? git_error_last()->message : "?");
		goto out;
	}
	if (git_revparse(&rs, repo, range) < 0) {
		err_set(err, GW_EFATAL, "--git-range %s: %s", range,
			git_error_last() ? git_error_last()->message : "?");
		goto out;
	}
	if (!(rs.flags & GIT_REVSPEC_RANGE) || !rs.from || !rs.to) {
		err_set(err, GW_EFATAL, "--git-range %s: give BASE..HEAD", range);
		goto out;
	}
	base = *git_object_id(rs.from);
	head = *git_object_id(rs.to);
	{
		git_object *c1 = NULL, *c2 = NULL;

		if (git_object_peel(&c1, rs.from, GIT_OBJECT_COMMIT) < 0 ||
		    git_object_peel(&c2, rs.to, GIT_OBJECT_COMMIT) < 0) {
			git_object_free(c1);
			git_object_free(c2);
			err_set(err, GW_EFATAL, "--git-range %s: not commits", range);
			goto out;
		}
		base = *git_object_id(c1);
		head = *git_object_id(c2);
		git_object_free(c1);
		git_object_free(c2);
	}
	if (git_merge_base(&mb, repo, &base, &head) < 0) {
		err_set(err, GW_EFATAL, "--git-range %s: BASE and HEAD have no common history",
			range);
		goto out;
	}
	git_oid_tostr(sb, sizeof(sb), &base);
	git_oid_tostr(sh, sizeof(sh), &head);
	git_oid_tostr(sm, sizeof(sm), &mb);
	if (load_commit(&fb, repo, &base, dir) < 0 || load_commit(&fm, repo, &mb, dir) < 0 ||
	    load_commit(&fh, repo, &head, dir) < 0) {
		err_set(err, GW_EFATAL, "reading the specs of %s: %s", range,
			git_error_last() ? git_error_last()->message : "out of memory");
		goto out;
	}
	/* changed: HEAD differs from the merge base */
	for (i = 0; i < fh.n; i++) {
		struct pfile *m = fileset_find(&fm, fh.f[i].path);

		fh.f[i].changed = !m || git_oid_cmp(&m->blob, &fh.f[i].blob);
	}
	for (i = 0; i < fm.n; i++)
		if (!fileset_find(&fh, fm.f[i].path)) {
			struct pfile *b = fileset_find(&fb, fm.f[i].path);

			if (b)
				b->changed = true; /* deleted by the range */
		}
	/* after the merge: BASE's files, the changed ones HEAD's */
	for (i = 0; i < fb.n; i++) {
		struct pfile *h = fileset_find(&fh, fb.f[i].path);

		if (h && h->changed)
			continue;
		if (fb.f[i].changed && !h)
			continue; /* deleted */
		if (add_file(&after, fb.f[i].path, &fb.f[i].blob, repo) < 0)
			goto oom;
	}
	for (i = 0; i < fh.n; i++)
		if (fh.f[i].changed) {
			if (add_file(&after, fh.f[i].path, &fh.f[i].blob, repo) < 0)
				goto oom;
			after.f[after.n - 1].changed = true;
		}
	/* before: a file the range changes is a changed file on BASE too */
	for (i = 0; i < fb.n; i++)
		if (fileset_find(&fh, fb.f[i].path) && fileset_find(&fh, fb.f[i].path)->changed)
			fb.f[i].changed = true;
	if (after.n)
		qsort(after.f, after.n, sizeof(*after.f), cmp_pfile);
	if (judge(&p, &fb, &after, state_dir) < 0)
		goto oom;
	for (i = 0; i < p.n; i++) {
		nerr += p.items[i].nerrors;
		nirr += p.items[i].irreversible;
	}
	if ((fmt == PLAN_JSON ? render_json(out, &p, sb, sh, sm, nerr, nirr)
			      : render_markdown(out, &p, range, sb, sh, nerr, nirr)) != 0)
		goto oom;
	r = nerr ? 1 : 0;
	goto out;
oom:
	err_set(err, GW_ENOMEM, "out of memory");
	r = GW_ENOMEM;
out:
	plan_release(&p);
	fileset_release(&fb);
	fileset_release(&fm);
	fileset_release(&fh);
	fileset_release(&after);
	git_object_free(rs.from);
	git_object_free(rs.to);
	git_repository_free(repo);
	free(dir);
	(void)git_libgit2_shutdown();
	return r;
}
