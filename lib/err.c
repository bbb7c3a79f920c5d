#include "lib/common.h"
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

int err_set(struct gw_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void err_prefix(struct gw_err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	(void)snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
}

void err_clear(struct gw_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}

const char *err_code_name(int code)
{
	switch (code) {
	case GW_OK: return "ok";
	case GW_EFATAL: return "fatal";
	case GW_ERETRY: return "retryable";
	case GW_ENOMEM: return "out of memory";
	case GW_ECANCEL: return "cancelled";
	case GW_ENOTFOUND: return "not found";
	default: return "error";
	}
}
