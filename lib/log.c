#include "lib/common.h"
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

static enum log_level level = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level log_get_level(void)
{
	return level;
}

int log_level_parse(const char *s)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(s, names[i]))
			return (int)i;
	return -1;
}

void log_msg(enum log_level lvl, const char *task, const char *fmt, ...)
{
	static const char *tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
	char line[4096];
	struct tm tm;
	time_t now;
	va_list ap;
	size_t n;
	int r;

	if (lvl > level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	r = snprintf(line + n, sizeof(line) - n, "%s %s%s%s", tags[lvl], task ? "[" : "",
		     task ? task : "", task ? "] " : "");
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0) {
		size_t start = n, i;

		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
		/* one entry, one line (a spec's diagnostics come several) */
		while (n > start && line[n - 1] == '\n')
			n--;
		for (i = start; i < n; i++)
			if (line[i] == '\n')
				line[i] = ' ';
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
