#include "lib/common.h"
#include "reconcile/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void progress_init(struct progress *p)
{
	memset(p, 0, sizeof(*p));
	atomic_store(&p->delay_seconds, -1);
	pthread_mutex_init(&p->mu, NULL);
}

void progress_release(struct progress *p)
{
	free(p->tables);
	p->tables = NULL;
	p->ntables = 0;
	pthread_mutex_destroy(&p->mu);
}

void progress_reset(struct progress *p)
{
	atomic_store(&p->applying_unix, 0);
	atomic_store(&p->rows_done, 0);
	atomic_store(&p->rows_total, 0);
	atomic_store(&p->bytes_done, 0);
	atomic_store(&p->tables_done, 0);
	atomic_store(&p->tables_total, 0);
	pthread_mutex_lock(&p->mu);
	p->detail[0] = '\0';
	free(p->tables);
	p->tables = NULL;
	p->ntables = 0;
	pthread_mutex_unlock(&p->mu);
}

int64_t progress_delay(struct progress *p, int64_t now_unix, bool live)
{
	int64_t d = atomic_load(&p->delay_seconds), a = atomic_load(&p->applying_unix);

	if (live && d >= 0 && a > 0 && now_unix - a > d)
		d = now_unix - a;
	return d;
}

void progress_set_position(struct progress *p, const char *pos)
{
	pthread_mutex_lock(&p->mu);
	(void)snprintf(p->position, sizeof(p->position), "%s", pos);
	pthread_mutex_unlock(&p->mu);
}

void progress_get_position(struct progress *p, char *out, size_t outsz)
{
	pthread_mutex_lock(&p->mu);
	(void)snprintf(out, outsz, "%s", p->position);
	pthread_mutex_unlock(&p->mu);
}

void progress_set_detail(struct progress *p, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&p->mu);
	va_start(ap, fmt);
	(void)vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&p->mu);
}

void progress_get_detail(struct progress *p, char *out, size_t outsz)
{
	pthread_mutex_lock(&p->mu);
	(void)snprintf(out, outsz, "%s", p->detail);
	pthread_mutex_unlock(&p->mu);
}

struct progress_table *progress_tables_set(struct progress *p, size_t n)
{
	struct progress_table *t = n ? calloc(n, sizeof(*t)) : NULL;

	pthread_mutex_lock(&p->mu);
	free(p->tables);
	p->tables = t;
	p->ntables = t ? n : 0;
	pthread_mutex_unlock(&p->mu);
	return t;
}

size_t progress_tables_get(struct progress *p, struct progress_table_view *out, size_t max)
{
	size_t i, n;

	pthread_mutex_lock(&p->mu);
	n = p->ntables;
	for (i = 0; i < n && i < max; i++) {
		const struct progress_table *t = &p->tables[i];
		(void)snprintf(out[i].name, sizeof(out[i].name), "%s", t->name);
		out[i].rows_done = atomic_load(&t->rows_done);
		out[i].rows_total = atomic_load(&t->rows_total);
		out[i].bytes_done = atomic_load(&t->bytes_done);
		out[i].started_mono_ms = atomic_load(&t->started_mono_ms);
		out[i].finished_mono_ms = atomic_load(&t->finished_mono_ms);
	}
	pthread_mutex_unlock(&p->mu);
	return n;
}
