#!/usr/bin/env bash
# Three controllers on one spec directory and one state directory, each
# with --max-migrations 2, and six migrations: each drives exactly two
# (status.yaml and `godwit status` name the driver). One is killed -9: its
# two migrations wait, and the survivors say so in `godwit status` (they
# have no room). Stopping one migration of a survivor makes room: that
# survivor takes one of them over and it streams again; a second stop lets
# the last one be taken too.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
spec() { # N [EXTRA]: migration mN from database dN
	write_spec "$D/m$1.yaml" "m$1" "schema, full, incremental" "${2:-}"
	sed -i "s/- database: shop/- database: d$1/" "$D/m$1.yaml"
}
for i in 1 2 3 4 5 6; do
	mdb_q src "CREATE DATABASE d$i; CREATE TABLE d$i.t (id INT PRIMARY KEY); INSERT INTO d$i.t VALUES (1)"
	spec $i
done
for r in r1 r2 r3; do
	ctl_start "$r" --dir "$D" --state-dir "$S" --max-migrations 2 --id "$r"
done
PIDS=([1]=$r1 [2]=$r2 [3]=$r3)

driver() { # NAME: the controller status.yaml names
	sed -n 's/^controller: "\(.*\)"$/\1/p' "$S/tasks/$1/status.yaml" 2>/dev/null
}
drives() { # ID: how many migrations name ID and stream
	local n=0 i
	for i in 1 2 3 4 5 6; do
		[ "$(driver m$i)" = "$1" ] && phase_is "$S" "m$i" Incremental && n=$((n + 1))
	done
	echo "$n"
}
spread() { [ "$(drives r1)" = 2 ] && [ "$(drives r2)" = 2 ] && [ "$(drives r3)" = 2 ]; }
wait_for "each controller drives two migrations" 120 spread
held=$(mdb_q dst "SELECT COUNT(*) FROM information_schema.processlist WHERE id IN (SELECT IS_USED_LOCK(CONCAT('godwit:m', seq)) FROM d1.seq_1_to_6)")
assert_eq 6 "$held" "six locks held on the destination"
table=$("$GODWIT" status --state-dir "$S")
echo "$table"
for r in r1 r2 r3; do
	assert_eq 2 "$(echo "$table" | grep -c " $r ")" "godwit status: $r drives two"
done

# r3 dies: its two wait, the survivors say why
orphans=()
for i in 1 2 3 4 5 6; do [ "$(driver m$i)" = r3 ] && orphans+=("m$i"); done
assert_eq 2 "${#orphans[@]}" "r3 drove two"
kill -9 "$r3"
wait "$r3" 2>/dev/null || true
waiting() {
	local m
	for m in "${orphans[@]}"; do
		grep -q "waiting for a controller with room" "$S/tasks/$m/message" || return 1
		[ -z "$(driver "$m")" ] || return 1
	done
}
wait_for "r3's migrations wait for room" 60 waiting
table=$("$GODWIT" status --state-dir "$S")
echo "$table"
for m in "${orphans[@]}"; do
	row=$(echo "$table" | grep "^$m ")
	assert_contains "$row" " - " "$m: no controller drives it"
	assert_contains "$row" "waiting for a controller with room" "$m: the reason"
	"$GODWIT" status "$m" --state-dir "$S" | grep -q "WaitingForRoom" || fail "$m: condition Locked says WaitingForRoom"
done
[ "$(drives r1)" = 2 ] && [ "$(drives r2)" = 2 ] || fail "the survivors keep theirs"

# room: one of r1's migrations stops; r1 takes one orphan over
for i in 1 2 3 4 5 6; do [ "$(driver m$i)" = r1 ] && { stop=$i; break; }; done
spec "$stop" "  state: stopped
  stop: {maxDelay: 0s}"
wait_for "m$stop stops" 60 phase_is "$S" "m$stop" Stopped
taken() { # how many orphans stream again, driven by a survivor
	local n=0 m
	for m in "${orphans[@]}"; do
		case "$(driver "$m")" in r1 | r2) phase_is "$S" "$m" Incremental && n=$((n + 1)) ;; esac
	done
	[ "$n" -ge "$1" ]
}
wait_for "r1 takes an orphan over once it has room" 60 taken 1
assert_eq 2 "$(drives r1)" "r1 drives two again"
for m in "${orphans[@]}"; do
	if [ "$(driver "$m")" = r1 ]; then
		n=${m#m}
		mdb_q src "INSERT INTO d$n.t VALUES (2)"
		wait_for "$m applies changes again" 30 dst_is "SELECT COUNT(*) FROM d$n.t" 2
	fi
done
# and the last one once r2 has room
for i in 1 2 3 4 5 6; do [ "$(driver m$i)" = r2 ] && { stop=$i; break; }; done
spec "$stop" "  state: stopped
  stop: {maxDelay: 0s}"
wait_for "both orphans are driven again" 60 taken 2
kill -TERM "$r1" "$r2"
wait "$r1" "$r2" || true
echo ok
