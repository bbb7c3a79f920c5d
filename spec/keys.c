/*
 * The keys of a migration spec (PRODUCT.md section 1), one table per YAML
 * mapping, and the validators that check what a type alone cannot:
 * names, endpoints, secrets, and the object selection (collisions after
 * mapping, column lists, row filters).
 */
#include "lib/common.h"
#include "spec/keys.h"
#include "spec/where.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define FIELD_AT(base, off) ((void *)((char *)(base) + (off)))
#define SIZEOF_FIELD(T, f) sizeof(((T *)0)->f)

/* MySQL's limit for database, table and column names. */
#define IDENT_MAX 64

static const char *scalar_text(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

/* --- names --- */

static void check_api_version(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	if (strcmp(scalar_text(n), "godwit/v1"))
		ld_diag(c, n, "apiVersion must be 'godwit/v1' (got '%s')", scalar_text(n));
}

static void check_kind(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	if (strcmp(scalar_text(n), "Migration"))
		ld_diag(c, n, "kind must be 'Migration' (got '%s')", scalar_text(n));
}

static bool lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static void check_name(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	const char *v = scalar_text(n);
	size_t len = strlen(v), i;
	bool ok = lower_alnum(v[0]) && lower_alnum(v[len - 1]);

	for (i = 0; ok && i < len; i++)
		ok = lower_alnum(v[i]) || v[i] == '-';
	if (!ok)
		ld_diag(c, n,
			"name '%s' must be lowercase letters, digits and '-', starting and "
			"ending with a letter or digit",
			v);
	else if (len > 63)
		ld_diag(c, n, "name must be at most 63 characters (got %zu)", len);
}

static bool ident_ok(struct load_ctx *c, const char *what, yaml_node_t *n, const char *v)
{
	size_t len = strlen(v);

	if (len > IDENT_MAX) {
		ld_diag(c, n, "%s '%s' is longer than %d characters", what, v, IDENT_MAX);
		return false;
	}
	if (v[len - 1] == ' ') {
		ld_diag(c, n, "%s '%s' must not end with a space", what, v);
		return false;
	}
	return true;
}

static void check_ident(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	(void)ident_ok(c, k->name, n, scalar_text(n));
}

static void check_env_name(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	const char *v = scalar_text(n);
	size_t i;
	bool ok = !(v[0] >= '0' && v[0] <= '9');

	for (i = 0; ok && v[i]; i++)
		ok = (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
		     (v[i] >= '0' && v[i] <= '9') || v[i] == '_';
	if (!ok)
		/* Not echoed: what is written here may be the password itself. */
		ld_diag(c, n,
			"fromEnv must be an environment variable name (letters, digits and '_', "
			"not starting with a digit)");
}

static bool cidr_ok(const char *v)
{
	char addr[64];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	unsigned char raw[16];
	int64_t bits;
	int maxbits;

	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, raw) == 1)
		maxbits = 32;
	else if (inet_pton(AF_INET6, addr, raw) == 1)
		maxbits = 128;
	else
		return false;
	return !slash || util_parse_int64(&bits, slash + 1, 0, maxbits) == 0;
}

static void check_cidrs(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	size_t i;
	yaml_node_t *it;

	for (i = 0; (it = ld_seq_item(c, n, i)); i++)
		if (it->type == YAML_SCALAR_NODE && !ld_is_null(it) && *scalar_text(it) &&
		    !cidr_ok(scalar_text(it)))
			ld_diag(c, it,
				"'%s' is not an IP address or CIDR block like 203.0.113.0/28",
				scalar_text(it));
}

/* --- secrets --- */

struct secret_tmp {
	char *env;
	char *file;
};

static const struct key secret_keys[] = {
    {.name = "fromEnv",
     .type = KT_STR,
     .off = offsetof(struct secret_tmp, env),
     .check = check_env_name},
    {.name = "fromFile", .type = KT_STR, .off = offsetof(struct secret_tmp, file)},
};
static const struct keytab secret_tab = {secret_keys, ARRAY_SIZE(secret_keys), NULL};

