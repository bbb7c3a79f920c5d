# godwit precheck: every item passes on a good pair; on servers misconfigured
# for an item, that item fails or warns with words that name the object.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src --binlog-row-metadata=FULL --expire-logs-days=7
mdb_start dst
mdb_q src "CREATE DATABASE shop; USE shop;
	CREATE TABLE c (id INT PRIMARY KEY, name VARCHAR(20));
	CREATE TABLE o (id INT PRIMARY KEY, cid INT, FOREIGN KEY (cid) REFERENCES c (id) ON DELETE CASCADE);
	INSERT INTO c VALUES (1, 'a')"
copy_spec "$GW_TMP/good.yaml" good "schema, full, incremental" '    - database: shop'
out=$("$GODWIT" precheck "$GW_TMP/good.yaml") || fail "precheck on a good pair: $out"
for id in source-connect destination-connect versions source-privileges destination-privileges \
	binlog-enabled binlog-format binlog-row-image server-id binlog-retention binlog-row-metadata \
	objects-exist primary-keys name-conflicts charsets engines definers; do
	echo "$out" | grep -Eq "^$id +pass" || fail "item $id passes on a good pair: $out"
done
echo "$out" | grep -Eq "^foreign-keys +warn .*ON DELETE CASCADE" || fail "cascading FK warns: $out"
echo "$out" | grep -Eq "^storage +warn .*MiB" || fail "storage warns with the size: $out"

expect() { # FILE ID RESULT WORDS
	local o
	o=$("$GODWIT" precheck "$1") && [ "$3" = fail ] && fail "precheck exit 0 with a failing $2"
	o=$("$GODWIT" precheck "$1" || true)
	echo "$o" | grep -Eq "^$2 +$3 " || fail "item $2 should $3: $o"
	assert_contains "$o" "$4" "item $2 words"
}

# Tables without a key: fail with incremental, warn without.
mdb_q src "CREATE TABLE shop.nokey (a INT)"
expect "$GW_TMP/good.yaml" primary-keys fail "table shop.nokey has no primary or unique key"
copy_spec "$GW_TMP/full.yaml" fullonly "schema, full" '    - database: shop'
expect "$GW_TMP/full.yaml" primary-keys warn "shop.nokey"
mdb_q src "DROP TABLE shop.nokey"

# A destination table that holds rows.
mdb_q dst "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY); INSERT INTO shop.c VALUES (9)"
expect "$GW_TMP/good.yaml" name-conflicts fail "destination table shop.c already exists and holds rows"
mdb_q dst "DROP DATABASE shop"

# A column list without the key; a filter that does not parse; a missing table.
copy_spec "$GW_TMP/cols.yaml" cols "schema, full" '    - database: shop
      tables:
        - name: c
          columns: [name]
          where: "name ==== 3"
        - name: missing'
expect "$GW_TMP/cols.yaml" primary-keys fail "leaves out primary key column id"
expect "$GW_TMP/cols.yaml" where-filters fail "where of shop.c does not parse"
expect "$GW_TMP/cols.yaml" objects-exist fail "table shop.missing does not exist"
# An FK to a table that is not migrated.
copy_spec "$GW_TMP/fk.yaml" fk "schema, full" '    - database: shop
      tables:
        - name: o'
expect "$GW_TMP/fk.yaml" foreign-keys fail "references shop.c, which is not migrated"

# A source account without grants.
mdb_q src "CREATE USER 'weak'@'%' IDENTIFIED BY '$GW_PASSWORD'; GRANT SELECT ON shop.* TO 'weak'@'%'"
sed 's/user: godwit/user: weak/' "$GW_TMP/good.yaml" | awk 'BEGIN{n=0} /user: weak/{n++; if (n==2) sub("weak","godwit")} {print}' >"$GW_TMP/weak.yaml"
expect "$GW_TMP/weak.yaml" source-privileges fail "GRANT SHOW VIEW, TRIGGER, EVENT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'weak'@'%';"

# Wrong password: a failed item, not a crash, and no password in the output.
GW_PASSWORD=wrong-secret-value expect "$GW_TMP/good.yaml" source-connect fail "Access denied"
o=$(GW_PASSWORD=wrong-secret-value "$GODWIT" precheck "$GW_TMP/good.yaml" 2>&1 || true)
assert_not_contains "$o" "wrong-secret-value" "password never printed"

# A source misconfigured for incremental migration.
mdb_start bad --binlog-format=STATEMENT --binlog-row-image=MINIMAL --expire-logs-days=0.5
mdb_q bad "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY)"
sed "s/port: $src_PORT/port: $bad_PORT/" "$GW_TMP/good.yaml" >"$GW_TMP/bad.yaml"
expect "$GW_TMP/bad.yaml" binlog-format fail "binlog_format is STATEMENT"
expect "$GW_TMP/bad.yaml" binlog-row-image fail "binlog_row_image is MINIMAL"
expect "$GW_TMP/bad.yaml" binlog-retention warn "binlogs are kept 12.0 hours"
expect "$GW_TMP/bad.yaml" binlog-row-metadata warn "binlog_row_metadata is"
mdb_start nolog --skip-log-bin
mdb_q nolog "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY)"
sed "s/port: $src_PORT/port: $nolog_PORT/" "$GW_TMP/good.yaml" >"$GW_TMP/nolog.yaml"
expect "$GW_TMP/nolog.yaml" binlog-enabled fail "the source has no binlog"
echo ok
