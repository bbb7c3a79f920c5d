# The directory source with real inotify: editors that save by rename (and
# vim's backup rename), in-place writes, deletes, a Kubernetes ..data
# symlink swap, a queue overflow, a burst of writes, a broken file beside
# good ones. The periodic rescan is set to 10 minutes, so only inotify can
# explain each reaction within seconds.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
for db in da db dk; do
	mdb_q src "CREATE DATABASE $db; CREATE TABLE $db.t (id INT PRIMARY KEY, v INT); INSERT INTO $db.t VALUES (1, 1)"
done
D=$GW_TMP/specs
S=$GW_TMP/state
LOG=$GW_TMP/controller-C.log
mkdir -p "$D"

# spec FILE NAME DB TYPES [EXTRA]: a spec of database DB
spec() {
	write_spec "$1.w" "$2" "$4" "${5:-}"
	sed -i "s/- database: shop/- database: $3/" "$1.w"
	mv "$1.w" "$1"
}
# rev_is NAME FILE: the status names the sha256 of FILE's bytes as read now
rev_is() {
	grep -q "sha256: \"$(sha256sum <"$2" | cut -d' ' -f1)\"" "$S/tasks/$1/status.yaml" 2>/dev/null
}
rescans() { grep -c "rescan after\|queue overflowed" "$LOG" || true; }

spec "$D/a.yaml" dir-a da "schema"
spec "$D/b.yaml" dir-b db "schema, full, incremental"
mkdir -p "$D/..2026_11_25_01.000000001"
spec "$D/..2026_11_25_01.000000001/k.yaml" dir-k dk "schema"
ln -s ..2026_11_25_01.000000001 "$D/..data"
ln -s ..data/k.yaml "$D/k.yaml"

ctl_start C --dir "$D" --state-dir "$S" --interval 10m --log-level debug
wait_for "dir-a Completed" 90 phase_is "$S" dir-a Completed
wait_for "dir-k (through ..data) Completed" 90 phase_is "$S" dir-k Completed
wait_for "dir-b streaming" 90 phase_is "$S" dir-b Incremental
mdb_q src "INSERT INTO db.t VALUES (2, 2)"
wait_for "a write on the source arrives" 30 dst_is "SELECT COUNT(*) FROM db.t" 2

# 1. an editor's save: write a temporary file, rename it over the spec
spec "$D/a.yaml" dir-a da "schema" "  retryWindow: 11m"
wait_for "rename-save seen" 15 rev_is dir-a "$D/a.yaml"

# 2. vim: the spec renamed to a backup, a new file written, the backup
# removed; a slow one (a second without a.yaml) is still not a deletion
mv "$D/a.yaml" "$D/a.yaml~"
sleep 1.2 # the editor's gap, not synchronisation
sed 's/retryWindow: 11m/retryWindow: 12m/' "$D/a.yaml~" >"$D/a.yaml"
rm "$D/a.yaml~"
wait_for "vim-style save seen" 15 rev_is dir-a "$D/a.yaml"

# 3. an in-place write (truncate and write: only IN_CLOSE_WRITE says it is done)
sed 's/retryWindow: 12m/retryWindow: 13m/' "$D/a.yaml" >"$GW_TMP/a.new"
cat "$GW_TMP/a.new" >"$D/a.yaml"
wait_for "in-place write seen" 15 rev_is dir-a "$D/a.yaml"
! grep -q 'dir-a.*spec deleted' "$LOG" || fail "a save was taken for a deletion"
! phase_is "$S" dir-a Stopped || fail "dir-a stopped by its saves"

# 4. Kubernetes ConfigMap update: a new timestamped dir, ..data swapped by rename
mkdir -p "$D/..2026_11_25_02.000000002"
spec "$D/..2026_11_25_02.000000002/k.yaml" dir-k dk "schema" "  retryWindow: 2h"
ln -s ..2026_11_25_02.000000002 "$D/..data_tmp"
mv -T "$D/..data_tmp" "$D/..data"
rm -rf "$D/..2026_11_25_01.000000001"
wait_for "..data swap seen" 15 rev_is dir-k "$D/k.yaml"
grep -q "retryWindow: 2h" "$D/k.yaml" || fail "test setup: k.yaml through the new ..data"

