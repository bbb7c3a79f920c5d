/*
 * Where specs come from: a directory followed with inotify, or a branch of
 * a git repository fetched with libgit2. Both give the controller the same
 * thing: a snapshot of every spec file with its revision, and a pollable
 * file descriptor that becomes readable when a new snapshot may be there.
 * The controller's loop never blocks in a source: git fetches run in a
 * thread of the source's own.
 */
#ifndef GODWIT_SOURCE_H
#define GODWIT_SOURCE_H

#include "lib/common.h"
#include "lib/err.h"

#include <stdint.h>

struct spec_file {
	char *path;    /* relative to the source root, e.g. "team/shop.yaml" */
	char *content; /* the file's bytes (NUL-terminated) */
	size_t len;
	char sha256[65];
	char commit[41];     /* last commit that changed the file; "" for --dir */
	char *author;	     /* "Name <email>" of that commit; NULL for --dir */
	int64_t commit_time; /* unix seconds; 0 for --dir */
};

/* A spec that was in the previous snapshot and is gone from this one. */
struct spec_deleted {
	char *path;
	char commit[41]; /* the commit that deleted it; "" for --dir */
	char *author;	 /* NULL for --dir */
	int64_t commit_time;
};

/*
 * With --verify-commits: the verdict on the fetched tip. The snapshot's
 * specs are those of `applied`, the newest commit that verified (the tip
 * itself when ok); none at all while no commit has verified.
 */
struct source_verify {
	bool enabled;
	bool ok;	      /* the tip verified */
	char tip[41];	      /* the fetched tip that was judged */
	char tip_author[256]; /* "Name <email>", as the commit says */
	char tip_committer[256];
	int64_t tip_time;  /* the tip's commit time, unix seconds */
	char applied[41];  /* where the specs come from; "" none */
	char reason[32];   /* "Signed", "Unsigned", "UnknownKey", ... */
	char signer[256];  /* from the key file: principal or user id */
	char key[128];	   /* the signing key's fingerprint when known */
	char message[768]; /* one sentence, for status and audit */
	uint64_t seq;	   /* grows with every new verdict */
};

struct source_snapshot {
	struct spec_file *files;
	size_t nfiles;
	struct spec_deleted *deleted; /* since the previous snapshot taken */
	size_t ndeleted;
	char revision[41]; /* commit of the snapshot; "" for --dir */
	bool complete;	   /* false when the source could not be read whole
			      (the controller then deletes nothing) */
	struct source_verify verify;
};

struct source;

/* rescan_ms: the periodic full rescan (<= 0: every 60 s). */
int source_dir_open(struct source **out, const char *dir, int64_t rescan_ms, struct gw_err *err);
/* url: file://, https:// (token from $GODWIT_GIT_TOKEN), ssh:// or
 * user@host:path (agent or $GODWIT_GIT_SSH_KEY, known_hosts checked).
 * branch NULL: the remote HEAD. path NULL: the whole tree. The bare clone
 * is cached under cache_dir. verify_file (--verify-commits, see
 * controller/verify.h) NULL: every fetched tip is applied; otherwise only
 * a tip whose signature verifies against it and that descends from the
 * commit last verified (kept in the clone across restarts). */
int source_git_open(struct source **out, const char *url, const char *branch, const char *path,
		    int64_t interval_ms, const char *cache_dir, const char *verify_file,
		    struct gw_err *err);
/*
 * Takes the credentials out of a git URL (https://user:token@host/...):
 * *clean_out (the caller frees it) is the URL without them, which is all
 * that is logged or stored; the credential stays in this process's memory
 * for the git source, which uses it when $GODWIT_GIT_TOKEN is not set.
 * Returns 1 when the URL carried one, 0 when not, GW_ENOMEM.
 */
int source_git_url_take_credential(char **clean_out, const char *url);
/* Specs that are symlinks to files outside the --dir directory are
 * skipped (with a warning) unless this was called with true. */
void source_dir_follow_outside_links(bool follow);
/* Readable when source_changed() may return true. */
int source_fd(struct source *s);
/* Drains the fd; true when the set of specs may have changed (debounced:
 * a burst of file events yields one change). Also true when a periodic
 * full rescan is due. */
bool source_changed(struct source *s);
/* The current specs. Deleted entries are relative to the previous call. */
int source_snapshot(struct source *s, struct source_snapshot *out, struct gw_err *err);
void source_snapshot_release(struct source_snapshot *snap);
/* The commit that removed path (relative to the source root) from the
 * followed branch, its author and time, into d (d->path is not touched);
 * nothing for --dir. For a spec deleted while no controller watched. */
void source_attribute_deletion(struct source *s, const char *path, struct spec_deleted *d);
/* With --git: the newest commit of the followed branch that deleted a
 * spec file whose metadata.name was `name` (a migration recorded on a
 * destination that no spec names now), into d (the caller frees d->path
 * and d->author). GW_ENOTFOUND when the history shows none (or --dir). */
int source_find_deleted(struct source *s, const char *name, struct spec_deleted *d);
/* With --git: when the spec file path (relative to the source root) came
 * to the followed branch, unix seconds: the committer time of the oldest
 * first-parent commit from which on it is there (a file merged from a
 * branch came with the merge). 0 for --dir or when not known. */
int64_t source_declared_time(struct source *s, const char *path);
/* SIGHUP: rescan or fetch now. */
void source_refresh(struct source *s);
/* The last error of a background fetch, or NULL. */
const char *source_last_error(struct source *s);
void source_free(struct source *s);

#endif
