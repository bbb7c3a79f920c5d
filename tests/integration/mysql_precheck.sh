# godwit precheck against a MySQL source: the MySQL double answers as
# MySQL 8.0 and 5.7 answer (variables per version, SHOW GRANTS with
# backquotes from 8.0, gtid_mode), each item shown failing or warning on a
# source misconfigured for it, and passing once it is put right:
# gtid-mode, binlog-format, binlog-row-image, binlog-row-metadata,
# binlog-retention (against retryWindow, auto purge off, a stored GTID set
# the source purged or lacks, a stored file position of another server),
# source-privileges (REPLICATION SLAVE / CLIENT, the GRANT to run).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"
. "$(dirname "$0")/../lib/precheck.sh"

B=$GW_SHARED/datasets/mysql-binlogs
U=76f3e7be-6720-11ed-9cad-0242ac110002
mdb_start layouts
mdb_start dst
mdb_q layouts "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY, name VARCHAR(20))"
myd_start src --version 8.0.40 --binlog "$B/mysql-8.0.31-gtid-payload-json.binlog" --forward layouts
copy_spec "$GW_TMP/good.yaml" good "schema, full, incremental" '    - database: shop'
server_key "$GW_TMP/good.yaml" "$src_DIR"
var() { myd_ctl src set-var "$1" "$2" >/dev/null; }

# 8.0 defaults: ROW, FULL, MINIMAL metadata (warn), 30 days of binlogs,
# gtid_mode ON from the file's GTIDs
for id in source-connect source-privileges binlog-enabled binlog-format binlog-row-image server-id \
	binlog-retention gtid-mode objects-exist primary-keys; do
	only_pass "$GW_TMP/good.yaml" "$id"
done
expect "$GW_TMP/good.yaml" gtid-mode pass "gtid_mode is ON (enforce_gtid_consistency ON)" "resumed on any server"
expect "$GW_TMP/good.yaml" binlog-retention pass "binlogs are kept 720.0 hours"
expect "$GW_TMP/good.yaml" binlog-row-metadata warn "binlog_row_metadata is MINIMAL" \
	"fix: SET GLOBAL binlog_row_metadata = 'FULL'"
expect "$GW_TMP/good.yaml" versions warn "MySQL 8.0.40" "a cross-engine migration"

# gtid_mode OFF: what is lost without it
myd_ctl src gtid-mode OFF >/dev/null
expect "$GW_TMP/good.yaml" gtid-mode warn "gtid_mode is OFF (enforce_gtid_consistency OFF)" \
	"after a switch-over to another server" "needs a new full migration" \
	"fix: SET GLOBAL enforce_gtid_consistency = ON, then gtid_mode OFF_PERMISSIVE, ON_PERMISSIVE and ON"
myd_ctl src gtid-mode ON >/dev/null
only_pass "$GW_TMP/good.yaml" gtid-mode

# row format and image
var binlog_format STATEMENT
expect "$GW_TMP/good.yaml" binlog-format fail "binlog_format is STATEMENT" "fix: SET GLOBAL binlog_format = 'ROW'"
var binlog_format MIXED
expect "$GW_TMP/good.yaml" binlog-format fail "binlog_format is MIXED"
var binlog_format ROW
var binlog_row_image MINIMAL
expect "$GW_TMP/good.yaml" binlog-row-image fail "binlog_row_image is MINIMAL" "fix: SET GLOBAL binlog_row_image = 'FULL'"
var binlog_row_image FULL
var binlog_row_metadata FULL
only_pass "$GW_TMP/good.yaml" binlog-row-metadata

# retention: under a day, under retryWindow, no automatic purge
var binlog_expire_logs_seconds 43200
expect "$GW_TMP/good.yaml" binlog-retention warn "binlogs are kept 12.0 hours" "fix: keep binlogs 7 days"
var binlog_expire_logs_seconds 259200
only_pass "$GW_TMP/good.yaml" binlog-retention
copy_spec "$GW_TMP/long.yaml" good "schema, full, incremental" '    - database: shop' "  retryWindow: 5d"
server_key "$GW_TMP/long.yaml" "$src_DIR"
expect "$GW_TMP/long.yaml" binlog-retention warn "binlogs are kept 72.0 hours, less than retryWindow"
var binlog_expire_logs_auto_purge 0
expect "$GW_TMP/long.yaml" binlog-retention pass "binlogs are kept until purged by hand"
var binlog_expire_logs_auto_purge 1

