/*
 * A growable byte buffer with a size limit: the one buffer type of godwit,
 * for SQL text, row data, JSON and file contents. The content is always
 * NUL-terminated (ptr[len] == 0) once anything was appended.
 *
 * Appends return 0, or GW_ENOMEM when memory is short or the limit would be
 * passed; the buffer is then unchanged. A buffer initialised with BUF_INIT
 * has no limit beyond BUF_DEFAULT_MAX.
 */
#ifndef GODWIT_BUF_H
#define GODWIT_BUF_H

#include "lib/common.h"

#include <stdarg.h>

#define BUF_DEFAULT_MAX ((size_t)1 << 30)

struct buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max; /* 0 means BUF_DEFAULT_MAX */
};

#define BUF_INIT              \
	{                     \
		NULL, 0, 0, 0 \
	}

void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer may be used again. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Hands the contents over to the caller (who frees them); never NULL. */
char *buf_detach(struct buf *b, size_t *len_out);
int buf_grow(struct buf *b, size_t extra) WARN_UNUSED;
int buf_add(struct buf *b, const void *data, size_t len) WARN_UNUSED;
int buf_puts(struct buf *b, const char *s) WARN_UNUSED;
int buf_putc(struct buf *b, char c) WARN_UNUSED;
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3) WARN_UNUSED;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) WARN_UNUSED;
/* Shortens to len (<= current length). */
void buf_truncate(struct buf *b, size_t len);
/* Returns the content as a C string ("" for an empty buffer). */
const char *buf_cstr(const struct buf *b);

#endif
