/*
 * A directory of specs, followed with inotify on the directory itself (not
 * on the files): editors that save by rename (IN_MOVED_TO), plain writes
 * (IN_CLOSE_WRITE), deletes, and Kubernetes ConfigMap mounts, where every
 * file is a symlink through `..data` and an update swaps that one symlink
 * by rename. Any event means "rescan the whole directory"; a burst of
 * events is debounced into one rescan once the directory has been quiet
 * for DEBOUNCE_MS, and a periodic full rescan (every --interval, 60 s by
 * default) catches anything missed. A queue overflow (IN_Q_OVERFLOW) lost
 * events, which ones nobody knows: it is a rescan like any other event,
 * and says so in the log.
 *
 * Only the directory's own *.yaml and *.yml entries are specs (symlinks
 * followed while they stay inside the directory, anywhere only with
 * controller --follow-symlinks); subdirectories and hidden names are not
 * read.
 */
#include "lib/common.h"
#include "controller/source_int.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

#define DEBOUNCE_MS 200
#define RESCAN_MS 60000 /* without --interval */

struct dir_source {
	struct source base;
	char *dir;
	char *real_dir; /* dir with every symlink resolved, at the last
			   snapshot (a directory swapped whole, as git-sync
			   does, is followed) */
	int ifd;
	bool pending;	       /* events seen, rescan not yet reported */
	int64_t last_event_ms; /* monotonic */
	int64_t next_rescan_ms;
	int64_t rescan_ms;
	bool overflowed;       /* an IN_Q_OVERFLOW among the pending events */
	bool watch_lost;       /* IN_IGNORED: the directory went away */
	unsigned long nevents; /* since the last rescan, for the log */
};

static int dir_fd(struct source *s)
{
	return ((struct dir_source *)s)->ifd;
}

static void drain(struct dir_source *d)
{
	char ev[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(d->ifd, ev, sizeof(ev)), off = 0;
		if (n <= 0)
			break;
		while (off + (ssize_t)sizeof(struct inotify_event) <= n) {
			const struct inotify_event *e = (const void *)(ev + off);
			if (e->mask & IN_Q_OVERFLOW)
				d->overflowed = true;
			if ((e->mask & IN_IGNORED) && !d->watch_lost) {
				d->watch_lost = true;
				log_warn(NULL,
					 "spec directory %s was removed or moved away: only the "
					 "periodic rescan follows it now",
					 d->dir);
			}
			d->nevents++;
			off += (ssize_t)sizeof(*e) + e->len;
		}
		d->pending = true;
		d->last_event_ms = util_now_mono_ms();
	}
}

static bool dir_changed(struct source *s)
{
	struct dir_source *d = (struct dir_source *)s;
	int64_t now;

	drain(d);
	now = util_now_mono_ms();
	if (d->pending && now - d->last_event_ms >= DEBOUNCE_MS) {
		if (d->overflowed)
			log_warn(NULL,
				 "spec directory %s: inotify queue overflowed, events lost: "
				 "rescanning the whole directory",
				 d->dir);
		else
			log_debug(NULL, "spec directory %s: rescan after %lu file event(s)", d->dir,
				  d->nevents);
		d->pending = false;
		d->overflowed = false;
		d->nevents = 0;
		d->next_rescan_ms = now + d->rescan_ms;
		return true;
	}
	if (now >= d->next_rescan_ms) {
		log_debug(NULL, "spec directory %s: periodic rescan", d->dir);
		d->next_rescan_ms = now + d->rescan_ms;
		return true;
	}
	return false;
}

static void dir_refresh(struct source *s)
{
	((struct dir_source *)s)->next_rescan_ms = 0;
}

/* Set before the source starts (controller --follow-symlinks). */
static bool follow_outside;

void source_dir_follow_outside_links(bool follow)
{
	follow_outside = follow;
}

/*
 * Reads one spec; -EXDEV when it is (through symlinks) a file outside the
 * directory, which a spec author with push rights could point anywhere
 * the controller can read. Checked on what was opened, not on the name:
 * a swap between the check and the read changes nothing. Kubernetes'
 * `..data` links stay inside.
 */
