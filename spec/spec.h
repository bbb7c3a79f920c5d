/*
 * A migration spec (PRODUCT.md section 1), loaded from YAML into a
 * validated struct that nothing changes afterwards. All strings are owned by
 * the struct and freed by spec_free(). Defaults are filled in by the loader,
 * so users of the struct never test for "unset".
 *
 * Secrets are not in the struct: a struct secret_ref says where the value
 * lives, and spec_secret_resolve() reads it at the moment of use.
 */
#ifndef GODWIT_SPEC_H
#define GODWIT_SPEC_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <stdint.h>

enum tls_mode { TLS_DISABLED, TLS_PREFERRED, TLS_REQUIRED, TLS_VERIFY_CA, TLS_VERIFY_IDENTITY };
enum secret_kind { SECRET_NONE, SECRET_ENV, SECRET_FILE };
enum desired_state { STATE_RUNNING, STATE_PAUSED, STATE_STOPPED };

enum migration_type { MT_SCHEMA = 1, MT_FULL = 2, MT_INCREMENTAL = 4 };

struct secret_ref {
	enum secret_kind kind;
	char *name; /* variable name or file path; NULL for SECRET_NONE */
};

struct rds_ref {
	char *region;
	char *instance_id;
	char *account_id; /* NULL: the controller's own account */
	char *role_name;  /* NULL: no role to assume */
};

struct endpoint {
	bool is_rds;
	char *host;    /* NULL for rds until resolved through the cloud API */
	unsigned port; /* default 3306 */
	char *user;
	struct secret_ref password;
	enum tls_mode tls_mode;	 /* default TLS_PREFERRED */
	char *tls_ca;		 /* NULL if not given */
	char *tls_server_key;	 /* the server's RSA public key (PEM file), NULL if not given */
	bool tls_get_server_key; /* may use the key the server sends (trusts it) */
	struct rds_ref rds;
	char *meta_database; /* destination only; default "godwit_meta" */
};

struct column_rename {
	char *from;
	char *to;
};

struct table_sel {
	char *name;
	char *rename_to; /* NULL: same name */
	char **columns;	 /* NULL/0: all columns */
	size_t ncolumns;
	struct column_rename *renames;
	size_t nrenames;
	char *where; /* NULL: every row */
};

struct object_sel {
	char *database;
	char *rename_to;       /* NULL: same name */
	char **exclude_tables; /* globs */
	size_t nexclude;
	struct table_sel *tables; /* NULL/0: the whole database (with views,
				     routines, triggers, events) */
	size_t ntables;
};

struct label {
	char *key;
	char *value;
};

struct spec {
	char *file; /* path the spec was loaded from (as given) */
	char *name;
	struct label *labels;
	size_t nlabels;
	struct endpoint source;
	struct endpoint destination;
	unsigned migration_types; /* MT_* bits, non-zero */
	struct object_sel *objects;
	size_t nobjects;
	int parallelism;	  /* default 4 */
	bool verify;		  /* default false */
	uint64_t throttle_rows;	  /* rows per second, 0 = no limit */
	uint64_t throttle_bytes;  /* bytes per second, 0 = no limit */
	int64_t retry_window_ms;  /* default 12h */
	enum desired_state state; /* default running */
	int64_t stop_max_delay_ms;
	bool stop_freeze_source;
	bool stop_force;
	char **whitelist_cidrs;
	size_t nwhitelist;
	char hash[65];		 /* sha256 of the file's bytes */
	char immutable_hash[65]; /* sha256 over source, destination, objects and
				    migrationTypes in canonical form: a change
				    here after data moved is SpecImmutable.
				    Where the data is, not how to log in: user,
				    password reference and TLS may change. */
};

/* One problem found in a spec file, located at line:col (1-based). */
struct diag {
	char *file;
	int line;
	int col;
	char *msg;
};

struct diag_list {
	struct diag *items;
	size_t n;
	size_t cap;
};

#define DIAG_LIST_INIT     \
	{                  \
		NULL, 0, 0 \
	}

void diag_list_release(struct diag_list *d);
/* "FILE:LINE:COL: message\n" for every diagnostic, appended to out. */
int diag_list_format(struct buf *out, const struct diag_list *d) WARN_UNUSED;

/*
 * Loads and validates one spec file. On success *out is a new spec (free it
 * with spec_free) and 0 is returned. On failure *out is NULL, every problem
 * in the file is appended to diags, and GW_EFATAL is returned.
 */
int spec_load_file(struct spec **out, const char *path, struct diag_list *diags);
/* The same for bytes already read; path is used in messages only. */
int spec_load_buffer(struct spec **out, const char *path, const char *data, size_t len,
		     struct diag_list *diags);
void spec_free(struct spec *s);

/*
 * Reads a secret now. *out is a new NUL-terminated string (the caller
 * wipes and frees it with spec_secret_free). An absent variable or
 * unreadable file is an error naming the variable or file, never the value.
 */
int spec_secret_resolve(char **out, const struct secret_ref *ref, struct gw_err *err);
void spec_secret_free(char *secret);
/*
 * What a spec may name (docs/security.md). Whatever the policy, the
 * controller's own variables (ALIBABA_CLOUD_*, GODWIT_*, proxy settings)
 * and files (/proc, /sys, ssh and git credentials, protected paths) are
 * refused, and a file is read only when it is a regular one, within
 * SECRET_READ_TIMEOUT_MS. env_prefix (NULL: none) confines fromEnv to
 * variables named so; dirs ("DIR[:DIR...]", NULL: none) confines fromFile
 * to files inside them. Called once, before any thread starts; an error
 * names the flag and the directory.
 */
#define SECRET_READ_TIMEOUT_MS 5000
int spec_secret_policy_set(const char *env_prefix, const char *dirs, struct gw_err *err);
/* Marks a file or a directory (the state directory) as the controller's own. */
int spec_secret_protect_path(const char *path, struct gw_err *err);
/* Back to no policy (tests). */
void spec_secret_policy_reset(void);

/* --- Object selection and name mapping, shared by every engine. --- */

/* The selection for source database db, or NULL if it is not selected. */
const struct object_sel *spec_find_database(const struct spec *s, const char *db);
/*
 * Whether source table db.table is selected. When it is and the object
 * lists tables, *tsel_out is that table's selection; for whole-database
 * selections *tsel_out is NULL (all columns, no filter, same name).
 */
bool spec_table_selected(const struct spec *s, const char *db, const char *table,
			 const struct table_sel **tsel_out);
/* Destination names. tsel may be NULL (whole-database selection). */
const char *spec_dest_database(const struct object_sel *o);
const char *spec_dest_table(const struct table_sel *tsel, const char *table);
const char *spec_dest_column(const struct table_sel *tsel, const char *column);
/* Whether column is copied (tsel NULL or no column list: all are). */
bool spec_column_selected(const struct table_sel *tsel, const char *column);
/* Whether the whole database is selected (views, routines, ... too). */
bool spec_whole_database(const struct object_sel *o);

const char *spec_tls_mode_name(enum tls_mode m);
const char *spec_state_name(enum desired_state st);

#endif
