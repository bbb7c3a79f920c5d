/*
 * What a running action reports while it works: counters the controller
 * reads to write status files and metrics. Counters are atomics (written by
 * workers, read by the loop); strings are guarded by the mutex and read and
 * written only through the functions below.
 */
#ifndef GODWIT_PROGRESS_H
#define GODWIT_PROGRESS_H

#include "lib/common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* One table of a full copy (or verify). */
struct progress_table {
	char name[260]; /* "db.table" on the source */
	_Atomic uint64_t rows_done;
	_Atomic uint64_t rows_total; /* estimated */
	_Atomic uint64_t bytes_done;
	_Atomic int64_t started_mono_ms;  /* 0: not started */
	_Atomic int64_t finished_mono_ms; /* 0: not finished */
};

/* A copy of one table's counters, for readers. */
struct progress_table_view {
	char name[260];
	uint64_t rows_done, rows_total, bytes_done;
	int64_t started_mono_ms, finished_mono_ms;
};

struct progress {
	_Atomic uint64_t rows_done;  /* full copy: rows written */
	_Atomic uint64_t rows_total; /* full copy: estimated rows */
	_Atomic uint64_t bytes_done; /* full copy: bytes written */
	_Atomic uint64_t tables_done;
	_Atomic uint64_t tables_total;
	_Atomic uint64_t events_applied; /* incremental: row changes applied */
	_Atomic uint64_t txns_applied;	 /* incremental: transactions applied */
	_Atomic int64_t delay_seconds;	 /* incremental: -1 until known */
	_Atomic int64_t last_event_unix; /* source time of newest applied event */
	_Atomic int caught_up;		 /* incremental: nothing pending */
	/* incremental: source time of the event being applied, 0 when idle.
	 * delay_seconds is updated between events only; this lets the delay
	 * be seen growing while one apply waits (a lock on the destination). */
	_Atomic int64_t applying_unix;
	_Atomic int64_t started_mono_ms; /* when the current action started */
	pthread_mutex_t mu;
	char position[4096];	       /* source binlog position applied (GTID set or file:pos) */
	char detail[512];	       /* e.g. "copying sakila.rental" */
	struct progress_table *tables; /* guarded by mu; counters atomic */
	size_t ntables;
};

void progress_init(struct progress *p);
void progress_release(struct progress *p);
/* Resets counters (not the position) for a new action. */
void progress_reset(struct progress *p);
/* The incremental delay now: delay_seconds, or more while the event being
 * applied waits; `live` says whether the incremental stream still runs. */
int64_t progress_delay(struct progress *p, int64_t now_unix, bool live);
void progress_set_position(struct progress *p, const char *pos);
void progress_get_position(struct progress *p, char *out, size_t outsz);
void progress_set_detail(struct progress *p, const char *fmt, ...) PRINTF_LIKE(2, 3);
void progress_get_detail(struct progress *p, char *out, size_t outsz);
/* Replaces the per-table list with n zeroed entries and returns it (NULL
 * when out of memory: the copy goes on without per-table counters). The
 * array is owned by p, valid until the next progress_tables_set(),
 * progress_reset() or progress_release(); the action that set it writes
 * its counters. */
struct progress_table *progress_tables_set(struct progress *p, size_t n);
/* Copies at most max entries into out (the caller's array); returns the
 * number of tables in the list (which may be more than max). */
size_t progress_tables_get(struct progress *p, struct progress_table_view *out, size_t max);

#endif
