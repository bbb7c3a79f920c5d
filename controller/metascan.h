/*
 * The migrations the destinations know: a thread of its own reads, on
 * every destination in use, the task names recorded in its meta database
 * (godwit_meta.task_stage, and the whitelist entries recorded there), so
 * that the controller can find migrations
 * whose spec is gone though neither it nor its state directory knew them
 * (a state directory lost with a pod, say). The loop hands it the specs
 * in use and gets the names back; it never waits on a server itself.
 */
#ifndef GODWIT_METASCAN_H
#define GODWIT_METASCAN_H

#include "lib/common.h"
#include "lib/err.h"

#include <stddef.h>

struct metascan;

#include "engine/meta.h"

/* A task name recorded on a destination, the spec in use whose
 * destination (and meta database) holds it, and the whitelist entries
 * recorded there for it (owned). */
struct meta_found {
	char name[64];
	char via[64];
	struct meta_wl_entry *wl;
	size_t nwl;
};

/* wake(ctx) is called from the thread when a result is ready. */
int metascan_start(struct metascan **out, void (*wake)(void *ctx), void *ctx, struct gw_err *err);
/* Asks for a scan of the destinations of these specs (names and file
 * bytes, copied); replaces a request not yet taken up. Each destination
 * and meta database is read once however many specs share it. */
void metascan_request(struct metascan *m, const char *const *names, const char *const *bytes,
		      const size_t *lens, size_t n);
/* Whether a scan finished since the last call: *found_out (owned by the
 * caller, metascan_found_free()) then lists what it read; destinations
 * that could not be read are logged and left out. */
bool metascan_result(struct metascan *m, struct meta_found **found_out, size_t *n_out);
/* Whether a request is waiting or being worked on. */
bool metascan_busy(struct metascan *m);
/* Stops the thread: a scan waiting on a server is left behind after a
 * moment (the process is ending), not waited for; false then (the MySQL
 * client library is still in use). */
bool metascan_free(struct metascan *m);
void metascan_found_free(struct meta_found *found, size_t n);

#endif
