# How the controller reads a directory of specs: two files naming one
# migration, a valid spec saved broken (and fixed again), a deleted spec,
# and a directory that suddenly lists nothing (deletes nothing).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/one.yaml" one "schema, full"
write_spec "$D/two.yaml" two "schema, full" "      renameTo: shop_two"
write_spec "$D/zz-dup.yaml" one "full"
acted() { case "$(cat "$S/tasks/$1/phase" 2>/dev/null)" in "" | Pending | Invalid) return 1 ;; esac; }

ctl_start C --dir "$D" --state-dir "$S"
wait_for "one acted on" 60 acted one
wait_for "two acted on" 60 acted two
wait_for "the duplicate is Invalid" 30 phase_is "$S" zz-dup Invalid
assert_contains "$(cat "$S/tasks/zz-dup/message")" "metadata.name 'one' is already used by one.yaml" "duplicate named"

# two.yaml saved broken (by rename, as editors do): two is Invalid, one goes on
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: two\nspec:\n  sorce: {}\n' >"$D/.two.tmp"
mv "$D/.two.tmp" "$D/two.yaml"
wait_for "two Invalid" 30 phase_is "$S" two Invalid
assert_contains "$(cat "$S/tasks/two/message")" "two.yaml:6" "the message points at the line"
acted one || fail "one disturbed by two's broken file"
write_spec "$D/two.yaml" two "schema, full" "      renameTo: shop_two"
wait_for "two valid again" 60 acted two

# two deleted: stopped, data kept, status kept
rm "$D/two.yaml"
wait_for "two stopped" 30 phase_is "$S" two Stopped
assert_contains "$(cat "$S/tasks/two/message")" "spec deleted" "deletion said"

# the directory suddenly lists nothing: nothing is deleted
rm "$D/one.yaml" "$D/zz-dup.yaml"
wait_for "the controller refuses an empty source" 30 grep -q "lists no spec at all" "$GW_TMP/controller-C.log"
acted one || fail "one was deleted by an empty directory"
assert_not_contains "$(cat "$S/tasks/one/message")" "spec deleted" "one not deleted"
kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
