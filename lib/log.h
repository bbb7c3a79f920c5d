/*
 * Logging to stderr, one line per call:
 *   2026-11-24T01:02:03Z INFO  [task] message
 * The level is checked before anything is formatted. `task` may be NULL for
 * lines that belong to no migration. Never pass a secret in.
 * Thread-safe: a line is written with one write(2).
 */
#ifndef GODWIT_LOG_H
#define GODWIT_LOG_H

#include "lib/common.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
void log_msg(enum log_level lvl, const char *task, const char *fmt, ...) PRINTF_LIKE(3, 4);

#define log_error(task, ...) log_msg(LOG_ERROR, task, __VA_ARGS__)
#define log_warn(task, ...) log_msg(LOG_WARN, task, __VA_ARGS__)
#define log_info(task, ...)                                   \
	do {                                                  \
		if (log_get_level() >= LOG_INFO)              \
			log_msg(LOG_INFO, task, __VA_ARGS__); \
	} while (0)
#define log_debug(task, ...)                                   \
	do {                                                   \
		if (log_get_level() >= LOG_DEBUG)              \
			log_msg(LOG_DEBUG, task, __VA_ARGS__); \
	} while (0)

#endif
