/*
 * Whether two migrations write the same destination objects. Two specs
 * that copy into one destination database without table lists, or into
 * one table, would overwrite (and, with incremental, delete) each other's
 * rows: the controller refuses the later-declared one (condition
 * Conflict), `godwit validate` and `godwit plan --git-range` report it.
 *
 * Pure: no I/O, so a destination named two ways that only DNS could tell
 * apart (a host name and its address) is not recognised as one.
 */
#ifndef GODWIT_OVERLAP_H
#define GODWIT_OVERLAP_H

#include "lib/common.h"
#include "lib/buf.h"
#include "spec/spec.h"

/*
 * 1 when a and b write overlapping destination objects: the same
 * destination instance (host and port, loopback names alike; or the same
 * rds instance) and a database both write as a whole, or a whole database
 * one writes and a table of it the other writes (not left out by the
 * whole one's excludeTables), or the same table. Names compare without
 * case (a server with lower_case_table_names folds them). When why is not
 * NULL a sentence naming both migrations, the object and the instance is
 * appended to it. 0 when they do not overlap; GW_ENOMEM when why could not
 * grow.
 */
int spec_overlap(const struct spec *a, const struct spec *b, struct buf *why);

#endif
