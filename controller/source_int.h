/* Internals shared by the spec sources (source.c, source_dir.c, source_git.c). */
#ifndef GODWIT_SOURCE_INT_H
#define GODWIT_SOURCE_INT_H

#include "controller/source.h"

struct source_ops {
	int (*fd)(struct source *s);
	bool (*changed)(struct source *s);
	/* Fills files, revision and complete; source.c computes `deleted`. */
	int (*snapshot)(struct source *s, struct source_snapshot *out, struct gw_err *err);
	void (*refresh)(struct source *s);
	const char *(*last_error)(struct source *s);
	void (*free)(struct source *s);
	/* git: who deleted path (fills commit/author/time); NULL for dir. */
	void (*attribute_deletion)(struct source *s, struct spec_deleted *d);
};

struct source {
	const struct source_ops *ops;
	char **prev_paths; /* the previous snapshot's files, sorted */
	size_t nprev;
	bool have_prev;
};

/* Appends a file to a snapshot (takes a copy of path and content). */
int source_snapshot_add(struct source_snapshot *snap, const char *path, const char *content,
			size_t len);
/* Whether a name is a spec file: *.yaml or *.yml, not hidden. */
bool source_is_spec_name(const char *name);

#endif
