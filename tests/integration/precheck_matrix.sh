# godwit precheck, item by item, on real servers: for each item a server
# misconfigured for it (the item fails or warns, naming the object, the
# cause and the fix) and the same servers put right (the item passes).
# Each row asserts the item id, its result and the key words of the cause
# and of the fix. Then the controller: a failing precheck leaves the
# migration PrecheckFailed with the failed items in `message` and
# precheck.yaml written, and no password anywhere.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"
. "$(dirname "$0")/../lib/precheck.sh"

# --- TLS material: a CA that signs the source's certificate, and another
# CA that signs nothing the servers use.
tls=$GW_TMP/tls
mkdir -p "$tls"
(
	cd "$tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=godwit-test-ca \
		-keyout ca.key -out ca.pem
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
		-keyout other.key -out other.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out server.pem
) >"$GW_TMP/openssl.log" 2>&1 || { cat "$GW_TMP/openssl.log"; fail "openssl"; }

# --- a collation only the source has: latin1_godwit_ci, a user-defined
# 8-bit collation from a character-sets-dir of its own.
cs=$GW_TMP/charsets
cp -a "$(mariadbd --verbose --help 2>/dev/null | awk '$1 == "character-sets-dir" {print $2}')" "$cs"
python3 - "$cs" <<'PY'
import re, sys
d = sys.argv[1]
s = open(d + '/Index.xml').read()
s = s.replace('<collation name="latin1_bin"', '<collation name="latin1_godwit_ci" id="1100"/>\n  <collation name="latin1_bin"', 1)
open(d + '/Index.xml', 'w').write(s)
s = open(d + '/latin1.xml').read()
m = re.search(r'<collation name="latin1_swedish_ci">.*?</collation>', s, re.S)
s = s.replace('</charset>', m.group(0).replace('latin1_swedish_ci', 'latin1_godwit_ci') + '\n</charset>', 1)
open(d + '/latin1.xml', 'w').write(s)
PY

mdb_start src --binlog-row-metadata=FULL --binlog-expire-logs-seconds=604800 \
	--character-sets-dir="$cs" --ssl-ca="$tls/ca.pem" --ssl-cert="$tls/server.pem" --ssl-key="$tls/server.key"
mdb_start dst
# alt: a source without binlog, and a destination with other name rules
mdb_start alt --skip-log-bin --lower-case-table-names=1

base_sql="CREATE DATABASE shop; USE shop;
	CREATE TABLE c (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT '', KEY k_name (name));
	CREATE TABLE o (id INT PRIMARY KEY, cid INT, FOREIGN KEY (cid) REFERENCES c (id));
	CREATE TABLE u (code CHAR(3) NOT NULL, UNIQUE KEY (code));
	INSERT INTO c VALUES (1, 'a'), (2, 'b'); INSERT INTO o VALUES (1, 1); INSERT INTO u VALUES ('x')"
mdb_q src "$base_sql"
mdb_q alt "$base_sql"
mdb_q src "CREATE DATABASE legacy; CREATE TABLE legacy.t (id INT PRIMARY KEY,
	a VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_godwit_ci)"

copy_spec "$GW_TMP/good.yaml" good "schema, full, incremental" '    - database: shop'
copy_spec "$GW_TMP/full.yaml" fullonly "schema, full" '    - database: shop'

# spec_with FILE SED...: the good spec edited.
spec_with() {
	local f=$1
	shift
	sed "$@" "$GW_TMP/good.yaml" >"$f"
}
# Source lines come first in the spec, destination lines second.
src_line() { echo "0,\\|$1|s|$1|$2|"; }
dst_line() { echo "0,\\|$1|!{0,\\|$1|s|$1|$2|}"; }

# --- the good pair: every item passes but storage (a self-managed
# destination's free space cannot be read: a warn with the size needed).
run_precheck "$GW_TMP/good.yaml"
[ "$RC" = 0 ] || fail "precheck on a good pair exits $RC: $OUT"
for id in source-connect destination-connect versions source-privileges destination-privileges \
	binlog-enabled binlog-format binlog-row-image server-id binlog-retention binlog-row-metadata \
	objects-exist where-filters primary-keys name-conflicts foreign-keys charsets \
	lower-case-table-names sql-mode engines definers; do
	only_pass "$GW_TMP/good.yaml" "$id"
