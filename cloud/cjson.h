/*
 * Reading JSON: the OpenAPI responses (lib/json.h only writes). A small
 * tree parser with a depth limit; strings are decoded to UTF-8 (\uXXXX
 * escapes and surrogate pairs included) and numbers kept as their text, so
 * that a 64-bit size is never rounded through a double.
 */
#ifndef GODWIT_CLOUD_CJSON_H
#define GODWIT_CLOUD_CJSON_H

#include "lib/common.h"
#include "lib/err.h"

enum cjson_type { CJ_NULL, CJ_FALSE, CJ_TRUE, CJ_NUM, CJ_STR, CJ_ARR, CJ_OBJ };

struct cjson {
	enum cjson_type type;
	char *key;	     /* member name inside an object, else NULL */
	char *text;	     /* CJ_STR: the decoded string; CJ_NUM: the number's text */
	struct cjson *child; /* first element or member (CJ_ARR, CJ_OBJ) */
	struct cjson *next;  /* next sibling */
};

/* Parses len bytes into *out (caller frees with cjson_free). Fails with
 * GW_EFATAL and the byte offset for malformed input, trailing garbage or
 * nesting deeper than 64. */
int cjson_parse(struct cjson **out, const char *text, size_t len, struct gw_err *err);
void cjson_free(struct cjson *j);

/* The member named key of an object, or NULL. */
const struct cjson *cjson_get(const struct cjson *obj, const char *key);
/* Follows dotted member names ("Items.DBInstanceAttribute"); NULL if any
 * step is missing. */
const struct cjson *cjson_path(const struct cjson *root, const char *path);
/* The text of a string or number member (borrowed), or NULL. */
const char *cjson_text(const struct cjson *obj, const char *key);

#endif
