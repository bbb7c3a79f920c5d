/*
 * The stages of a migration recorded on the destination (the meta
 * database's task_stage, written by engine/meta.c in the same place as the
 * data): which irreversible steps are done. The phase machine reasons on
 * them; a task's row holds the highest reached.
 */
#ifndef GODWIT_STAGE_H
#define GODWIT_STAGE_H

enum meta_stage {
	META_NONE = 0,
	META_SCHEMA_DONE = 1,	 /* SCHEMA_CREATE done */
	META_FULL_STARTED = 2,	 /* hand-off position recorded, data moving */
	META_FULL_DONE = 3,	 /* every chunk copied */
	META_POST_FULL_DONE = 4, /* SCHEMA_AFTER_FULL done */
	META_CUTOVER_DONE = 5,	 /* incremental stopped, SCHEMA_CUTOVER done */
};

/* "none", "schema_done", ... as stored and shown. */
const char *meta_stage_name(enum meta_stage st);

#endif
