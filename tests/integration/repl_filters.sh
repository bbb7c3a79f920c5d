# Row filters, column subsets and exclusions applied to the stream. The rule
# (docs/incremental.md): the filter is evaluated on the after image of each
# change; a row that passes is upserted with its selected columns, one that
# does not is deleted by key. So a row that moves out of the filter leaves
# the destination, one that moves in arrives whole, and the destination
# always equals "SELECT selected columns FROM source WHERE filter".
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE shop; USE shop;
	CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(20), total DECIMAL(10,2), status VARCHAR(10), secret VARCHAR(20));
	INSERT INTO orders VALUES (1, 'ann', 50, 'paid', 's'), (2, 'bob', 5, 'paid', 's'), (3, 'cid', 70, 'draft', 's'),
	  (4, 'dan', 80, 'paid', 's'), (5, 'eve', 90, 'paid', 's'), (6, 'fay', 15, 'paid', 's'), (7, 'gus', 20, 'paid', 's');
	CREATE TABLE other (id INT PRIMARY KEY); INSERT INTO other VALUES (1);
	CREATE DATABASE logs; USE logs;
	CREATE TABLE events (id INT PRIMARY KEY, what VARCHAR(20)); INSERT INTO events VALUES (1, 'boot');
	CREATE TABLE tmp_cache (id INT PRIMARY KEY); INSERT INTO tmp_cache VALUES (1)"
copy_spec "$GW_TMP/m.yaml" filt "schema, full, incremental" '    - database: shop
      tables:
        - name: orders
          columns: [id, customer, total, status]
          renameColumns: {total: amount}
          where: "status <> '"'draft'"' AND total >= 10"
    - database: logs
      excludeTables: ["tmp_*"]'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" $a >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail $a; }
done
want='SELECT id, customer, total, status FROM shop.orders WHERE status <> '"'draft'"' AND total >= 10 ORDER BY id'
got='SELECT id, customer, amount, status FROM shop.orders ORDER BY id'
assert_eq "1 4 5 6 7" "$(mdb_q dst 'SELECT id FROM shop.orders ORDER BY id' | tr '\n' ' ' | sed 's/ $//')" "the full copy filtered"

export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
INC=$!
wait_for "streaming" 30 grep -q "streaming" "$GW_TMP/inc.out"

mdb_q src "USE shop;
	INSERT INTO orders VALUES (10, 'new', 30, 'paid', 'x'), (11, 'cheap', 1, 'paid', 'x'), (12, 'nul', NULL, 'paid', 'x');
	UPDATE orders SET status = 'draft' WHERE id = 1;             -- moves out: deleted
	UPDATE orders SET total = 25, customer = 'bob2' WHERE id = 2; -- moves in: inserted whole
	UPDATE orders SET total = 81 WHERE id = 4;                   -- stays in: updated
	UPDATE orders SET id = 105 WHERE id = 5;                     -- key change inside the filter
	UPDATE orders SET id = 106, total = 2 WHERE id = 6;          -- key change and out
	UPDATE orders SET id = 103, status = 'paid' WHERE id = 3;    -- key change and in
	DELETE FROM orders WHERE id IN (7, 11);                      -- in and out of the filter
	UPDATE orders SET secret = 'changed' WHERE id = 10;          -- an unselected column only
	INSERT INTO other VALUES (2);
	USE logs; INSERT INTO events VALUES (2, 'after');
	INSERT INTO tmp_cache VALUES (2); CREATE TABLE tmp_new (id INT PRIMARY KEY); INSERT INTO tmp_new VALUES (1);
	CREATE TABLE audit (id INT PRIMARY KEY); INSERT INTO audit VALUES (1)"
filtered() {
	[ "$(mdb_q src "$want")" = "$(mdb_q dst "$got")" ] && [ "$(mdb_q dst 'SELECT COUNT(*) FROM logs.audit' 2>/dev/null)" = 1 ]
}
wait_for "the destination equals the filtered source" 60 filtered
assert_eq "2 bob2 25.00 paid
4 dan 81.00 paid
10 new 30.00 paid
103 cid 70.00 paid
105 eve 90.00 paid" "$(mdb_q dst "$got" | tr '\t' ' ')" "each move in and out of the filter"
assert_eq "2" "$(mdb_q dst 'SELECT COUNT(*) FROM logs.events')" "a whole database's table follows"
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE (TABLE_SCHEMA = 'logs' AND TABLE_NAME LIKE 'tmp%') OR (TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'other')")" \
	"excluded and unlisted tables neither created nor written"
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND COLUMN_NAME = 'secret'")" \
	"the unselected column stays out"
touch "$GODWIT_STOP_FILE"
wait "$INC" || { cat "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
echo ok
