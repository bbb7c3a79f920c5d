/*
 * The controllers that share one state directory (replicas on a shared
 * volume, or several controllers started with the same --state-dir).
 * Each holds an flock on STATE_DIR/controllers/FILE.lock, FILE being its
 * --id made into a file name, for as long as it runs: the kernel lets go
 * of it when the process dies, however it dies, so whether a controller
 * named in a file still runs is a question the file system answers.
 *
 * What they share is written so that each migration has one writer
 * (controller.c decides who), and STATE_DIR/metrics.prom holds every
 * running controller's migrations: each writes its own part
 * (controllers/FILE.prom, what its /metrics serves) and merges the parts
 * of the running ones into metrics.prom; the parts of controllers that
 * died are removed by whoever merges next.
 *
 * Everything here is called from the loop and never waits: a lock held by
 * another process is a "not now", tried again later.
 */
#ifndef GODWIT_PEERS_H
#define GODWIT_PEERS_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"

struct peers;

/* Takes this controller's place in STATE_DIR/controllers. A controller of
 * the same id running on the directory is an error (GW_EFATAL). */
int peers_join(struct peers **out, const char *state_dir, const char *id, struct gw_err *err);
/* Whether a controller named id runs on this state directory (itself
 * included). Answers are kept for a second or two. */
bool peers_alive(struct peers *p, const char *id);
/* This controller's part of metrics.prom (the Prometheus text of the
 * migrations it reports): written when it changed, then metrics.prom
 * rebuilt from the parts of every running controller (also every few
 * seconds, for the others' changes and the parts of dead ones). */
void peers_write_metrics(struct peers *p, const struct buf *mine, int64_t now_mono_ms);
/* Merges Prometheus text parts: each family once (its HELP and TYPE from
 * the first part that has them), its samples in the order of the parts,
 * a sample (name and labels) already given by an earlier part left out.
 * Appends to out. */
int peers_merge_metrics(struct buf *out, const struct buf *parts, size_t nparts);
/* Removes this controller's part and lock file, and lets go of it. */
void peers_free(struct peers *p);

#endif
