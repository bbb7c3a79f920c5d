#!/usr/bin/env bash
# `controller --listen`: /metrics (the migrations' metrics and process
# metrics, parsed by the Prometheus project's own Python client), /healthz,
# /readyz (503 until the spec source was read, with the reason), /status
# (the JSON of `godwit status --json`), all over real HTTP with curl; a
# bare port listens on loopback only; other methods and paths refused; no
# password in any answer; a bad --listen is a usage error.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2)"
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/web.yaml" web "schema, full"
PY=/usr/bin/python3 # Debian's, with python3-prometheus-client (make deps)
$PY -c 'import prometheus_client' || fail "python3-prometheus-client is missing (make deps installs it)"

port=$(free_port)
ctl_start C --dir "$D" --state-dir "$S" --listen "$port" --id web-1
url=http://127.0.0.1:$port
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
wait_for "the endpoint answers" 30 curl -fsS "$url/healthz"
wait_for "web completes" 60 phase_is "$S" web Completed

# a bare port: loopback only
local_addr=$(ss -ltnH "sport = :$port" | awk '{print $4}')
assert_eq "127.0.0.1:$port" "$local_addr" "a bare port listens on 127.0.0.1"

assert_eq "ok" "$(curl -fsS "$url/healthz")" "/healthz"
assert_eq "ok" "$(curl -fsS "$url/readyz")" "/readyz once the directory was read"
metrics=$(curl -fsS -D "$GW_TMP/headers" "$url/metrics")
grep -qi '^content-type: text/plain; version=0.0.4' "$GW_TMP/headers" || fail "the exposition format's content type"
echo "$metrics" | $PY -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
def value(name, **labels):
    for s in fams[name].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit("no sample %s %s" % (name, labels))
assert value("godwit_phase", migration="web", phase="Completed") == 1
assert value("godwit_phase", migration="web", phase="Pending") == 0
assert value("godwit_rows_copied", migration="web") == 2
assert value("godwit_controller_info", id="web-1") == 1
assert fams["process_cpu_seconds"].type == "counter"
assert value("process_resident_memory_bytes") > 1 << 20
assert value("process_open_fds") > 3
assert value("process_start_time_seconds") > 1.7e9
' || fail "/metrics, read by prometheus_client: $metrics"
# /metrics holds what metrics.prom holds, and more
while read -r line; do
	case "$line" in "#"*) continue ;; esac
	case "$line" in godwit_delay_seconds* | godwit_last_success*) continue ;; esac
	assert_contains "$metrics" "$line" "metrics.prom's sample"
done <"$S/metrics.prom"

curl -fsS "$url/status" >"$GW_TMP/status.json"
"$GODWIT" status --state-dir "$S" --json >"$GW_TMP/cli.json"
$PY - "$GW_TMP/status.json" "$GW_TMP/cli.json" <<'PYEOF' || fail "/status is godwit status --json"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for x in a + b:
    x.pop("age")  # seconds apart
assert a == b, (a, b)
assert a[0]["name"] == "web" and a[0]["phase"] == "Completed" and a[0]["controller"] == "web-1", a
PYEOF

assert_eq 405 "$(code -X POST "$url/metrics")" "POST refused"
assert_eq 404 "$(code "$url/secrets")" "unknown path"
assert_eq 200 "$(code -I "$url/healthz")" "HEAD"
for p in metrics healthz readyz status; do
	! curl -fsS "$url/$p" | grep -qF "$GW_PASSWORD" || fail "a password in /$p"
done
kill -TERM "$C"
wait "$C" || fail "controller exit status $?"

# /readyz: 503 while the spec source cannot be read, with the reason;
# the loop is alive all the same
port=$(free_port)
ctl_start G --git "file://$GW_TMP/no-such-repo" --state-dir "$GW_TMP/sg" --listen "127.0.0.1:$port"
url=http://127.0.0.1:$port
wait_for "the endpoint answers" 30 curl -fsS "$url/healthz"
not_ready() { [ "$(code "$url/readyz")" = 503 ] && curl -s "$url/readyz" | grep -q "no-such-repo"; }
wait_for "/readyz says why it is not ready" 30 not_ready
assert_eq 200 "$(code "$url/healthz")" "/healthz while not ready"
kill -TERM "$G"
wait "$G" || true

# usage errors
for bad in "abc" "127.0.0.1:99999" "host.example:80"; do
	set +e
	out=$("$GODWIT" controller --dir "$D" --state-dir "$GW_TMP/s3" --listen "$bad" 2>&1)
	rc=$?
	set -e
	assert_eq 2 "$rc" "--listen $bad"
	assert_contains "$out" "--listen $bad" "the message names the flag and value"
done
echo ok