static void parse_password(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	struct secret_ref *ref = FIELD_AT(base, k->off);
	struct secret_tmp tmp = {NULL, NULL};

	if (ld_is_null(n))
		return;
	if (n->type == YAML_SCALAR_NODE) {
		ld_diag(c, n, "password must not be inline: use fromEnv or fromFile");
		return;
	}
	if (n->type != YAML_MAPPING_NODE) {
		ld_diag(c, n, "password must be a mapping with fromEnv or fromFile");
		return;
	}
	ld_walk_map(c, &secret_tab, n, &tmp);
	if (tmp.env && tmp.file) {
		ld_diag(c, n, "password takes fromEnv or fromFile, not both");
	} else if (tmp.env || tmp.file) {
		free(ref->name);
		ref->kind = tmp.env ? SECRET_ENV : SECRET_FILE;
		ref->name = tmp.env ? tmp.env : tmp.file;
		return;
	} else if (n->data.mapping.pairs.top == n->data.mapping.pairs.start) {
		ld_diag(c, n, "password needs fromEnv or fromFile");
	}
	free(tmp.env);
	free(tmp.file);
}

/* --- endpoints --- */

static const char *const tls_names[] = {"disabled",  "preferred",	"required",
					"verify-ca", "verify-identity", NULL};

static const struct key tls_keys[] = {
    {.name = "mode",
     .type = KT_ENUM,
     .off = offsetof(struct endpoint, tls_mode),
     .fsize = SIZEOF_FIELD(struct endpoint, tls_mode),
     .def = "preferred",
     .names = tls_names},
    {.name = "ca", .type = KT_STR, .off = offsetof(struct endpoint, tls_ca)},
    /* caching_sha2_password (MySQL 8's default) and sha256_password without
     * TLS: a full authentication (caching_sha2_password's after a restart
     * or failover of the server, whose cache is then cold; sha256_password's
     * always) sends the password RSA-encrypted with the server's public
     * key. serverPublicKey: the operator's copy of it, a PEM file read
     * before connecting. getServerPublicKey: true takes the key the server
     * sends, which trusts the server and the network (a man in the middle
     * answers with its own and reads the password). With neither, godwit
     * sends the password nowhere: a warm cache still lets the account in by
     * its scramble, a cold one refuses it (engine/sha2auth.h). */
    {.name = "serverPublicKey", .type = KT_STR, .off = offsetof(struct endpoint, tls_server_key)},
    {.name = "getServerPublicKey",
     .type = KT_BOOL,
     .off = offsetof(struct endpoint, tls_get_server_key),
     .def = "false"},
};
static const struct keytab tls_tab = {tls_keys, ARRAY_SIZE(tls_keys), NULL};

static void rds_check(struct load_ctx *c, yaml_node_t *map, void *base)
{
	struct rds_ref *r = base;

	if (!map)
		return;
	if (r->account_id && !r->role_name)
		ld_diag(c, ld_map_key(c, map, "accountId"),
			"accountId needs roleName: the RAM role to assume in that account");
	else if (r->role_name && !r->account_id)
		ld_diag(c, ld_map_key(c, map, "roleName"),
			"roleName needs accountId: the account that owns the instance");
}

static const struct key rds_keys[] = {
    {.name = "region", .type = KT_STR, .off = offsetof(struct rds_ref, region), .required = true},
    {.name = "instanceId",
     .type = KT_STR,
     .off = offsetof(struct rds_ref, instance_id),
     .required = true},
    {.name = "accountId", .type = KT_STR, .off = offsetof(struct rds_ref, account_id)},
    {.name = "roleName", .type = KT_STR, .off = offsetof(struct rds_ref, role_name)},
};
static const struct keytab rds_tab = {rds_keys, ARRAY_SIZE(rds_keys), rds_check};

