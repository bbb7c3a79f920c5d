/* What the spec sources share: dispatch, snapshots, deletions. */
#include "lib/common.h"
#include "controller/source_int.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int source_fd(struct source *s)
{
	return s->ops->fd(s);
}

bool source_changed(struct source *s)
{
	return s->ops->changed(s);
}

void source_refresh(struct source *s)
{
	s->ops->refresh(s);
}

void source_attribute_deletion(struct source *s, const char *path, struct spec_deleted *d)
{
	char *keep = d->path;

	if (!s->ops->attribute_deletion)
		return;
	/* the op reads d->path: lend it the one asked about */
	d->path = (char *)(uintptr_t)path;
	s->ops->attribute_deletion(s, d);
	d->path = keep;
}

int source_find_deleted(struct source *s, const char *name, struct spec_deleted *d)
{
	memset(d, 0, sizeof(*d));
	return s->ops->find_deleted ? s->ops->find_deleted(s, name, d) : GW_ENOTFOUND;
}

int64_t source_declared_time(struct source *s, const char *path)
{
	return s->ops->declared ? s->ops->declared(s, path) : 0;
}

const char *source_last_error(struct source *s)
{
	return s->ops->last_error ? s->ops->last_error(s) : NULL;
}

static void free_paths(char **paths, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

void source_free(struct source *s)
{
	if (!s)
		return;
	free_paths(s->prev_paths, s->nprev);
	s->ops->free(s);
}

bool source_is_spec_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

int source_snapshot_add(struct source_snapshot *snap, const char *path, const char *content,
			size_t len)
{
	struct spec_file *files, *f;

	files = realloc(snap->files, (snap->nfiles + 1) * sizeof(*files));
	if (!files)
		return GW_ENOMEM;
	snap->files = files;
	f = &files[snap->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	f->content = malloc(len + 1);
	if (!f->path || !f->content) {
		free(f->path);
		free(f->content);
		return GW_ENOMEM;
	}
	memcpy(f->content, content, len);
	f->content[len] = '\0';
	f->len = len;
	util_sha256_hex(f->sha256, content, len);
	snap->nfiles++;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct spec_file *)a)->path, ((const struct spec_file *)b)->path);
}

static bool snapshot_has(const struct source_snapshot *snap, const char *path)
{
	size_t i;

	for (i = 0; i < snap->nfiles; i++)
		if (!strcmp(snap->files[i].path, path))
			return true;
	return false;
}

int source_snapshot(struct source *s, struct source_snapshot *out, struct gw_err *err)
{
	char **paths = NULL;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	out->complete = true;
	if ((r = s->ops->snapshot(s, out, err)) < 0) {
		source_snapshot_release(out);
		return r;
	}
	qsort(out->files, out->nfiles, sizeof(*out->files), cmp_file);
	/* Deletions are only believed from a complete snapshot: a file we
	 * could not read is not a file that was deleted. */
	if (s->have_prev && out->complete) {
		for (i = 0; i < s->nprev; i++) {
			struct spec_deleted *d;
			if (snapshot_has(out, s->prev_paths[i]))
				continue;
			d = realloc(out->deleted, (out->ndeleted + 1) * sizeof(*d));
			if (!d)
				goto oom;
			out->deleted = d;
			d = &d[out->ndeleted];
			memset(d, 0, sizeof(*d));
			if (!(d->path = strdup(s->prev_paths[i])))
				goto oom;
			out->ndeleted++;
			if (s->ops->attribute_deletion)
				s->ops->attribute_deletion(s, d);
		}
	}
	if (!out->complete && s->have_prev)
		return 0; /* keep the previous list for the next deletion check */
	if (out->nfiles && !(paths = calloc(out->nfiles, sizeof(*paths))))
		goto oom;
	for (i = 0; i < out->nfiles; i++)
		if (!(paths[i] = strdup(out->files[i].path))) {
			free_paths(paths, i);
			goto oom;
		}
	free_paths(s->prev_paths, s->nprev);
	s->prev_paths = paths;
	s->nprev = out->nfiles;
	s->have_prev = true;
	return 0;
oom:
	source_snapshot_release(out);
	return err_set(err, GW_ENOMEM, "reading the specs: out of memory");
}

void source_snapshot_release(struct source_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nfiles; i++) {
		free(snap->files[i].path);
		free(snap->files[i].content);
		free(snap->files[i].author);
	}
	for (i = 0; i < snap->ndeleted; i++) {
		free(snap->deleted[i].path);
		free(snap->deleted[i].author);
	}
	free(snap->files);
	free(snap->deleted);
	memset(snap, 0, sizeof(*snap));
}
