/*
 * The meta database on the destination (godwit_meta by default): where the
 * data positions live, written in the same transaction as the data they
 * describe (PRODUCT.md section 4).
 *
 * Tables created by meta_ensure():
 *   task_stage(task, stage, immutable_hash, updated_at)
 *       which irreversible steps of a task are done (see enum meta_stage)
 *   binlog_position(task, gtid, file, pos, source_ts, kind, source_uuid,
 *                   halted, updated_at)
 *       the source position from which incremental replays: set by the full
 *       copy before its first row is read, advanced by the incremental
 *       apply in the same transaction as each applied batch; kind says how
 *       it resumes (mariadb, mysql-gtid, file), source_uuid which MySQL
 *       server a file:pos belongs to, halted why it may not resume
 *   whitelist(task, role, region, instance_id, account_id, role_name, cidr,
 *             updated_at)
 *       the entries the whitelist action put in rds whitelist groups, and
 *       what reaching the instance takes (no secret): written before the
 *       entries are added, removed once they are; a migration whose spec
 *       and state directory are gone can still take them back
 * Engines may add tables of their own, named after the engine
 * (copy_state, ...), created with CREATE TABLE IF NOT EXISTS.
 */
#ifndef GODWIT_META_H
#define GODWIT_META_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "reconcile/stage.h"

#include <mysql.h>
#include <stdint.h>

struct spec;
struct rds_ref;

#define META_DEFAULT_DB "godwit_meta"

/* The meta database of the spec's destination (metaDatabase, else
 * META_DEFAULT_DB); borrowed from the spec. */
const char *meta_database_of(const struct spec *s);

/* How a position resumes. */
enum binlog_pos_kind {
	POS_UNKNOWN = 0, /* a row written before the kind was recorded */
	POS_MARIADB,	 /* MariaDB GTIDs (file:pos until the first GTID) */
	POS_MYSQL_GTID,	 /* a MySQL GTID set: resumed by set, on any host */
	POS_FILE,	 /* file:pos of one MySQL server (gtid_mode not ON) */
};

#define BINLOG_POS_GTID_MAX 16384

struct binlog_pos {
	enum binlog_pos_kind kind;
	char gtid[BINLOG_POS_GTID_MAX]; /* MariaDB "0-1-42,1-2-7" or MySQL "uuid:1-5,...";
					   "" if none */
	char file[256];			/* "" if GTID only */
	uint64_t pos;
	int64_t source_ts;    /* unix seconds of the last applied event, 0 if none */
	char source_uuid[64]; /* MySQL's server_uuid of the source the position is of */
	char halted[1024];    /* why the stream may not go on from here ("" if it may):
				 an INCIDENT, which a GTID resume would not send again */
};

const char *meta_pos_kind_name(enum binlog_pos_kind k);

/* Whether metadb.task_stage exists on dst (read only: before the first
 * precheck passed nothing is written there). */
int meta_present(bool *out, MYSQL *dst, const char *metadb, struct gw_err *err);
/* Creates the meta database and its tables if absent. */
int meta_ensure(MYSQL *dst, const char *metadb, struct gw_err *err);

/* *out is META_NONE when the task has no row. */
int meta_stage_get(enum meta_stage *out, char immutable_hash_out[65], MYSQL *dst,
		   const char *metadb, const char *task, struct gw_err *err);
/* Records a stage (never lowers it) with the spec's immutable hash. */
int meta_stage_set(MYSQL *dst, const char *metadb, const char *task, enum meta_stage st,
		   const char *immutable_hash, struct gw_err *err);

/* Reads the task's position; *found_out false when none was recorded. */
int meta_position_get(struct binlog_pos *out, bool *found_out, MYSQL *dst, const char *metadb,
		      const char *task, struct gw_err *err);
/* Appends the statement that records pos for task, to run inside the
 * caller's transaction (REPLACE INTO ...). */
int meta_position_sql(struct buf *sql, MYSQL *dst, const char *metadb, const char *task,
		      const struct binlog_pos *pos) WARN_UNUSED;
/* Inside the caller's transaction, just before its COMMIT: 0 when holder
 * (a connection thread id, see action_io.lock_holder) still holds the
 * task's lock 'godwit:TASK' on dst, or when holder is 0; GW_ECANCEL when
 * it does not (another controller may drive the task now: the caller rolls
 * back and writes nothing). */
int meta_fence(MYSQL *dst, const char *task, unsigned long holder, struct gw_err *err) WARN_UNUSED;
/* Commits the caller's transaction on dst once meta_fence() passes; on any
 * failure rolls it back, so nothing of it is kept. */
int meta_commit(MYSQL *dst, const char *task, unsigned long holder, struct gw_err *err) WARN_UNUSED;
/* "gtid" when set, else "file:pos". */
void meta_position_format(char *out, size_t outsz, const struct binlog_pos *pos);
/* For the task loop (struct task_env, reconcile/task.h), in engine/lock.c:
 * the task's stage and immutable hash as the destination records them
 * (META_NONE when nothing is; reads only), and a stage recorded. */
int meta_observe_task(enum meta_stage *stage_out, char hash_out[65], const struct spec *s,
		      struct gw_err *err);
int meta_record_task(const struct spec *s, enum meta_stage st, struct gw_err *err);
/* GET_LOCK('godwit:NAME') on a connection of the lock keeper's own. */
struct lock_ops;
extern const struct lock_ops engine_lock_ops;
/* One recorded whitelist entry: an rds instance (no secret: the account and
 * role are names) and a cidr added to its group "godwit". */
struct meta_wl_entry {
	char task[64];
	char role[16]; /* "source" or "destination" */
	char region[64];
	char instance_id[128];
	char account_id[64]; /* "" for the controller's own account */
	char role_name[128]; /* "" when no role is assumed */
	char cidr[64];
};

/* Records that ep's instance (an rds endpoint, in role "source" or
 * "destination") gets cidrs for task; kept with earlier ones. Creates the
 * table if absent (meta_ensure()). */
int meta_whitelist_record(MYSQL *dst, const char *metadb, const char *task, const char *role,
			  const struct rds_ref *rds, char *const *cidrs, size_t ncidrs,
			  struct gw_err *err) WARN_UNUSED;
/* The entries recorded for task (every task when task is NULL), appended
 * to *out (the caller frees it); none when the table does not exist. */
int meta_whitelist_list(struct meta_wl_entry **out, size_t *n, MYSQL *dst, const char *metadb,
			const char *task, struct gw_err *err) WARN_UNUSED;
/* Forgets task's entries in role (NULL: all): they were taken back. */
int meta_whitelist_forget(MYSQL *dst, const char *metadb, const char *task, const char *role,
			  struct gw_err *err) WARN_UNUSED;

/* Removes every row of the task in the meta tables it knows of (for a
 * new migration reusing the name after a deleted one; never called by the
 * controller on spec deletion). */
int meta_forget_task(MYSQL *dst, const char *metadb, const char *task, struct gw_err *err);

#endif