static void endpoint_check(struct load_ctx *c, yaml_node_t *map, void *base, const char *what)
{
	struct endpoint *e = base;
	yaml_node_t *rds = ld_map_value(c, map, "rds");
	yaml_node_t *host = ld_map_value(c, map, "host");

	if (!map)
		return;
	e->is_rds = rds && !ld_is_null(rds);
	if (e->is_rds && host && !ld_is_null(host))
		ld_diag(c, ld_map_key(c, map, "rds"), "%s has both host and rds: give one of them",
			what);
	else if (e->is_rds && ld_map_key(c, map, "port"))
		ld_diag(c, ld_map_key(c, map, "port"),
			"port applies to host, not rds (the instance's port is looked up)");
	else if (!e->is_rds && !(host && !ld_is_null(host)))
		ld_diag(c, map, "%s needs host (and port) or rds", what);
}

static void source_check(struct load_ctx *c, yaml_node_t *map, void *base)
{
	endpoint_check(c, map, base, "source");
}

static void destination_check(struct load_ctx *c, yaml_node_t *map, void *base)
{
	endpoint_check(c, map, base, "destination");
}

#define ENDPOINT_KEYS                                                                 \
	{.name = "host", .type = KT_STR, .off = offsetof(struct endpoint, host)},     \
	    {.name = "port",                                                          \
	     .type = KT_INT,                                                          \
	     .off = offsetof(struct endpoint, port),                                  \
	     .fsize = SIZEOF_FIELD(struct endpoint, port),                            \
	     .def = "3306",                                                           \
	     .min = 1,                                                                \
	     .max = 65535},                                                           \
	    {.name = "user",                                                          \
	     .type = KT_STR,                                                          \
	     .off = offsetof(struct endpoint, user),                                  \
	     .required = true},                                                       \
	    {.name = "password",                                                      \
	     .type = KT_CUSTOM,                                                       \
	     .off = offsetof(struct endpoint, password),                              \
	     .parse = parse_password},                                                \
	    {.name = "tls", .type = KT_MAP, .off = 0, .sub = &tls_tab},               \
	{                                                                             \
		.name = "rds", .type = KT_MAP, .off = offsetof(struct endpoint, rds), \
		.sub = &rds_tab                                                       \
	}

static const struct key source_keys[] = {ENDPOINT_KEYS};
static const struct keytab source_tab = {source_keys, ARRAY_SIZE(source_keys), source_check};

static const struct key destination_keys[] = {
    ENDPOINT_KEYS,
    {.name = "metaDatabase",
     .type = KT_STR,
     .off = offsetof(struct endpoint, meta_database),
     .def = "godwit_meta",
     .check = check_ident},
};
static const struct keytab destination_tab = {destination_keys, ARRAY_SIZE(destination_keys),
					      destination_check};

/* --- migration types --- */

static const char *const mt_names[] = {"schema", "full", "incremental"};
static const unsigned mt_bits[] = {MT_SCHEMA, MT_FULL, MT_INCREMENTAL};

static void parse_types(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	unsigned *bits = FIELD_AT(base, k->off);
	yaml_node_t *it;
	size_t i, j;

	if (ld_is_null(n)) {
		ld_diag(c, n, "migrationTypes must not be empty");
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		ld_diag(c, n, "migrationTypes must be a list, e.g. [schema, full, incremental]");
		return;
	}
	for (i = 0; (it = ld_seq_item(c, n, i)); i++) {
		const char *v = scalar_text(it), *hint;

		if (it->type != YAML_SCALAR_NODE) {
			ld_diag(c, it, "items of migrationTypes must be strings");
			continue;
		}
		for (j = 0; j < ARRAY_SIZE(mt_names); j++)
			if (!strcmp(v, mt_names[j]))
				break;
		if (j == ARRAY_SIZE(mt_names)) {
			hint = ld_suggest(v, mt_names, ARRAY_SIZE(mt_names));
			if (hint)
				ld_diag(c, it, "unknown migration type '%s' (did you mean '%s'?)",
					v, hint);
			else
				ld_diag(c, it,
					"unknown migration type '%s' (one of schema, full, "
					"incremental)",
					v);
		} else if (*bits & mt_bits[j]) {
			ld_diag(c, it, "migration type '%s' is listed twice", v);
		} else {
			*bits |= mt_bits[j];
		}
	}
	if (i == 0)
		ld_diag(c, n, "migrationTypes must not be empty");
}

