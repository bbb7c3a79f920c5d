/*
 * godwit validate PATH...: loads every spec named (directories walked for
 * *.yaml and *.yml, sorted, dot-entries skipped) and prints "FILE: ok" or
 * the diagnostics. Two valid specs with one metadata.name are an error too:
 * the controller would see one migration; so are two that write the same
 * destination objects (spec_overlap): the later one is reported.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "lib/buf.h"
#include "spec/overlap.h"
#include "spec/spec.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/banned.h"

struct file_list {
	char **v;
	size_t n, cap;
};

static int list_add(struct file_list *l, const char *path)
{
	char *p = strdup(path);

	if (!p)
		return GW_ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(p);
			return GW_ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

static bool is_spec_name(const char *name)
{
	size_t len = strlen(name);

	return (len > 5 && !strcmp(name + len - 5, ".yaml")) ||
	       (len > 4 && !strcmp(name + len - 4, ".yml"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Appends the spec files under dir, sorted, depth first. A path that
 * cannot be read is reported and sets *bad; the walk goes on, so that
 * one broken entry hides no other spec's errors. Returns 0 or GW_ENOMEM.
 */
static int walk_dir(struct file_list *out, const char *dir, int depth, int *bad)
{
	struct file_list names = {NULL, 0, 0};
	struct dirent *de;
	DIR *d;
	size_t i;
	int r = 0;

	if (depth > 32) {
		fprintf(stderr, "%s: directories nested too deeply\n", dir);
		*bad = 1;
		return 0;
	}
	if (!(d = opendir(dir))) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		*bad = 1;
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (r = list_add(&names, de->d_name)) < 0)
			break;
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (i = 0; r == 0 && i < names.n; i++) {
		struct buf path = BUF_INIT;
		struct stat st;

		if (buf_printf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			       names.v[i]) < 0) {
			r = GW_ENOMEM;
		} else if (stat(buf_cstr(&path), &st) < 0) {
			/* A dangling symlink: only an error when it looks like a spec. */
			if (is_spec_name(names.v[i])) {
				fprintf(stderr, "%s: %s\n", buf_cstr(&path), strerror(errno));
				*bad = 1;
			}
		} else if (S_ISDIR(st.st_mode)) {
			r = walk_dir(out, buf_cstr(&path), depth + 1, bad);
		} else if (is_spec_name(names.v[i])) {
			r = list_add(out, buf_cstr(&path));
		}
		buf_release(&path);
	}
	for (i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	return r;
}

int cmd_validate(int argc, char **argv)
{
	struct file_list files = {NULL, 0, 0};
	char **pos = NULL, **names = NULL;
	struct spec **specs = NULL;
	struct stat *ids = NULL;
	size_t npos = 0, i, j;
	int rc, bad = 0;

	if ((rc = cli_parse("validate", argc, argv, NULL, 0, &pos, &npos)) != 0)
		return rc;
	if (npos == 0) {
		fprintf(stderr, "godwit validate: no PATH given (see godwit validate --help)\n");
		free(pos);
		return 2;
	}
	for (i = 0; i < npos; i++) {
		struct stat st;
		size_t before = files.n;

		if (stat(pos[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", pos[i], strerror(errno));
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			int walk_bad = 0;

			if (walk_dir(&files, pos[i], 0, &walk_bad) < 0)
				goto oom;
			if (walk_bad)
				bad = 1;
			else if (files.n == before) {
				fprintf(stderr, "%s: no spec files (*.yaml, *.yml)\n", pos[i]);
				bad = 1;
			}
		} else if (list_add(&files, pos[i]) < 0) {
			goto oom;
		}
	}
	if (files.n &&
	    (!(names = calloc(files.n, sizeof(*names))) || !(ids = calloc(files.n, sizeof(*ids))) ||
	     !(specs = calloc(files.n, sizeof(*specs)))))
		goto oom;
	for (i = 0; i < files.n; i++) {
		struct diag_list diags = DIAG_LIST_INIT;
		struct buf out = BUF_INIT;
		struct spec *s = NULL;
		struct stat st;

		/* A file named twice (a directory and one of its files) is one
		 * spec, not two with the same name. */
		if (stat(files.v[i], &st) == 0) {
			for (j = 0; j < i; j++)
				if (ids[j].st_ino == st.st_ino && ids[j].st_dev == st.st_dev &&
				    ids[j].st_nlink)
					break;
			if (j < i)
				continue;
			ids[i] = st;
		}

		if (spec_load_file(&s, files.v[i], &diags) < 0) {
			bad = 1;
			if (diag_list_format(&out, &diags) < 0) {
				diag_list_release(&diags);
				buf_release(&out);
				goto oom;
			}
			fputs(buf_cstr(&out), stderr);
		} else {
			for (j = 0; j < i; j++)
				if (names[j] && !strcmp(names[j], s->name))
					break;
			if (j < i) {
				fprintf(stderr, "%s: metadata.name '%s' is also used by %s\n",
					files.v[i], s->name, files.v[j]);
				bad = 1;
			} else {
				names[i] = s->name;
				specs[i] = s;
				s = NULL;
			}
		}
		spec_free(s);
		diag_list_release(&diags);
		buf_release(&out);
	}
	/* Two specs writing the same destination objects: the later one (in
	 * file order) is refused by the controller; said here first. */
	for (i = 0; i < files.n; i++) {
		struct buf why = BUF_INIT;
		int r = 0;

		for (j = 0; j < i && specs[i] && r == 0; j++)
			if (specs[j] && (r = spec_overlap(specs[j], specs[i], &why)) > 0)
				fprintf(stderr, "%s: conflicts with %s (declared first): %s\n",
					files.v[i], files.v[j], buf_cstr(&why));
		if (r < 0) {
			buf_release(&why);
			goto oom;
		}
		if (r > 0)
			bad = 1;
		else if (specs[i])
			printf("%s: ok\n", files.v[i]);
		buf_release(&why);
	}
	rc = bad;
	goto out;
oom:
	fprintf(stderr, "godwit validate: out of memory\n");
	rc = 1;
out:
	for (i = 0; i < files.n; i++) {
		free(files.v[i]);
		if (specs)
			spec_free(specs[i]); /* its name is in names[i] */
		else if (names)
			free(names[i]);
	}
	free(specs);
	free(files.v);
	free(names);
	free(ids);
	free(pos);
	fflush(stdout);
	return rc;
}
