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
	/* git: the newest commit of the branch that deleted a spec file naming
	 * migration `name` (fills all of d); 0, or GW_ENOTFOUND. NULL for dir. */
	int (*find_deleted)(struct source *s, const char *name, struct spec_deleted *d);
	/* git: when path came to the branch (committer time); 0 unknown. */
	int64_t (*declared)(struct source *s, const char *path);
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

/* git credentials: what to answer the server's round `attempt` (1 first)
 * given what it allows (GIT_CREDENTIAL_* bits), $GODWIT_GIT_TOKEN and
 * $GODWIT_GIT_SSH_KEY. NULL and *kind set, or the reason none fits
 * (written into why). */
enum git_cred_kind {
	GIT_CRED_NONE,
	GIT_CRED_TOKEN,
	GIT_CRED_SSH_KEY,
	GIT_CRED_SSH_AGENT,
	GIT_CRED_USERNAME
};
const char *source_git_cred_choose(enum git_cred_kind *kind, unsigned int allowed, int attempt,
				   const char *token, const char *keyfile, char *why, size_t whysz);
/* One known_hosts host field (a list, or hashed |1|salt|hash) names host. */
bool source_git_known_host_matches(const char *field, const char *host);
/* 0 when known_hosts at path lists host with that raw key; else the
 * reason in why and a negative value. */
int source_git_known_host_check(const char *path, const char *host, const unsigned char *key,
				size_t keylen, char *why, size_t whysz);

#endif
