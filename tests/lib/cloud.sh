# Helpers for the Alibaba Cloud tests (sourced after harness.sh).
#
#   emu_start CONFIG.json     starts tests/lib/aliyun_emulator.py on a free
#                             loopback port; sets EMU_URL, EMU_LOG (its call
#                             log, one JSON object per call) and exports
#                             GODWIT_ALIYUN_ENDPOINT
#   emu_state PYEXPR          prints PYEXPR evaluated on the emulator's state
#                             (s = {"instances": {id: {"groups": {...}}},
#                             "calls": {action: n}})
#   emu_inject ACTION CODE STATUS [COUNT]
#                             the next COUNT valid calls of ACTION fail so
#   emu_calls ACTION [STATUS] how many calls of ACTION the log holds
#   spec_rds FILE source|destination '{region: ..., instanceId: ...}'
#                             the endpoint's host and port in spec FILE (as
#                             write_spec writes them) become that rds map

emu_start() {
	local cfg=$1 pf=$GW_TMP/emu.port
	EMU_LOG=$GW_TMP/emu-calls.jsonl
	rm -f "$pf"
	# it exits with the test (the harness kills jobs with -9, noisily)
	python3 "$GW_ROOT/tests/lib/aliyun_emulator.py" "$cfg" --port-file "$pf" \
		--log "$EMU_LOG" --parent-pid $$ >>"$GW_TMP/emu.err" 2>&1 &
	disown $!
	wait_for "the cloud emulator to listen" 60 test -s "$pf"
	EMU_URL=http://127.0.0.1:$(cat "$pf")
	export GODWIT_ALIYUN_ENDPOINT=$EMU_URL
	# a proxy of the machine must not stand between the tests and it
	export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
	export NO_PROXY=$no_proxy
}

emu_state() {
	curl -fsS "$EMU_URL/_emulator/state" | python3 -c 'import json,sys; s=json.load(sys.stdin); r=eval(sys.argv[1]); print(r if isinstance(r, str) else json.dumps(r))' "$1"
}

emu_inject() {
	curl -fsS -X POST --data "{\"action\": \"$1\", \"code\": \"$2\", \"status\": $3, \"count\": ${4:-1}}" \
		"$EMU_URL/_emulator/inject" >/dev/null
}

emu_calls() {
	python3 - "$EMU_LOG" "$1" "${2:-}" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        d = json.loads(line)
        if d.get("action") == sys.argv[2] and (not sys.argv[3] or str(d["status"]) == sys.argv[3]):
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}

# cloud_sign_build: builds tests/lib/cloud_sign.c into $CLOUD_SIGN.
cloud_sign_build() {
	CLOUD_SIGN=$GW_TMP/cloud_sign
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -I"$GW_ROOT" -o "$CLOUD_SIGN" "$GW_ROOT/tests/lib/cloud_sign.c" \
		"$GW_ROOT/build/libgodwit.a" $(pkg-config --libs openssl libcurl) -lpthread ||
		fail "building cloud_sign"
}

spec_rds() {
	python3 - "$1" "$2" "$3" <<'PY'
import re, sys
p, ep, rds = sys.argv[1:]
s = open(p).read()
s, n = re.subn(r"(  %s:\n)( +)host: 127\.0\.0\.1\n +port: \d+\n" % ep,
               lambda m: "%s%srds: %s\n" % (m.group(1), m.group(2), rds), s)
assert n == 1, s
open(p, "w").write(s)
PY
}
