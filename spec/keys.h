/*
 * Inside the spec loader: the key tables (spec/keys.c) and the services the
 * loader (spec/load.c) offers their validators. Not for use outside spec/.
 *
 * Every key of PRODUCT.md section 1 is described once, in a table per YAML
 * mapping: its name, type, where its value goes, its default, whether it is
 * required, and a validator. The loader walks a mapping with its table:
 * unknown keys (with a "did you mean"), missing required keys, wrong types
 * and defaults all come from the table; validators add what a type cannot
 * say (name syntax, collisions after mapping, ...).
 */
#ifndef GODWIT_SPEC_KEYS_H
#define GODWIT_SPEC_KEYS_H

#include "lib/common.h"
#include "spec/spec.h"

#include <yaml.h>

struct load_ctx;
struct key;

enum ktype {
	KT_STR,	     /* char *, owned */
	KT_INT,	     /* integer of fsize bytes, in [min, max] */
	KT_BOOL,     /* bool */
	KT_DURATION, /* int64_t milliseconds */
	KT_SIZE,     /* uint64_t bytes ("50MiB") */
	KT_ENUM,     /* an enum (int); names[] in value order */
	KT_MAP,	     /* a nested mapping; sub walked at base + off */
	KT_STRLIST,  /* char ** at off, size_t count at count_off */
	KT_STRMAP,   /* array of {char *, char *} pairs at off, count at count_off */
	KT_MAPLIST,  /* array of elem_size structs at off, count at count_off */
	KT_CUSTOM    /* parse() does it all */
};

/* Not stored: the value is only checked (apiVersion, kind). */
#define KEY_NO_FIELD ((size_t)-1)

/* Checks a value once stored; base is the struct holding the field. */
typedef void (*key_check_fn)(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base);
/* Parses a KT_CUSTOM value into base. */
typedef void (*key_parse_fn)(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base);
/* Checks a whole mapping after its keys are parsed (map NULL: absent). */
typedef void (*tab_check_fn)(struct load_ctx *c, yaml_node_t *map, void *base);

struct keytab {
	const struct key *keys;
	size_t n;
	tab_check_fn check;
};

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	size_t fsize;	 /* KT_INT/KT_ENUM: size of the field */
	const char *def; /* default, as it would be written in YAML */
	bool required;
	key_check_fn check;
	const struct keytab *sub; /* KT_MAP, KT_MAPLIST */
	const char *const *names; /* KT_ENUM, NULL-terminated */
	size_t count_off;	  /* KT_STRLIST, KT_STRMAP, KT_MAPLIST */
	size_t elem_size;	  /* KT_MAPLIST */
	int64_t min, max;	  /* KT_INT */
	key_parse_fn parse;	  /* KT_CUSTOM */
	const struct keytab *tmp; /* KT_CUSTOM: a table parse() may use */
};

/* The document root: apiVersion, kind, metadata, spec. */
extern const struct keytab spec_root_keys;

/* --- loader services (spec/load.c) --- */

/* Adds "FILE:LINE:COL: message" located at node n (or 1:1 if n is NULL). */
void ld_diag(struct load_ctx *c, const yaml_node_t *n, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* The same at byte off of scalar n's value (a `where`): its own line and
 * column where the value is written on one line, else n's. */
void ld_diag_at(struct load_ctx *c, const yaml_node_t *n, size_t off, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Value / key node of key in mapping map, or NULL. */
yaml_node_t *ld_map_value(struct load_ctx *c, yaml_node_t *map, const char *key);
yaml_node_t *ld_map_key(struct load_ctx *c, yaml_node_t *map, const char *key);
/* Pair i of mapping map: its key and value nodes; false past the end. */
bool ld_map_pair(struct load_ctx *c, yaml_node_t *map, size_t i, yaml_node_t **key_out,
		 yaml_node_t **value_out);
/* Item i of a sequence node, or NULL. */
yaml_node_t *ld_seq_item(struct load_ctx *c, yaml_node_t *seq, size_t i);
/* Walks mapping map with tab into base (map NULL: defaults only). */
void ld_walk_map(struct load_ctx *c, const struct keytab *tab, yaml_node_t *map, void *base);
/* The spec being filled (keys earlier in a table are already parsed). */
struct spec *ld_spec(struct load_ctx *c);
/* Records an allocation failure; the load then fails. */
void ld_oom(struct load_ctx *c);
/* Whether n is a scalar that reads as null ("", ~, null). */
bool ld_is_null(const yaml_node_t *n);
/* The closest name in names (edit distance), or NULL when none is close. */
const char *ld_suggest(const char *word, const char *const *names, size_t n);

#endif