/* --- tables --- */

static const char *dest_column(const struct table_sel *t, const char *col, yaml_node_t **at,
			       struct load_ctx *c, yaml_node_t *renames)
{
	size_t i;
	yaml_node_t *kn, *vn;

	for (i = 0; ld_map_pair(c, renames, i, &kn, &vn); i++) {
		if (!strcasecmp(scalar_text(kn), col)) {
			*at = vn;
			return scalar_text(vn);
		}
	}
	(void)t;
	return col;
}

static bool has_column(const struct table_sel *t, const char *col)
{
	size_t i;

	for (i = 0; i < t->ncolumns; i++)
		if (!strcasecmp(t->columns[i], col))
			return true;
	return false;
}

static void check_columns(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	struct table_sel *t = base;
	yaml_node_t *it;
	size_t i, j;

	if (!ld_seq_item(c, n, 0)) {
		ld_diag(c, n, "columns must not be empty (leave it out to copy every column)");
		return;
	}
	for (i = 0; (it = ld_seq_item(c, n, i)); i++) {
		const char *v = scalar_text(it);

		if (it->type != YAML_SCALAR_NODE || !*v)
			continue;
		if (!ident_ok(c, "column", it, v))
			continue;
		for (j = 0; j < i; j++) {
			yaml_node_t *prev = ld_seq_item(c, n, j);
			if (prev->type == YAML_SCALAR_NODE && !strcasecmp(scalar_text(prev), v)) {
				ld_diag(c, it, "column '%s' is listed twice", v);
				break;
			}
		}
	}
	(void)t;
}

static void check_renames(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	struct table_sel *t = base;
	yaml_node_t *kn, *vn;
	size_t i;

	for (i = 0; ld_map_pair(c, n, i, &kn, &vn); i++) {
		const char *from = scalar_text(kn), *to = scalar_text(vn);
		yaml_node_t *kj, *vj;
		size_t j;

		if (!*from || !*to || vn->type != YAML_SCALAR_NODE)
			continue;
		/* Column names have no case: a and A are one column. */
		for (j = 0; j < i && ld_map_pair(c, n, j, &kj, &vj); j++)
			if (strcmp(scalar_text(kj), from) && !strcasecmp(scalar_text(kj), from))
				break;
		if (j < i)
			ld_diag(c, kn, "column '%s' is renamed twice (column names have no case)",
				from);
		else if (t->columns && !has_column(t, from))
			ld_diag(c, kn, "renameColumns names column '%s', which is not in columns",
				from);
		else
			(void)ident_ok(c, "column", vn, to);
	}
}

/* --- row filters --- */

struct where_ctx {
	struct load_ctx *c;
	yaml_node_t *n;
	const struct table_sel *t;
};

static bool where_is_column(void *ctx, const char *name)
{
	return has_column(((struct where_ctx *)ctx)->t, name);
}

static void where_report(void *ctx, size_t off, enum where_issue issue, const char *text)
{
	struct where_ctx *w = ctx;

	if (issue == WHERE_COLUMN)
		ld_diag_at(w->c, w->n, off,
			   "where uses column '%s', which is not in columns (with incremental, "
			   "every filter column must be selected)",
			   text);
	else
		ld_diag_at(w->c, w->n, off, "%s", text);
}

/* The filter is one expression over the table's columns (spec/where.h);
 * with incremental and a column list, over the selected ones. */
static void check_where(struct load_ctx *c, yaml_node_t *n, const struct table_sel *t)
{
	struct where_ctx w = {c, n, t};
	struct where_check cb = {NULL, where_report, &w};

	if (t->columns && (ld_spec(c)->migration_types & MT_INCREMENTAL))
		cb.is_column = where_is_column;
	(void)where_check(t->where, &cb);
}

