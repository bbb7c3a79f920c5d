#include "lib/common.h"
#include "controller/peers.h"
#include "lib/log.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

/* How long an answer of peers_alive() is kept. */
#define ALIVE_CACHE_MS 2000
/* metrics.prom is rebuilt at least this often (the others' changes). */
#define MERGE_EVERY_MS 5000
/* How long peers_join() tries while a lock file is being cleaned up. */
#define JOIN_TRIES 20

struct alive_entry {
	char id[128];
	bool alive;
	int64_t checked_ms;
};

struct peers {
	char *dir; /* STATE_DIR/controllers */
	char *state_dir;
	char id[128];
	char file[160];	 /* the id as a file name, without extension */
	int fd;		 /* our lock file, flocked */
	struct buf part; /* our part as last written */
	bool wrote_part;
	bool merge_due;
	int64_t next_merge_ms;
	struct alive_entry *alive;
	size_t nalive;
};

/* The state directory's file mode (private, or group-readable with
 * --state-group-read): its directory mode without the search bits. */
static mode_t file_mode(void)
{
	return (mode_t)(util_dir_mode() & 0666);
}

/* An id as a file name: [A-Za-z0-9._-] kept, anything else '_', and then
 * a hash of the id so that two ids do not meet in one name. */
static void file_of(char *out, size_t outsz, const char *id)
{
	char h[65];
	size_t i, n = 0;
	bool changed = id[0] == '.' || !id[0];

	for (i = 0; id[i] && n + 1 < outsz && n < 100; i++) {
		char ch = id[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';

		out[n++] = ok ? ch : '_';
		changed |= !ok;
	}
	out[n] = '\0';
	if (changed || id[i]) {
		util_sha256_hex(h, id, strlen(id));
		(void)snprintf(out + n, outsz - n, "-%.8s", h);
	}
}

static int path_of(char *out, size_t outsz, const struct peers *p, const char *file,
		   const char *ext)
{
	int n = snprintf(out, outsz, "%s/%s%s", p->dir, file, ext);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/*
 * Whether the controller of lock file FILE.lock runs: its lock is held.
 * With cleanup, a dead one's files are removed (under its lock, so that a
 * controller starting under that name sees its file go and makes another).
 */
static bool probe(struct peers *p, const char *file, bool cleanup)
{
	char path[4096];
	bool alive = false;
	int fd;

	if (path_of(path, sizeof(path), p, file, ".lock") < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if (flock(fd, (cleanup ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		alive = errno == EWOULDBLOCK;
	} else if (cleanup) {
		(void)unlink(path);
		if (path_of(path, sizeof(path), p, file, ".prom") == 0)
			(void)unlink(path);
		log_debug(NULL, "state directory: controller file %s removed (not running)", file);
	}
	close(fd);
	return alive;
}

int peers_join(struct peers **out, const char *state_dir, const char *id, struct gw_err *err)
{
	struct peers *p = calloc(1, sizeof(*p));
	struct buf b = BUF_INIT;
	char path[4096];
	int r, tries;

	*out = NULL;
	if (!p)
		return err_set(err, GW_ENOMEM, "out of memory");
	p->fd = -1;
	snprintf(p->id, sizeof(p->id), "%s", id);
	file_of(p->file, sizeof(p->file), id);
	if (buf_printf(&b, "%s/controllers", state_dir) < 0 ||
	    !(p->state_dir = strdup(state_dir))) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto fail;
	}
	p->dir = buf_detach(&b, NULL);
	if ((r = util_mkdir_p(p->dir, util_dir_mode())) < 0) {
		r = err_set(err, GW_EFATAL, "%s: %s", p->dir, strerror(-r));
		goto fail;
	}
	if (path_of(path, sizeof(path), p, p->file, ".lock") < 0) {
		r = err_set(err, GW_EFATAL, "%s: name too long", p->dir);
		goto fail;
	}
	for (tries = 0; tries < JOIN_TRIES; tries++) {
		struct stat a, f;

		if ((p->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, file_mode())) < 0) {
			r = err_set(err, GW_EFATAL, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (flock(p->fd, LOCK_EX | LOCK_NB) == 0) {
			/* still the file of that name (not one removed meanwhile) */
			if (fstat(p->fd, &f) == 0 && stat(path, &a) == 0 && a.st_ino == f.st_ino &&
			    a.st_dev == f.st_dev)
				break;
		} else if (errno != EWOULDBLOCK) {
			r = err_set(err, GW_EFATAL, "%s: flock: %s", path, strerror(errno));
			goto fail;
		}
		close(p->fd);
		p->fd = -1;
		/* held: a probe of another controller (a moment), or a
		 * controller of this id */
		util_sleep_ms(50, NULL);
	}
	if (p->fd < 0) {
		r = err_set(err, GW_EFATAL,
			    "another controller with the id '%s' runs on the state directory %s "
			    "(%s is locked): give each its own --id",
			    id, state_dir, path);
		goto fail;
	}
	if (buf_printf(&b, "%s\n%ld\n", id, (long)getpid()) < 0 || ftruncate(p->fd, 0) < 0 ||
	    write(p->fd, b.ptr, b.len) != (ssize_t)b.len)
		log_warn(NULL, "%s: cannot write the controller's name", path);
	buf_release(&b);
	p->merge_due = true;
	*out = p;
	return 0;
fail:
	buf_release(&b);
	peers_free(p);
	return r;
}

bool peers_alive(struct peers *p, const char *id)
{
	struct alive_entry *e = NULL, *ne;
	int64_t now = util_now_mono_ms();
	char file[160];
	size_t i;

	if (!strcmp(id, p->id))
		return true;
	for (i = 0; i < p->nalive; i++)
		if (!strcmp(p->alive[i].id, id)) {
			e = &p->alive[i];
			break;
		}
	if (e && now - e->checked_ms < ALIVE_CACHE_MS)
		return e->alive;
	if (!e) {
		if (!(ne = realloc(p->alive, (p->nalive + 1) * sizeof(*ne))))
			return true; /* not known: believed */
		p->alive = ne;
		e = &ne[p->nalive++];
		snprintf(e->id, sizeof(e->id), "%s", id);
	}
	file_of(file, sizeof(file), id);
	e->alive = probe(p, file, false);
	e->checked_ms = now;
	return e->alive;
}

/* --- merging the parts --- */

struct family {
	char *name;
	char *help; /* the whole line, or NULL */
	char *type;
	struct buf samples;
	char **keys; /* name{labels} of each sample */
	size_t nkeys;
};

struct families {
	struct family *v;
	size_t n;
};

static struct family *family_get(struct families *fs, const char *name, size_t len)
{
	struct family *nv;
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (strlen(fs->v[i].name) == len && !memcmp(fs->v[i].name, name, len))
			return &fs->v[i];
	if (!(nv = realloc(fs->v, (fs->n + 1) * sizeof(*nv))))
		return NULL;
	fs->v = nv;
	memset(&nv[fs->n], 0, sizeof(nv[fs->n]));
	if (!(nv[fs->n].name = strndup(name, len)))
		return NULL;
	return &fs->v[fs->n++];
}

static void families_release(struct families *fs)
{
	size_t i, j;

	for (i = 0; i < fs->n; i++) {
		free(fs->v[i].name);
		free(fs->v[i].help);
		free(fs->v[i].type);
		buf_release(&fs->v[i].samples);
		for (j = 0; j < fs->v[i].nkeys; j++)
			free(fs->v[i].keys[j]);
		free(fs->v[i].keys);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

/* One line of a part (without its newline). */
static int merge_line(struct families *fs, const char *l, size_t len)
{
	const char *name, *end;
	struct family *f;
	char **nk;
	size_t i;

	if (len > 7 && (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7))) {
		char **slot;

		name = l + 7;
		end = memchr(name, ' ', len - 7);
		if (!end || !(f = family_get(fs, name, (size_t)(end - name))))
			return end ? GW_ENOMEM : 0;
		slot = l[2] == 'H' ? &f->help : &f->type;
		if (!*slot && !(*slot = strndup(l, len)))
			return GW_ENOMEM;
		return 0;
	}
	if (!len || l[0] == '#')
		return 0;
	for (end = l; end < l + len && *end != '{' && *end != ' '; end++)
		;
	if (!(f = family_get(fs, l, (size_t)(end - l))))
		return GW_ENOMEM;
	/* the sample's identity: everything before the value */
	for (end = l + len; end > l && end[-1] != ' '; end--)
		;
	for (i = 0; i < f->nkeys; i++)
		if (strlen(f->keys[i]) == (size_t)(end - l) &&
		    !memcmp(f->keys[i], l, (size_t)(end - l)))
			return 0;
	if (!(nk = realloc(f->keys, (f->nkeys + 1) * sizeof(*nk))))
		return GW_ENOMEM;
	f->keys = nk;
	if (!(nk[f->nkeys] = strndup(l, (size_t)(end - l))))
		return GW_ENOMEM;
	f->nkeys++;
	if (buf_add(&f->samples, l, len) < 0 || buf_putc(&f->samples, '\n') < 0)
		return GW_ENOMEM;
	return 0;
}

int peers_merge_metrics(struct buf *out, const struct buf *parts, size_t nparts)
{
	struct families fs = {NULL, 0};
	size_t i;
	int r = 0;

	for (i = 0; i < nparts && r == 0; i++) {
		const char *p = parts[i].ptr, *end = p ? p + parts[i].len : NULL, *nl;

		for (; p && p < end && r == 0; p = nl + 1) {
			if (!(nl = memchr(p, '\n', (size_t)(end - p))))
				nl = end;
			r = merge_line(&fs, p, (size_t)(nl - p));
		}
	}
	for (i = 0; i < fs.n && r == 0; i++) {
		struct family *f = &fs.v[i];

		if ((f->help && (buf_puts(out, f->help) < 0 || buf_putc(out, '\n') < 0)) ||
		    (f->type && (buf_puts(out, f->type) < 0 || buf_putc(out, '\n') < 0)) ||
		    buf_add(out, f->samples.ptr ? f->samples.ptr : "", f->samples.len) < 0)
			r = GW_ENOMEM;
	}
	families_release(&fs);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rebuilds metrics.prom from the parts of the running controllers; false
 * when another controller is at it (then later). */
static bool merge(struct peers *p)
{
	struct buf *parts = NULL, all = BUF_INIT, cur = BUF_INIT;
	char path[4096], **names = NULL, **nn;
	size_t n = 0, np = 0, i;
	struct dirent *de;
	bool done = false;
	int lk = -1;
	DIR *d = NULL;

	if (path_of(path, sizeof(path), p, ".merge", ".lock") < 0 ||
	    (lk = open(path, O_RDWR | O_CREAT | O_CLOEXEC, file_mode())) < 0)
		return true; /* nothing to be done about it: not again and again */
	if (flock(lk, LOCK_EX | LOCK_NB) < 0) {
		close(lk);
		return errno != EWOULDBLOCK;
	}
	if (!(d = opendir(p->dir)))
		goto out;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char base[256];

		if (de->d_name[0] == '.' || l <= 5 || l - 5 >= sizeof(base))
			continue;
		memcpy(base, de->d_name, l - 5);
		base[l - 5] = '\0';
		if (!strcmp(de->d_name + l - 5, ".lock")) {
			if (strcmp(base, p->file))
				(void)probe(p, base, true);
			continue;
		}
		if (strcmp(de->d_name + l - 5, ".prom"))
			continue;
		if (strcmp(base, p->file) && !probe(p, base, false)) {
			/* a part whose controller is gone */
			if (path_of(path, sizeof(path), p, base, ".prom") == 0)
				(void)unlink(path);
			continue;
		}
		if (!(nn = realloc(names, (n + 1) * sizeof(*nn))) || !(nn[n] = strdup(base))) {
			names = nn ? nn : names;
			goto out;
		}
		names = nn;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	if (n && !(parts = calloc(n, sizeof(*parts))))
		goto out;
	for (i = 0; i < n; i++) {
		if (!strcmp(names[i], p->file)) {
			if (buf_add(&parts[np++], p->part.ptr ? p->part.ptr : "", p->part.len) < 0)
				goto out;
		} else if (path_of(path, sizeof(path), p, names[i], ".prom") == 0 &&
			   util_read_file(&parts[np], path) == 0) {
			np++;
		}
	}
	if (peers_merge_metrics(&all, parts, np) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/metrics.prom", p->state_dir);
	if (util_read_file(&cur, path) < 0 || cur.len != all.len ||
	    (all.len && memcmp(cur.ptr, all.ptr, all.len))) {
		if (util_write_file_atomic(path, all.ptr ? all.ptr : "", all.len) < 0)
			log_warn(NULL, "cannot write %s", path);
	}
	done = true;
out:
	if (d)
		closedir(d);
	for (i = 0; i < n; i++) {
		free(names[i]);
		if (parts)
			buf_release(&parts[i]);
	}
	free(names);
	free(parts);
	buf_release(&all);
	buf_release(&cur);
	close(lk); /* and its lock */
	return done;
}

void peers_write_metrics(struct peers *p, const struct buf *mine, int64_t now_mono_ms)
{
	char path[4096];

	if (!p->wrote_part || p->part.len != mine->len ||
	    (mine->len && memcmp(p->part.ptr, mine->ptr, mine->len))) {
		buf_reset(&p->part);
		if (buf_add(&p->part, mine->ptr ? mine->ptr : "", mine->len) < 0 ||
		    path_of(path, sizeof(path), p, p->file, ".prom") < 0 ||
		    util_write_file_atomic(path, p->part.ptr ? p->part.ptr : "", p->part.len) < 0) {
			buf_reset(&p->part);
			p->wrote_part = false;
			log_warn(NULL, "cannot write this controller's metrics under %s", p->dir);
			return;
		}
		p->wrote_part = true;
		p->merge_due = true;
	}
	if (!p->merge_due && now_mono_ms < p->next_merge_ms)
		return;
	if (merge(p)) {
		p->merge_due = false;
		p->next_merge_ms = now_mono_ms + MERGE_EVERY_MS;
	}
}

void peers_free(struct peers *p)
{
	char path[4096];

	if (!p)
		return;
	if (p->fd >= 0) {
		if (path_of(path, sizeof(path), p, p->file, ".prom") == 0)
			(void)unlink(path);
		if (path_of(path, sizeof(path), p, p->file, ".lock") == 0)
			(void)unlink(path);
		close(p->fd);
	}
	buf_release(&p->part);
	free(p->alive);
	free(p->dir);
	free(p->state_dir);
	free(p);
}
