#!/usr/bin/env bash
# Smoke test for signald-bench (ctest: signald_bench_smoke, label bench).
# Starts signald on an ephemeral port, runs every scenario briefly, and checks that each exits 0
# with "violations":0 and a positive rate; then proves the checker works by corrupting one message
# (--self-test-corrupt) and expecting a non-zero exit with violations >= 1. Then starts a second
# signald with a throwaway self-signed certificate and runs fanout and handshake over wss://.
# Usage: smoke.sh SIGNALD_BINARY BENCH_BINARY WEB_ROOT
set -euo pipefail

signald=$1
bench=$2
web_root=$3

work=$(mktemp -d)
server_pids=()
cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "smoke: FAIL: $*" >&2
    exit 1
}

# start_signald NAME SCHEME [ARGS...]: starts signald with the bench's limits plus ARGS, waits for
# its "listening on SCHEME://HOST:PORT/" line and sets started_pid and started_port.
#
# Benchmark-friendly limits (bench contract); the limiter still runs. The output file exists before
# the server starts: a background command's redirection happens in the child, after this shell
# may already be reading it. Resume off: the scenarios share this one server (bench/run starts a
# fresh one per run) and the generator ends by cutting its connections, whose members would stay
# suspended for the grace period and crowd the next scenario's rooms.
start_signald() {
    local name=$1 scheme=$2
    shift 2
    : >"$work/$name.out"
    "$signald" --port 0 --web-root "$web_root" --ping-interval 600 --idle-timeout 1200 \
        --max-connections 100000 --max-connections-per-ip 100000 --rate-msgs 1000000 \
        --rate-bytes 1073741824 --max-queue-bytes 67108864 --resume-grace 0 \
        --log-level warn "$@" >"$work/$name.out" 2>&1 &
    started_pid=$!
    server_pids+=("$started_pid")
    started_port=""
    for _ in $(seq 100); do # up to 5 s
        started_port=$(sed -n "s|^listening on $scheme://[^:]*:\([0-9]*\)/\$|\1|p" "$work/$name.out")
        [[ -n $started_port ]] && break
        kill -0 "$started_pid" 2>/dev/null || fail "$name exited: $(cat "$work/$name.out")"
        sleep 0.05
    done
    [[ -n $started_port ]] || fail "$name printed no listening line"
}

start_signald server http
server_pid=$started_pid
url="ws://127.0.0.1:$started_port/ws"

# json_number FILE KEY: the numeric value of KEY in the one-line JSON report.
json_number() {
    sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" "$1"
}

# run_ok NAME RATE_KEY ARGS...: the scenario must exit 0, report violations 0 and RATE_KEY > 0.
run_ok() {
    local name=$1 rate_key=$2
    shift 2
    echo "smoke: $name: $*"
    "$bench" "$@" --url "$url" >"$work/$name.json" 2>"$work/$name.err" ||
        fail "$name exited $?: $(cat "$work/$name.err")"
    cat "$work/$name.json"
    [[ $(json_number "$work/$name.json" violations) == 0 ]] || fail "$name reported violations"
    local rate
    rate=$(json_number "$work/$name.json" "$rate_key")
    awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "$name: $rate_key is not positive ($rate)"
}

run_ok fanout delivered_per_s fanout --rooms 20 --members 4 --warmup 1 --duration 2
run_ok latency achieved_per_s latency --rooms 20 --members 4 --rate 2000 --warmup 0.5 --duration 2
run_ok idle connect_join_per_s idle --connections 300 --members 4 --server-pid "$server_pid" \
    --settle 0.5
[[ $(json_number "$work/idle.json" bytes_per_connection) != "" ]] ||
    fail "idle reported no bytes_per_connection"
run_ok churn sessions_per_s churn --pairs 8 --warmup 0.5 --duration 2
run_ok handshake handshakes_per_s handshake --concurrency 16 --warmup 0.5 --duration 1

# The checker must catch a corrupted message: non-zero exit and at least one violation.
echo "smoke: self test: fanout --self-test-corrupt"
if "$bench" fanout --url "$url" --rooms 4 --members 4 --warmup 0 --duration 1 \
    --self-test-corrupt >"$work/corrupt.json" 2>"$work/corrupt.err"; then
    fail "a corrupted message went unnoticed (exit 0)"
fi
cat "$work/corrupt.json"
corrupt_violations=$(json_number "$work/corrupt.json" violations)
[[ -n $corrupt_violations && $corrupt_violations -ge 1 ]] ||
    fail "self test reported violations '$corrupt_violations', expected >= 1"
grep -q "data altered" "$work/corrupt.err" || fail "self test: no 'data altered' violation printed"

echo "smoke: self test: churn --self-test-corrupt"
if "$bench" churn --url "$url" --pairs 2 --warmup 0 --duration 0.5 --self-test-corrupt \
    >"$work/corrupt-churn.json" 2>"$work/corrupt-churn.err"; then
    fail "churn: a corrupted message went unnoticed (exit 0)"
fi
[[ $(json_number "$work/corrupt-churn.json" violations) -ge 1 ]] ||
    fail "churn self test reported no violation"

kill -0 "$server_pid" 2>/dev/null || fail "signald died during the run"

# wss://: the same generator through TLS, against signald with a throwaway self-signed
# certificate (the generator checks no certificate).
command -v openssl >/dev/null || fail "openssl is needed to make the test certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" >"$work/openssl.err" 2>&1 ||
    fail "openssl could not make a certificate: $(cat "$work/openssl.err")"
start_signald tls-server https --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
tls_server_pid=$started_pid
url="wss://127.0.0.1:$started_port/ws"
run_ok wss-fanout delivered_per_s fanout --rooms 20 --members 4 --warmup 1 --duration 2
run_ok wss-handshake handshakes_per_s handshake --concurrency 16 --warmup 0.5 --duration 1
[[ $(sed -n 's/.*"tls":\([a-z]*\).*/\1/p' "$work/wss-handshake.json") == true ]] ||
    fail "wss-handshake did not report tls:true"
run_ok wss-resume handshakes_per_s handshake --concurrency 16 --tls-resume --warmup 0.5 --duration 1
[[ $(json_number "$work/wss-resume.json" resumed) -gt 0 ]] ||
    fail "wss-resume: no handshake resumed its TLS session"
kill -0 "$tls_server_pid" 2>/dev/null || fail "signald (TLS) died during the run"
echo "smoke: PASS"