done
expect "$GW_TMP/good.yaml" storage warn "the selection holds about 1 MiB" "fix: make sure the destination has" "free space"
assert_contains "$OUT" "0 failed" "summary line"
# the same as JSON, for scripts
json=$("$GODWIT" precheck --json "$GW_TMP/good.yaml") || fail "precheck --json on a good pair"
assert_eq "21 1 0 storage:warn" "$(python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print(d["passed"], d["warned"], d["failed"], " ".join(i["id"] + ":" + i["result"] for i in d["items"] if i["result"] != "pass"))' <<<"$json")" "precheck --json"
# usage and bad input: exit 2 without a FILE, 1 with the file named
rc=0; "$GODWIT" precheck >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "precheck without FILE"
rc=0; o=$("$GODWIT" precheck "$GW_TMP/nosuch.yaml" 2>&1) || rc=$?
assert_eq 1 "$rc" "precheck of a missing file"
assert_contains "$o" "$GW_TMP/nosuch.yaml" "error names the file"

# --- connections --------------------------------------------------------
closed=$(free_port)
spec_with "$GW_TMP/unreach-src.yaml" -e "$(src_line "port: $src_PORT" "port: $closed")"
expect "$GW_TMP/unreach-src.yaml" source-connect fail "source 127.0.0.1:$closed" "Can't connect" "fix: check host, port"
spec_with "$GW_TMP/unreach-dst.yaml" -e "s/port: $dst_PORT/port: $closed/"
expect "$GW_TMP/unreach-dst.yaml" destination-connect fail "destination 127.0.0.1:$closed" "Can't connect" "fix: check host, port"
only_pass "$GW_TMP/unreach-dst.yaml" source-connect

# A wrong password: a failed item, and the password nowhere in the output.
spec_with "$GW_TMP/badpw.yaml" -e "$(src_line 'fromEnv: GW_PASSWORD' 'fromEnv: BAD_PW')"
BAD_PW=wrong-secret-value expect "$GW_TMP/badpw.yaml" source-connect fail "(user godwit)" "Access denied" "fix: check host, port, user, password"
BAD_PW=wrong-secret-value run_precheck "$GW_TMP/badpw.yaml"
assert_not_contains "$OUT" "wrong-secret-value" "wrong password never printed"
assert_not_contains "$OUT" "$GW_PASSWORD" "password never printed"
only_pass "$GW_TMP/badpw.yaml" destination-connect

# TLS verify-ca: against a certificate of another CA it fails; with the CA
# that signed it, it passes over TLS.
spec_with "$GW_TMP/tls-bad.yaml" -e "$(src_line 'tls: {mode: disabled}' "tls: {mode: verify-ca, ca: $tls/other.pem}")"
expect "$GW_TMP/tls-bad.yaml" source-connect fail "source 127.0.0.1:$src_PORT" "certificate" "fix: check host, port, user, password, TLS settings" "must be signed by tls.ca"
spec_with "$GW_TMP/tls-good.yaml" -e "$(src_line 'tls: {mode: disabled}' "tls: {mode: verify-ca, ca: $tls/ca.pem}")"
expect "$GW_TMP/tls-good.yaml" source-connect pass "connected to the source" ", TLS)"
# required against a server without TLS at all
spec_with "$GW_TMP/tls-none.yaml" -e "$(dst_line 'tls: {mode: disabled}' 'tls: {mode: required}')"
expect "$GW_TMP/tls-none.yaml" destination-connect fail "destination 127.0.0.1:$dst_PORT" "SSL" "fix: check host, port, user, password, TLS settings"