# privileges: SHOW GRANTS of MySQL 8 (backquoted account); what is missing
# and the statement that grants it
myd_stop src
myd_start src --version 8.0.40 --binlog "$B/mysql-8.0.31-gtid-payload-json.binlog" --forward layouts \
	--grants 'SELECT, SHOW VIEW, TRIGGER, EVENT'
copy_spec "$GW_TMP/good.yaml" good "schema, full, incremental" '    - database: shop'
server_key "$GW_TMP/good.yaml" "$src_DIR"
expect "$GW_TMP/good.yaml" source-privileges fail "lacks REPLICATION SLAVE, REPLICATION CLIENT on *.*" \
	"fix: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'godwit'@'%';"
copy_spec "$GW_TMP/full.yaml" good "schema, full" '    - database: shop'
server_key "$GW_TMP/full.yaml" "$src_DIR"
only_pass "$GW_TMP/full.yaml" source-privileges
myd_stop src
myd_start src --version 5.7.40 --binlog "$B/mysql-8.0.31-gtid-payload-json.binlog" --forward layouts \
	--grants 'SELECT, SHOW VIEW, TRIGGER, EVENT, REPLICATION SLAVE, REPLICATION CLIENT'
copy_spec "$GW_TMP/good.yaml" good "schema, full, incremental" '    - database: shop'
server_key "$GW_TMP/good.yaml" "$src_DIR"
only_pass "$GW_TMP/good.yaml" source-privileges
# 5.7 has no binlog_row_metadata: no item
run_precheck "$GW_TMP/good.yaml"
assert_not_contains "$OUT" "binlog-row-metadata" "no metadata item on 5.7"

# a resumable position stored for this migration: a GTID set the source
# still has, one it purged, one it lacks; a file position of another server
mdb_q dst "CREATE DATABASE godwit_meta; CREATE TABLE godwit_meta.binlog_position (
	task VARCHAR(63) NOT NULL PRIMARY KEY, gtid TEXT NOT NULL, file VARCHAR(255) NOT NULL DEFAULT '',
	pos BIGINT UNSIGNED NOT NULL DEFAULT 0, source_ts BIGINT NOT NULL DEFAULT 0,
	kind VARCHAR(16) NOT NULL DEFAULT '', source_uuid VARCHAR(64) NOT NULL DEFAULT '', halted VARCHAR(1024) NOT NULL DEFAULT '',
	updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
	INSERT INTO godwit_meta.binlog_position (task, gtid, file, pos, kind, source_uuid)
	VALUES ('good', '$U:1-11', 'elsewhere.000007', 4, 'mysql-gtid', '$U')"
expect "$GW_TMP/good.yaml" binlog-retention pass "the stored position $U:1-11 is still in the source's binlogs"
myd_ctl src purge >/dev/null
expect "$GW_TMP/good.yaml" binlog-retention fail "the position $U:1-11 stored in godwit_meta" "see gtid_purged" \
	"fix: start a new full migration"
mdb_q dst "UPDATE godwit_meta.binlog_position SET gtid = '$U:1-13,11111111-2222-4333-8444-555555555555:1'"
expect "$GW_TMP/good.yaml" binlog-retention fail "the source lacks transactions of the stored position" \
	"not a server with this migration's history"
file=$(myd_q src "SHOW MASTER STATUS" | cut -f1)
mdb_q dst "UPDATE godwit_meta.binlog_position SET gtid = '', kind = 'file', file = '$file',
	source_uuid = '11111111-2222-4333-8444-555555555555'"
expect "$GW_TMP/good.yaml" binlog-retention fail "is of the server 11111111-2222-4333-8444-555555555555, the source is now $U" \
	"fix: start a new full migration; enable GTIDs"
mdb_q dst "UPDATE godwit_meta.binlog_position SET source_uuid = '$U'"
expect "$GW_TMP/good.yaml" binlog-retention pass "the stored position $file:4 is still in the source's binlogs"
echo ok