static void table_check(struct load_ctx *c, yaml_node_t *map, void *base)
{
	struct table_sel *t = base;
	yaml_node_t *renames = ld_map_value(c, map, "renameColumns");
	yaml_node_t *cols = ld_map_value(c, map, "columns");
	yaml_node_t *kn, *vn;
	size_t i, j;

	if (!map)
		return;
	if (t->columns) {
		for (i = 0; i < t->ncolumns; i++) {
			yaml_node_t *at_i = ld_seq_item(c, cols, i);
			const char *di = dest_column(t, t->columns[i], &at_i, c, renames);

			for (j = 0; j < i; j++) {
				yaml_node_t *at_j = NULL;
				const char *dj = dest_column(t, t->columns[j], &at_j, c, renames);

				if (strcasecmp(t->columns[i], t->columns[j]) &&
				    !strcasecmp(di, dj)) {
					ld_diag(c, at_i,
						"columns '%s' and '%s' both map to destination "
						"column '%s'",
						t->columns[j], t->columns[i], di);
					break;
				}
			}
		}
	} else {
		for (i = 0; ld_map_pair(c, renames, i, &kn, &vn); i++) {
			yaml_node_t *kj, *vj;

			for (j = 0; j < i && ld_map_pair(c, renames, j, &kj, &vj); j++) {
				if (*scalar_text(vn) &&
				    !strcasecmp(scalar_text(vn), scalar_text(vj))) {
					ld_diag(c, vn,
						"columns '%s' and '%s' both map to destination "
						"column '%s'",
						scalar_text(kj), scalar_text(kn), scalar_text(vn));
					break;
				}
			}
		}
	}
	if (t->where)
		check_where(c, ld_map_value(c, map, "where"), t);
}

static const struct key table_keys[] = {
    {.name = "name",
     .type = KT_STR,
     .off = offsetof(struct table_sel, name),
     .required = true,
     .check = check_ident},
    {.name = "renameTo",
     .type = KT_STR,
     .off = offsetof(struct table_sel, rename_to),
     .check = check_ident},
    {.name = "columns",
     .type = KT_STRLIST,
     .off = offsetof(struct table_sel, columns),
     .count_off = offsetof(struct table_sel, ncolumns),
     .check = check_columns},
    {.name = "renameColumns",
     .type = KT_STRMAP,
     .off = offsetof(struct table_sel, renames),
     .count_off = offsetof(struct table_sel, nrenames),
     .check = check_renames},
    {.name = "where", .type = KT_STR, .off = offsetof(struct table_sel, where)},
};
static const struct keytab table_tab = {table_keys, ARRAY_SIZE(table_keys), table_check};

static void check_tables(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	struct object_sel *o = base;
	size_t i, j, x;

	if (o->ntables == 0) {
		ld_diag(c, n,
			"tables must not be empty (leave it out to migrate the whole database)");
		return;
	}
	for (i = 0; i < o->ntables; i++) {
		const struct table_sel *t = &o->tables[i];
		yaml_node_t *item = ld_seq_item(c, n, i);
		yaml_node_t *name_n = ld_map_value(c, item, "name");
		yaml_node_t *rename_n = ld_map_value(c, item, "renameTo");
		const char *dest = t->rename_to ? t->rename_to : t->name;

		if (!t->name)
			continue;
		for (x = 0; x < o->nexclude; x++) {
			if (util_glob_match(o->exclude_tables[x], t->name)) {
				ld_diag(c, name_n,
					"table '%s' is listed in tables but excluded by "
					"excludeTables '%s'",
					t->name, o->exclude_tables[x]);
				break;
			}
		}
		for (j = 0; j < i; j++) {
			const struct table_sel *u = &o->tables[j];

			if (!u->name)
				continue;
			if (!strcmp(u->name, t->name)) {
				ld_diag(c, name_n, "table '%s' is listed twice", t->name);
				break;
			}
			if (!strcmp(u->rename_to ? u->rename_to : u->name, dest)) {
				ld_diag(c, rename_n ? rename_n : name_n,
					"tables '%s' and '%s' both map to destination table '%s'",
					u->name, t->name, dest);
				break;
			}
		}
	}
}