# --- versions -------------------------------------------------------------
mdb_start old --version=10.4.0-MariaDB-old
spec_with "$GW_TMP/old.yaml" -e "s/port: $dst_PORT/port: $old_PORT/"
expect "$GW_TMP/old.yaml" versions warn "the destination MariaDB 10.4.0-MariaDB-old is older than the source" "fix: use a destination of the same or a newer version"
mdb_stop old
mdb_start ancient --version=5.6.51-log
spec_with "$GW_TMP/ancient.yaml" -e "s/port: $dst_PORT/port: $ancient_PORT/"
expect "$GW_TMP/ancient.yaml" versions fail "destination MySQL 5.6.51-log is not supported" "fix: use MySQL 5.7 or 8.x, or MariaDB 10.0"
mdb_stop ancient
expect "$GW_TMP/good.yaml" versions pass "MariaDB" "to MariaDB" "supported"

# --- privileges -------------------------------------------------------------
# The source account lacks one privilege at a time; the fix is the exact
# GRANT, and running it makes the item pass.
src_all="SELECT, SHOW VIEW, TRIGGER, EVENT"
for miss in SELECT "SHOW VIEW" TRIGGER EVENT "REPLICATION SLAVE" "REPLICATION CLIENT"; do
	mdb_q src "DROP USER IF EXISTS 'weak'@'%'; CREATE USER 'weak'@'%' IDENTIFIED BY '$GW_PASSWORD'"
	db_privs=$(echo "$src_all" | sed -e "s/\(^\|, \)$miss\(, \|$\)/\1/" -e 's/, $//')
	mdb_q src "GRANT $db_privs ON shop.* TO 'weak'@'%'"
	for g in "REPLICATION SLAVE" "REPLICATION CLIENT"; do
		[ "$g" = "$miss" ] || mdb_q src "GRANT $g ON *.* TO 'weak'@'%'"
	done
	spec_with "$GW_TMP/weak.yaml" -e "$(src_line 'user: godwit' 'user: weak')"
	if [ "$miss" = "REPLICATION SLAVE" ] || [ "$miss" = "REPLICATION CLIENT" ]; then
		want="GRANT $miss ON *.* TO 'weak'@'%';"
		expect "$GW_TMP/weak.yaml" source-privileges fail "account 'weak'@'%' on the source lacks $miss on *.*" "fix: $want"
		# a full-only migration does not need it
		sed "$(src_line 'user: godwit' 'user: weak')" "$GW_TMP/full.yaml" >"$GW_TMP/weak-full.yaml"
		only_pass "$GW_TMP/weak-full.yaml" source-privileges
	else
		want="GRANT $miss ON \`shop\`.* TO 'weak'@'%';"
		expect "$GW_TMP/weak.yaml" source-privileges fail "account 'weak'@'%' on the source lacks $miss on \`shop\`.*" "fix: $want"
	fi
	mdb_q src "$want"
	only_pass "$GW_TMP/weak.yaml" source-privileges
done

# The destination account: its databases and the meta database.
dst_all="SELECT, CREATE, ALTER, INDEX, INSERT, UPDATE, DELETE, DROP, CREATE VIEW, TRIGGER, CREATE ROUTINE, EVENT"
mdb_q dst "CREATE USER 'dw'@'%' IDENTIFIED BY '$GW_PASSWORD';
	GRANT SELECT, CREATE, ALTER, INDEX, INSERT, UPDATE, DELETE, DROP, TRIGGER, CREATE ROUTINE, EVENT ON shop.* TO 'dw'@'%'"
