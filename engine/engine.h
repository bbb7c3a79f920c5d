/*
 * The engine's actions (see reconcile/actions.h for the contract), each in
 * its own module: precheck.c, schema.c, copy.c, repl.c, verify.c; and the
 * whitelist action in cloud/whitelist.c.
 */
#ifndef GODWIT_ENGINE_H
#define GODWIT_ENGINE_H

#include "reconcile/actions.h"

int engine_precheck(struct action_io *io, struct precheck_summary *out);
int engine_schema(struct action_io *io, enum schema_stage stage);
int engine_full(struct action_io *io);
int engine_incremental(struct action_io *io);
int engine_verify(struct action_io *io);
int cloud_whitelist_action(struct action_io *io, int add);

#endif
