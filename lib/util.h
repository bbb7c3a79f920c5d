/* Small shared helpers: parsing durations and sizes, files, hashing. */
#ifndef GODWIT_UTIL_H
#define GODWIT_UTIL_H

#include "lib/common.h"
#include "lib/buf.h"

#include <stdint.h>

/* "500ms", "30s", "5m", "12h", "1d" (also "0", "1h30m") to milliseconds.
 * Returns 0, or -1 when the text is not a duration. */
int util_parse_duration(int64_t *out, const char *s);
/* Formats milliseconds the way util_parse_duration reads them ("1h30m"). */
void util_format_duration(char *out, size_t outsz, int64_t ms);
/* "1024", "50MiB", "1GiB", "10KB" (KB/MB/GB are powers of 1000) to bytes. */
int util_parse_size(uint64_t *out, const char *s);
/* A base-10 integer, whole string, in [min, max]. */
int util_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max);

/* Reads a whole file into out (appended). Returns 0 or -errno. */
int util_read_file(struct buf *out, const char *path);
/* The same from an open file descriptor, to its end (not closed). */
int util_read_fd(struct buf *out, int fd);
/* Files and directories godwit creates are 0600 and 0700 (its state is
 * private); with group set, 0640 and 0750. Set once, at start. */
void util_set_group_readable(bool group);
/* 0700, or 0750 with util_set_group_readable(true). */
unsigned util_dir_mode(void);
/* Replaces path atomically: writes a new path.tmp.PID.N, fsyncs, renames,
 * fsyncs the directory; a reader sees the old content or the new, whole.
 * Safe from several threads. Returns 0 or -errno. */
int util_write_file_atomic(const char *path, const void *data, size_t len);
/* Appends one record and fsyncs (O_APPEND, so concurrent writers each
 * land whole lines). Returns 0 or -errno. */
int util_append_fsync(const char *path, const void *data, size_t len);
/* mkdir -p, mode capped by util_dir_mode(); returns 0 or -errno. */
int util_mkdir_p(const char *path, unsigned mode);

/* SHA-256 of data as 64 lowercase hex digits plus NUL. */
void util_sha256_hex(char out[65], const void *data, size_t len);

/* Milliseconds of CLOCK_MONOTONIC / CLOCK_REALTIME. */
int64_t util_now_mono_ms(void);
int64_t util_now_ms(void);
/* "2026-11-24T01:02:03Z" (UTC) for unix seconds. */
void util_format_time(char out[32], int64_t unix_seconds);
/* Sleeps ms milliseconds, waking early if *cancel becomes non-zero
 * (checked every 50 ms). cancel may be NULL. */
void util_sleep_ms(int64_t ms, const volatile int *cancel);

/* Glob match with * and ? (fnmatch without flags). */
bool util_glob_match(const char *pattern, const char *name);

/* Frees the n strings of v (NULL entries allowed), then v; v may be NULL. */
void util_strv_free(char **v, size_t n);

#endif