spec_with "$GW_TMP/dw.yaml" -e "$(dst_line 'user: godwit' 'user: dw')"
want="GRANT CREATE VIEW ON \`shop\`.* TO 'dw'@'%'; GRANT SELECT, CREATE, INSERT, UPDATE, DELETE ON \`godwit_meta\`.* TO 'dw'@'%';"
expect "$GW_TMP/dw.yaml" destination-privileges fail "account 'dw'@'%' on the destination lacks CREATE VIEW on \`shop\`.*; SELECT, CREATE, INSERT, UPDATE, DELETE on \`godwit_meta\`.*" "fix: $want"
mdb_q dst "$want"
only_pass "$GW_TMP/dw.yaml" destination-privileges
# a database-pattern grant counts for the databases it matches
mdb_q dst "DROP USER 'dw'@'%'; CREATE USER 'dw'@'%' IDENTIFIED BY '$GW_PASSWORD';
	GRANT $dst_all ON \`sh%\`.* TO 'dw'@'%'; GRANT ALL PRIVILEGES ON \`godwit\\_meta\`.* TO 'dw'@'%'"
only_pass "$GW_TMP/dw.yaml" destination-privileges

# --- binlog settings, set on the running source -------------------------
# row: VARIABLE BAD GOOD ID CAUSE FIX
while IFS='|' read -r var bad good id cause fix; do
	mdb_q src "SET GLOBAL $var = $bad"
	expect "$GW_TMP/good.yaml" "$id" fail "$cause" "fix: $fix"
	# a full-only migration does not read the binlog
	run_precheck "$GW_TMP/full.yaml"
	assert_not_contains "$OUT" "$id" "$id is not checked without incremental"
	mdb_q src "SET GLOBAL $var = $good"
	only_pass "$GW_TMP/good.yaml" "$id"
done <<'ROWS'
binlog_format|'STATEMENT'|'ROW'|binlog-format|binlog_format is STATEMENT: row changes are only in ROW format|SET GLOBAL binlog_format = 'ROW'
binlog_format|'MIXED'|'ROW'|binlog-format|binlog_format is MIXED|SET GLOBAL binlog_format = 'ROW'
binlog_row_image|'MINIMAL'|'FULL'|binlog-row-image|binlog_row_image is MINIMAL: updates must carry whole rows|SET GLOBAL binlog_row_image = 'FULL'
binlog_row_image|'NOBLOB'|'FULL'|binlog-row-image|binlog_row_image is NOBLOB|SET GLOBAL binlog_row_image = 'FULL'
ROWS
# server-id: MariaDB keeps server_id at 1 or more (SET GLOBAL server_id = 0
# gives 1), so its fail branch is for MySQL sources only.
mdb_q src "SET GLOBAL server_id = 0"
assert_eq 1 "$(mdb_q src 'SELECT @@GLOBAL.server_id')" "MariaDB clamps server_id"
expect "$GW_TMP/good.yaml" server-id pass "server_id is 1"
mdb_q src "SET GLOBAL binlog_row_metadata = 'MINIMAL'"
expect "$GW_TMP/good.yaml" binlog-row-metadata warn "binlog_row_metadata is MINIMAL" "fix: SET GLOBAL binlog_row_metadata = 'FULL'"
mdb_q src "SET GLOBAL binlog_row_metadata = 'FULL'"
only_pass "$GW_TMP/good.yaml" binlog-row-metadata

# log_bin is not dynamic: a server started without it.
spec_with "$GW_TMP/nolog.yaml" -e "$(src_line "port: $src_PORT" "port: $alt_PORT")"
expect "$GW_TMP/nolog.yaml" binlog-enabled fail "the source has no binlog (log_bin is OFF)" "fix: start the source with log_bin"

# Retention: kept less than 24 hours warns (both variables).
mdb_q src "SET GLOBAL binlog_expire_logs_seconds = 43200"
expect "$GW_TMP/good.yaml" binlog-retention warn "binlogs are kept 12.0 hours" "fix: keep binlogs 7 days"
mdb_q src "SET GLOBAL expire_logs_days = 0.5"
expect "$GW_TMP/good.yaml" binlog-retention warn "binlogs are kept 12.0 hours"
mdb_q src "SET GLOBAL binlog_expire_logs_seconds = 604800"
only_pass "$GW_TMP/good.yaml" binlog-retention
# A resumable position stored in godwit_meta for this migration, then
# purged from the source: fail. Still there: pass.
mdb_q dst "CREATE DATABASE godwit_meta; CREATE TABLE godwit_meta.binlog_position (
	task VARCHAR(63) NOT NULL PRIMARY KEY, gtid TEXT NOT NULL, file VARCHAR(255) NOT NULL DEFAULT '',
	pos BIGINT UNSIGNED NOT NULL DEFAULT 0, source_ts BIGINT NOT NULL DEFAULT 0,
	updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
	CREATE TABLE godwit_meta.task_stage (task VARCHAR(63) NOT NULL PRIMARY KEY,
	stage TINYINT UNSIGNED NOT NULL, immutable_hash CHAR(64) NOT NULL DEFAULT '',
	updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
first=$(mdb_q src "SHOW MASTER STATUS" | cut -f1)
gtid=$(mdb_q src "SELECT @@gtid_binlog_pos")
mdb_q dst "INSERT INTO godwit_meta.binlog_position (task, gtid, file, pos) VALUES ('good', '$gtid', '$first', 4)"
expect "$GW_TMP/good.yaml" binlog-retention pass "the stored position $gtid is still in the source's binlogs"
mdb_q src "INSERT INTO shop.u VALUES ('y'); FLUSH BINARY LOGS; INSERT INTO shop.u VALUES ('z'); FLUSH BINARY LOGS"
last=$(mdb_q src "SHOW MASTER STATUS" | cut -f1)
# a binlog is purged once InnoDB no longer needs it for recovery: retried
purged() {
	mdb_q src "PURGE BINARY LOGS TO '$last'"
	[ "$(mdb_q src 'SHOW BINARY LOGS' | head -1 | cut -f1)" = "$last" ]
}
wait_for "binlogs before $last purged" 60 purged
expect "$GW_TMP/good.yaml" binlog-retention fail "the position $gtid stored in godwit_meta for this migration is older than the oldest binlog on the source ($last)" "fix: start a new full migration"
# the same with a GTID-only position (MariaDB: the oldest binlog's Gtid_list)
mdb_q dst "UPDATE godwit_meta.binlog_position SET file = ''"
expect "$GW_TMP/good.yaml" binlog-retention fail "the position $gtid stored in godwit_meta" "($last)"
gtid=$(mdb_q src "SELECT @@gtid_binlog_pos")
mdb_q dst "UPDATE godwit_meta.binlog_position SET gtid = '$gtid'"
expect "$GW_TMP/good.yaml" binlog-retention pass "the stored position $gtid is still in the source's binlogs"
mdb_q dst "DROP DATABASE godwit_meta"
mdb_q src "DELETE FROM shop.u WHERE code <> 'x'"

# --- objects, filters ----------------------------------------------------
copy_spec "$GW_TMP/objs.yaml" objs "schema, full" '    - database: nosuch
    - database: shop
      tables:
        - name: c
          columns: [id, nosuchcol]
        - name: missing
        - name: o
          renameColumns: {nosuchcol2: x}
          where: "cid ==== 3"
        - name: u
          where: "nosuchcol > 1"'
expect "$GW_TMP/objs.yaml" objects-exist fail "database nosuch does not exist on the source" "fix: correct objects[].database"
expect "$GW_TMP/objs.yaml" objects-exist fail "table shop.missing does not exist on the source" "fix: correct the table name"
expect "$GW_TMP/objs.yaml" objects-exist fail "column shop.c.nosuchcol does not exist on the source" "fix: correct the column list"
expect "$GW_TMP/objs.yaml" objects-exist fail "column shop.o.nosuchcol2 (in renameColumns) does not exist on the source" "fix: correct renameColumns"
expect "$GW_TMP/objs.yaml" where-filters fail "where of shop.o does not run on the source: error 1064 (SQLSTATE 42000): You have an error in your SQL syntax" "fix: correct the where expression"
expect "$GW_TMP/objs.yaml" where-filters fail "where of shop.u: 'nosuchcol' (at byte 1) is not a column of the table" "fix: correct the where expression in the spec: one boolean expression over the table's own columns"
copy_spec "$GW_TMP/where.yaml" where "schema, full" '    - database: shop
      tables:
        - name: c
          where: "name >= '"'"'a'"'"' AND id < 10"'
only_pass "$GW_TMP/where.yaml" where-filters
only_pass "$GW_TMP/where.yaml" objects-exist

# --- name conflicts -------------------------------------------------------
ddl_c=$(mdb_q src "SHOW CREATE TABLE shop.c" | cut -f2- | sed 's/\\n/ /g')
mdb_q dst "CREATE DATABASE shop; USE shop; $ddl_c; INSERT INTO c VALUES (9, 'z')"
expect "$GW_TMP/good.yaml" name-conflicts fail "destination table shop.c already exists and holds rows" "fix: empty or drop it"
mdb_q dst "DELETE FROM shop.c"
expect "$GW_TMP/good.yaml" name-conflicts pass "destination table shop.c already exists, empty, with the same definition"
only_pass "$GW_TMP/good.yaml" name-conflicts
mdb_q dst "ALTER TABLE shop.c MODIFY name VARCHAR(30) NOT NULL DEFAULT ''"
expect "$GW_TMP/good.yaml" name-conflicts fail "destination table shop.c already exists, empty, with another definition: column \`name\` is varchar(20) NOT NULL DEFAULT '' COLLATE latin1_swedish_ci on the source, varchar(30) NOT NULL DEFAULT '' COLLATE latin1_swedish_ci on the destination" "fix: drop the destination table"
mdb_q dst "ALTER TABLE shop.c MODIFY name VARCHAR(20) NOT NULL DEFAULT '', DROP KEY k_name"
expect "$GW_TMP/good.yaml" name-conflicts fail "with another definition: index \`k_name\` is missing on the destination"
mdb_q dst "DROP DATABASE shop"
# views (routines, triggers, events) of a whole database: same definition
# passes, another one fails
mdb_q src "CREATE VIEW shop.vv AS SELECT id FROM shop.c"
mdb_q dst "CREATE DATABASE shop; CREATE VIEW shop.vv AS SELECT 1 AS id"
expect "$GW_TMP/good.yaml" name-conflicts fail "destination VIEW shop.vv already exists with another definition" "fix: drop it (the migration creates it)"
mdb_q dst "DROP VIEW shop.vv; USE shop; $ddl_c; CREATE VIEW shop.vv AS SELECT id FROM shop.c"
only_pass "$GW_TMP/good.yaml" name-conflicts
mdb_q dst "DROP DATABASE shop"
mdb_q src "DROP VIEW shop.vv"
# renamed, with a column subset: compared under the mapped names
copy_spec "$GW_TMP/ren.yaml" ren "schema, full" '    - database: shop
      renameTo: store
      tables:
        - name: c
          renameTo: customers
          columns: [id, name]
          renameColumns: {name: full_name}'
mdb_q dst "CREATE DATABASE store; CREATE TABLE store.customers (id INT PRIMARY KEY, full_name VARCHAR(20) NOT NULL DEFAULT '', KEY k_name (full_name))"
expect "$GW_TMP/ren.yaml" name-conflicts pass "destination table store.customers already exists, empty, with the same definition"
mdb_q dst "ALTER TABLE store.customers ADD COLUMN extra INT"
expect "$GW_TMP/ren.yaml" name-conflicts fail "the destination has column \`extra\`"
mdb_q dst "DROP DATABASE store"

# --- keys -----------------------------------------------------------------
mdb_q src "CREATE TABLE shop.nokey (a INT)"
# a table without a key is migrated, with a warning that says what it costs
expect "$GW_TMP/good.yaml" primary-keys warn "table shop.nokey has no primary key, nor a unique key on NOT NULL columns" "its copy cannot resume part-way" "its changes are applied by the whole row" "fix: add a primary key"
expect "$GW_TMP/full.yaml" primary-keys warn "table shop.nokey has no primary key" "its copy cannot resume part-way" "fix: add a primary key"
assert_not_contains "$OUT" "applied by the whole row" "without incremental, no word of changes"
mdb_q src "DROP TABLE shop.nokey"
only_pass "$GW_TMP/good.yaml" primary-keys
# a unique key on a nullable column cannot identify rows
mdb_q src "CREATE TABLE shop.nullkey (a INT NULL, UNIQUE KEY (a))"
expect "$GW_TMP/good.yaml" primary-keys warn "table shop.nullkey has no primary key, nor a unique key on NOT NULL columns"
mdb_q src "ALTER TABLE shop.nullkey MODIFY a INT NOT NULL"
only_pass "$GW_TMP/good.yaml" primary-keys
mdb_q src "DROP TABLE shop.nullkey"
copy_spec "$GW_TMP/cols.yaml" cols "schema, full" '    - database: shop
      tables:
        - name: c
          columns: [name]'
expect "$GW_TMP/cols.yaml" primary-keys fail "the column list of shop.c leaves out primary key column id" "fix: add the key column"

# --- foreign keys ---------------------------------------------------------
mdb_q src "CREATE TABLE shop.oc (id INT PRIMARY KEY, cid INT,
	CONSTRAINT fk_oc FOREIGN KEY (cid) REFERENCES shop.c (id) ON DELETE CASCADE)"
expect "$GW_TMP/good.yaml" foreign-keys warn "foreign key fk_oc of shop.oc has ON DELETE CASCADE: cascaded deletes are not in the binlog; the incremental migration has the destination perform them" "fix: none needed"
mdb_q src "ALTER TABLE shop.oc DROP FOREIGN KEY fk_oc; ALTER TABLE shop.oc ADD CONSTRAINT fk_oc FOREIGN KEY (cid) REFERENCES shop.c (id) ON UPDATE SET NULL"
expect "$GW_TMP/good.yaml" foreign-keys warn "foreign key fk_oc of shop.oc has ON UPDATE SET NULL"
mdb_q src "DROP TABLE shop.oc"
only_pass "$GW_TMP/good.yaml" foreign-keys
copy_spec "$GW_TMP/fk.yaml" fk "schema, full" '    - database: shop
      tables:
        - name: o'
expect "$GW_TMP/fk.yaml" foreign-keys fail "references shop.c, which is not migrated" "fix: select the referenced table too"

# --- character sets and collations ----------------------------------------
copy_spec "$GW_TMP/legacy.yaml" legacy "schema, full" '    - database: legacy'
expect "$GW_TMP/legacy.yaml" charsets fail "collation latin1_godwit_ci is used by the selection (column legacy.t.a" "does not exist on the destination" "fix: use a destination that has it"
mdb_q src "ALTER TABLE legacy.t MODIFY a VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci"
only_pass "$GW_TMP/legacy.yaml" charsets

# --- names and modes --------------------------------------------------------
spec_with "$GW_TMP/lctn.yaml" -e "s/port: $dst_PORT/port: $alt_PORT/"
expect "$GW_TMP/lctn.yaml" lower-case-table-names warn "lower_case_table_names is 0 on the source and 1 on the destination" "fix: run both servers with the same lower_case_table_names"
smode=$(mdb_q dst "SELECT @@GLOBAL.sql_mode")
mdb_q dst "SET GLOBAL sql_mode = 'ANSI_QUOTES'"
expect "$GW_TMP/good.yaml" sql-mode warn "sql_mode differs: source '$smode', destination 'ANSI_QUOTES'" "fix: align the destination's global sql_mode"
mdb_q dst "SET GLOBAL sql_mode = '$smode'"
only_pass "$GW_TMP/good.yaml" sql-mode

# --- engines ------------------------------------------------------------------
mdb_q src "CREATE TABLE shop.m (id INT PRIMARY KEY) ENGINE=MyISAM; CREATE TABLE shop.a (id INT PRIMARY KEY) ENGINE=Aria"
expect "$GW_TMP/good.yaml" engines warn "table shop.m uses MyISAM: not transactional" "fix: convert it: ALTER TABLE ... ENGINE=InnoDB"
expect "$GW_TMP/good.yaml" engines warn "table shop.a uses Aria"
mdb_q src "DROP TABLE shop.m, shop.a"
only_pass "$GW_TMP/good.yaml" engines

# --- definers -------------------------------------------------------------------
mdb_q src "CREATE USER 'ghost'@'%'; GRANT SELECT ON shop.* TO 'ghost'@'%';
	CREATE DEFINER='ghost'@'%' SQL SECURITY DEFINER VIEW shop.v AS SELECT id FROM shop.c"
expect "$GW_TMP/good.yaml" definers warn "definer ghost@% does not exist on the destination: its views and routines will get the migration account as definer with SQL SECURITY INVOKER" "fix: create the account on the destination"
# a table selection migrates no view: nothing to say
expect "$GW_TMP/cols.yaml" definers pass "table selections migrate tables only"
mdb_q dst "CREATE USER 'ghost'@'%'"
only_pass "$GW_TMP/good.yaml" definers
mdb_q src "DROP VIEW shop.v"
# A definer that exists on the destination is kept: the destination account
# must be able to see it, and to create objects for another account.
mdb_q src "CREATE USER 'keeper'@'%'; CREATE DEFINER='keeper'@'%' VIEW shop.vk AS SELECT id FROM shop.c"
mdb_q dst "CREATE USER 'keeper'@'%'"
expect "$GW_TMP/dw.yaml" definers warn "cannot tell whether definer keeper@% exists on the destination (mysql.user is not readable" "fix: GRANT SELECT ON mysql.user"
mdb_q dst "GRANT SELECT ON mysql.user TO 'dw'@'%'"
expect "$GW_TMP/dw.yaml" definers fail "definer keeper@% exists on the destination and is kept, but account 'dw'@'%' may not create objects for another definer" "fix: GRANT SET USER ON *.* TO 'dw'@'%';"
mdb_q dst "GRANT SET USER ON *.* TO 'dw'@'%'"
only_pass "$GW_TMP/dw.yaml" definers
mdb_q src "DROP VIEW shop.vk"

# --- through the controller: PrecheckFailed, message, precheck.yaml ----------
mkdir -p "$GW_TMP/specs" "$GW_TMP/state"
mdb_q src "SET GLOBAL binlog_format = 'STATEMENT'"
cp "$GW_TMP/good.yaml" "$GW_TMP/specs/good.yaml"
rc=0
"$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$GW_TMP/state" --once >"$GW_TMP/ctl.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "controller --once exits 1 on PrecheckFailed"
t=$GW_TMP/state/tasks/good
assert_eq PrecheckFailed "$(cat "$t/phase")" "phase"
msg=$(cat "$t/message")
assert_contains "$msg" "binlog-format: binlog_format is STATEMENT" "message names the failed item and its cause"
yaml=$(cat "$t/precheck.yaml")
assert_contains "$yaml" "id: binlog-format
    result: fail" "precheck.yaml holds the failed item"
assert_contains "$yaml" "SET GLOBAL binlog_format = 'ROW'" "precheck.yaml holds the fix"
assert_contains "$yaml" "id: binlog-row-image
    result: pass" "precheck.yaml holds the passing items"
# nothing written on the destination
assert_eq "" "$(mdb_q dst "SHOW DATABASES LIKE 'shop'")" "nothing created before a passing precheck"
if grep -rq "$GW_PASSWORD" "$GW_TMP/state" "$GW_TMP/ctl.out"; then fail "password in the state dir or output"; fi
# Put right, and the spec edited (a new precheck): it passes and the
# migration goes on to incremental.
mdb_q src "SET GLOBAL binlog_format = 'ROW'"
sed -i 's/^metadata:$/metadata:\n  labels: {fixed: "yes"}/' "$GW_TMP/specs/good.yaml"
rc=0
timeout 300 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$GW_TMP/state" --once >"$GW_TMP/ctl2.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "controller --once after the fix: $(tail -5 "$GW_TMP/ctl2.out")"
assert_eq Incremental "$(cat "$t/phase")" "phase after the fix"
assert_contains "$(cat "$t/precheck.yaml")" "id: binlog-format
    result: pass" "precheck.yaml after the fix"
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.c')" "the migration went on"
echo ok