# 5. a broken file beside the others: Invalid, the others go on and react
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: dir-c\nspec:\n  sorce: {}\n' >"$D/c.yaml"
wait_for "c.yaml Invalid" 15 phase_is "$S" c Invalid
phase_is "$S" dir-b Incremental || fail "dir-b disturbed by a broken file"
spec "$D/a.yaml" dir-a da "schema" "  retryWindow: 14m"
wait_for "dir-a still followed beside a broken file" 15 rev_is dir-a "$D/a.yaml"

# 6. a burst: 300 writes over about 3 s, never 200 ms apart, give one or
# two rescans (the loop ticks every 500 ms: without the debounce, six or more)
wait_for "dir-a settled" 60 phase_is "$S" dir-a Completed
spec "$GW_TMP/a.tpl" dir-a da "schema" "  retryWindow: RW"
before=$(rescans)
python3 -c '
import sys, time
tpl = open(sys.argv[1]).read()
for i in range(1, 301):
    with open(sys.argv[2], "w") as f:
        f.write(tpl.replace("RW", "%dm" % i))
    time.sleep(0.01)
' "$GW_TMP/a.tpl" "$D/a.yaml"
wait_for "the burst's last write seen" 15 rev_is dir-a "$D/a.yaml"
grep -q "retryWindow: 300m" "$D/a.yaml" || fail "test setup: the burst"
n=$(($(rescans) - before))
echo "# 300 writes: $n rescan(s)"
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "a burst of 300 writes gave $n rescans (want 1..3)"

# 7. queue overflow: the controller stopped while more events pile up than
# the queue holds (fs.inotify.max_queued_events, 16384 by default), then
# a.yaml changes with no room left for its event
q=$(cat /proc/sys/fs/inotify/max_queued_events 2>/dev/null || echo 16384)
kill -STOP "$C"
: >"$D/x1.txt"
: >"$D/x2.txt"
python3 -c '
import os, sys
f = [sys.argv[1] + "/x1.txt", sys.argv[1] + "/x2.txt"]
for i in range(int(sys.argv[2]) * 5 // 2):
    os.utime(f[i % 2])
' "$D" "$q"
spec "$D/a.yaml" dir-a da "schema" "  retryWindow: 15m"
kill -CONT "$C"
wait_for "the overflow is seen" 15 grep -q "queue overflowed" "$LOG"
wait_for "the change lost in the overflow is read by the rescan" 15 rev_is dir-a "$D/a.yaml"

# 8. SIGHUP rescans now: a spec symlinked to a file in a subdirectory
# changes with no event in the directory (inotify watches the directory
# itself, not its subdirectories; links out of it are not read at all)
mkdir -p "$D/sub"
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: dir-o}\nspec: {sorce: 1}\n' >"$D/sub/o.yaml"
ln -s sub/o.yaml "$D/o.yaml"
wait_for "o.yaml (through a symlink) Invalid" 15 phase_is "$S" o Invalid
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: dir-o}\nspec: {sorse: 1}\n' >"$D/sub/o.yaml"
kill -HUP "$C"
wait_for "SIGHUP read the change inotify could not see" 15 grep -q sorse "$S/tasks/o/message"

# 9. a deleted spec stops like stop+force; the destination keeps its data
rm "$D/b.yaml"
wait_for "dir-b Stopped" 15 phase_is "$S" dir-b Stopped
assert_contains "$(cat "$S/tasks/dir-b/message")" "spec deleted" "the deletion is said"
[ "$(audit_count "$S" dir-b incremental end)" -ge 1 ] || fail "the stream was ended"
assert_eq 2 "$(mdb_q dst "SELECT COUNT(*) FROM db.t")" "the destination keeps the data"
phase_is "$S" dir-a Completed || fail "dir-a disturbed by the deletion"

kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