/* --- objects --- */

static const char *const system_databases[] = {"mysql", "information_schema", "performance_schema",
					       "sys"};

static void check_database(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	const char *v = scalar_text(n);
	size_t i;

	if (!ident_ok(c, "database", n, v))
		return;
	for (i = 0; i < ARRAY_SIZE(system_databases); i++)
		if (!strcasecmp(v, system_databases[i]))
			ld_diag(c, n, "database '%s' is a system database and cannot be migrated",
				v);
}

static const struct key object_keys[] = {
    {.name = "database",
     .type = KT_STR,
     .off = offsetof(struct object_sel, database),
     .required = true,
     .check = check_database},
    {.name = "renameTo",
     .type = KT_STR,
     .off = offsetof(struct object_sel, rename_to),
     .check = check_ident},
    {.name = "excludeTables",
     .type = KT_STRLIST,
     .off = offsetof(struct object_sel, exclude_tables),
     .count_off = offsetof(struct object_sel, nexclude)},
    {.name = "tables",
     .type = KT_MAPLIST,
     .off = offsetof(struct object_sel, tables),
     .count_off = offsetof(struct object_sel, ntables),
     .elem_size = sizeof(struct table_sel),
     .sub = &table_tab,
     .check = check_tables},
};
static const struct keytab object_tab = {object_keys, ARRAY_SIZE(object_keys), NULL};

static void check_objects(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	struct spec *s = base;
	const char *meta = s->destination.meta_database;
	size_t i, j;

	if (s->nobjects == 0) {
		ld_diag(c, n, "objects must not be empty");
		return;
	}
	for (i = 0; i < s->nobjects; i++) {
		const struct object_sel *o = &s->objects[i];
		yaml_node_t *item = ld_seq_item(c, n, i);
		yaml_node_t *db_n = ld_map_value(c, item, "database");
		yaml_node_t *rename_n = ld_map_value(c, item, "renameTo");
		const char *dest = o->rename_to ? o->rename_to : o->database;

		if (!o->database)
			continue;
		if (meta && !strcmp(dest, meta)) {
			ld_diag(c, rename_n ? rename_n : db_n,
				"destination database '%s' is godwit's meta database "
				"(destination.metaDatabase)",
				dest);
			continue;
		}
		for (j = 0; j < i; j++) {
			const struct object_sel *u = &s->objects[j];

			if (!u->database)
				continue;
			if (!strcmp(u->database, o->database)) {
				ld_diag(c, db_n, "database '%s' is listed twice", o->database);
				break;
			}
			if (!strcmp(u->rename_to ? u->rename_to : u->database, dest)) {
				ld_diag(c, rename_n ? rename_n : db_n,
					"databases '%s' and '%s' both map to destination database "
					"'%s'",
					u->database, o->database, dest);
				break;
			}
		}
	}
}

/* --- the spec --- */

static const char *const state_names[] = {"running", "paused", "stopped", NULL};

static const struct key throttle_keys[] = {
    {.name = "rowsPerSecond",
     .type = KT_INT,
     .off = offsetof(struct spec, throttle_rows),
     .fsize = SIZEOF_FIELD(struct spec, throttle_rows),
     .def = "0",
     .min = 0,
     .max = INT64_MAX},
    {.name = "bytesPerSecond",
     .type = KT_SIZE,
     .off = offsetof(struct spec, throttle_bytes),
     .def = "0"},
};
static const struct keytab throttle_tab = {throttle_keys, ARRAY_SIZE(throttle_keys), NULL};

