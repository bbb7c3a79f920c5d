/* Writing JSON (and YAML scalars) into a struct buf. */
#ifndef GODWIT_JSON_H
#define GODWIT_JSON_H

#include "lib/common.h"
#include "lib/buf.h"

/* Appends s as a quoted JSON string; bytes that are not valid UTF-8 are
 * written as \u00XX of their Latin-1 reading, so the output is always valid
 * JSON. */
int json_str(struct buf *b, const char *s) WARN_UNUSED;
int json_strn(struct buf *b, const char *s, size_t n) WARN_UNUSED;
/* Appends {"base64": "..."} for binary data. */
int json_base64(struct buf *b, const void *data, size_t n) WARN_UNUSED;
/* Standard base64 with padding, appended. */
int base64_encode(struct buf *b, const void *data, size_t n) WARN_UNUSED;
/* Appends s as a double-quoted YAML scalar (same escaping as JSON). */
int yaml_str(struct buf *b, const char *s) WARN_UNUSED;

#endif