static int read_spec(struct buf *out, const struct dir_source *d, const char *path)
{
	char link[64], real[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (!follow_outside) {
		size_t dl = strlen(d->real_dir);
		if ((n = readlink(link, real, sizeof(real) - 1)) <= 0) {
			r = -EXDEV;
			goto out;
		}
		real[n] = '\0';
		if (strncmp(real, d->real_dir, dl) || (real[dl] != '/' && dl != 1)) {
			r = -EXDEV;
			goto out;
		}
	}
	r = util_read_fd(out, fd);
out:
	close(fd);
	return r;
}

static int dir_snapshot(struct source *s, struct source_snapshot *out, struct gw_err *err)
{
	struct dir_source *d = (struct dir_source *)s;
	struct buf content = BUF_INIT;
	struct dirent *de;
	DIR *dh;
	int r = 0;

	free(d->real_dir);
	if (!(d->real_dir = realpath(d->dir, NULL)) || !(dh = opendir(d->dir)))
		return err_set(err, GW_ERETRY, "spec directory %s: %s", d->dir, strerror(errno));
	while ((de = readdir(dh)) != NULL) {
		char path[PATH_MAX];
		struct stat st;
		int rr;

		if (!source_is_spec_name(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) < 0) {
			if (errno != ENOENT) { /* ENOENT: a dangling symlink mid-swap */
				log_warn(NULL, "spec %s: %s", path, strerror(errno));
				out->complete = false;
			}
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		buf_reset(&content);
		if ((rr = read_spec(&content, d, path)) < 0) {
			if (rr == -EXDEV) {
				/* not a spec of this directory, as a subdirectory is not */
				log_warn(NULL,
					 "spec %s: a symlink out of the spec directory: not read "
					 "(controller --follow-symlinks reads it)",
					 path);
			} else if (rr != -ENOENT) {
				log_warn(NULL, "spec %s: %s", path, strerror(-rr));
				out->complete = false;
			}
			continue;
		}
		if (source_snapshot_add(out, de->d_name, buf_cstr(&content), content.len) < 0) {
			r = err_set(err, GW_ENOMEM, "spec directory %s: out of memory", d->dir);
			break;
		}
	}
	closedir(dh);
	buf_release(&content);
	return r;
}

static void dir_free(struct source *s)
{
	struct dir_source *d = (struct dir_source *)s;

	if (d->ifd >= 0)
		close(d->ifd);
	free(d->dir);
	free(d->real_dir);
	free(d);
}

static const struct source_ops dir_ops = {
    .fd = dir_fd,
    .changed = dir_changed,
    .snapshot = dir_snapshot,
    .refresh = dir_refresh,
    .free = dir_free,
};

int source_dir_open(struct source **out, const char *dir, int64_t rescan_ms, struct gw_err *err)
{
	struct dir_source *d;
	struct stat st;

	*out = NULL;
	if (stat(dir, &st) < 0)
		return err_set(err, GW_EFATAL, "spec directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(err, GW_EFATAL, "spec directory %s: not a directory", dir);
	if (!(d = calloc(1, sizeof(*d))))
		return err_set(err, GW_ENOMEM, "out of memory");
	d->base.ops = &dir_ops;
	d->rescan_ms = rescan_ms > 0 ? rescan_ms : RESCAN_MS;
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0 || !(d->dir = strdup(dir))) {
		err_set(err, GW_EFATAL, "spec directory %s: inotify: %s", dir, strerror(errno));
		dir_free(&d->base);
		return GW_EFATAL;
	}
	if (inotify_add_watch(d->ifd, dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
				  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		err_set(err, GW_EFATAL, "spec directory %s: inotify: %s", dir, strerror(errno));
		dir_free(&d->base);
		return GW_EFATAL;
	}
	/* The first call of source_changed() reports the initial scan. */
	d->pending = true;
	d->last_event_ms = util_now_mono_ms() - DEBOUNCE_MS;
	d->next_rescan_ms = util_now_mono_ms() + d->rescan_ms;
	*out = &d->base;
	return 0;
}