static const struct key stop_keys[] = {
    {.name = "maxDelay",
     .type = KT_DURATION,
     .off = offsetof(struct spec, stop_max_delay_ms),
     .def = "0s"},
    {.name = "freezeSource",
     .type = KT_BOOL,
     .off = offsetof(struct spec, stop_freeze_source),
     .def = "false"},
    {.name = "force", .type = KT_BOOL, .off = offsetof(struct spec, stop_force), .def = "false"},
};
static const struct keytab stop_tab = {stop_keys, ARRAY_SIZE(stop_keys), NULL};

static const struct key whitelist_keys[] = {
    {.name = "cidrs",
     .type = KT_STRLIST,
     .off = offsetof(struct spec, whitelist_cidrs),
     .count_off = offsetof(struct spec, nwhitelist),
     .check = check_cidrs},
};
static const struct keytab whitelist_tab = {whitelist_keys, ARRAY_SIZE(whitelist_keys), NULL};

/* Order matters: validators of later keys read earlier ones (objects reads
 * migrationTypes and destination.metaDatabase). */
static const struct key spec_keys[] = {
    {.name = "source",
     .type = KT_MAP,
     .off = offsetof(struct spec, source),
     .required = true,
     .sub = &source_tab},
    {.name = "destination",
     .type = KT_MAP,
     .off = offsetof(struct spec, destination),
     .required = true,
     .sub = &destination_tab},
    {.name = "migrationTypes",
     .type = KT_CUSTOM,
     .off = offsetof(struct spec, migration_types),
     .required = true,
     .parse = parse_types},
    {.name = "objects",
     .type = KT_MAPLIST,
     .off = offsetof(struct spec, objects),
     .count_off = offsetof(struct spec, nobjects),
     .elem_size = sizeof(struct object_sel),
     .required = true,
     .sub = &object_tab,
     .check = check_objects},
    {.name = "parallelism",
     .type = KT_INT,
     .off = offsetof(struct spec, parallelism),
     .fsize = SIZEOF_FIELD(struct spec, parallelism),
     .def = "4",
     .min = 1,
     .max = 256},
    {.name = "verify", .type = KT_BOOL, .off = offsetof(struct spec, verify), .def = "false"},
    {.name = "throttle", .type = KT_MAP, .off = 0, .sub = &throttle_tab},
    {.name = "retryWindow",
     .type = KT_DURATION,
     .off = offsetof(struct spec, retry_window_ms),
     .def = "12h"},
    {.name = "state",
     .type = KT_ENUM,
     .off = offsetof(struct spec, state),
     .fsize = SIZEOF_FIELD(struct spec, state),
     .def = "running",
     .names = state_names},
    {.name = "stop", .type = KT_MAP, .off = 0, .sub = &stop_tab},
    {.name = "whitelist", .type = KT_MAP, .off = 0, .sub = &whitelist_tab},
};
static const struct keytab spec_tab = {spec_keys, ARRAY_SIZE(spec_keys), NULL};

static const struct key metadata_keys[] = {
    {.name = "name",
     .type = KT_STR,
     .off = offsetof(struct spec, name),
     .required = true,
     .check = check_name},
    {.name = "labels",
     .type = KT_STRMAP,
     .off = offsetof(struct spec, labels),
     .count_off = offsetof(struct spec, nlabels)},
};
static const struct keytab metadata_tab = {metadata_keys, ARRAY_SIZE(metadata_keys), NULL};

static const struct key root_keys[] = {
    {.name = "apiVersion",
     .type = KT_STR,
     .off = KEY_NO_FIELD,
     .required = true,
     .check = check_api_version},
    {.name = "kind", .type = KT_STR, .off = KEY_NO_FIELD, .required = true, .check = check_kind},
    {.name = "metadata", .type = KT_MAP, .off = 0, .required = true, .sub = &metadata_tab},
    {.name = "spec", .type = KT_MAP, .off = 0, .required = true, .sub = &spec_tab},
};
const struct keytab spec_root_keys = {root_keys, ARRAY_SIZE(root_keys), NULL};
