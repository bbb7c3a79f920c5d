/*
 * Errors. Functions return 0 on success or a negative GW_E* code, and put
 * the message into a struct gw_err owned by the caller (usually the task).
 * The code classifies the failure at the boundary: GW_ERETRY for what may
 * succeed later (connection lost, lock wait, HTTP 5xx, throttling),
 * GW_EFATAL for what will not (access denied, bad SQL, bad input).
 * Messages never contain secrets: callers must not format one in.
 */
#ifndef GODWIT_ERR_H
#define GODWIT_ERR_H

#include "lib/common.h"

enum {
	GW_OK = 0,
	GW_EFATAL = -1,	  /* permanent: a person must change something */
	GW_ERETRY = -2,	  /* transient: retry with backoff */
	GW_ENOMEM = -3,	  /* allocation or buffer limit */
	GW_ECANCEL = -4,  /* the caller asked the work to stop */
	GW_ENOTFOUND = -5 /* the thing asked for does not exist */
};

struct gw_err {
	int code;
	char msg[1024];
};

#define GW_ERR_INIT       \
	{                 \
		0,        \
		{         \
			0 \
		}         \
	}

/* Sets code and message; returns code, so `return err_set(e, ...)` works. */
int err_set(struct gw_err *e, int code, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Prefixes the existing message with "what: " (e.g. the object name). */
void err_prefix(struct gw_err *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
void err_clear(struct gw_err *e);
const char *err_code_name(int code);

#endif
