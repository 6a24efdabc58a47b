#!/usr/bin/env bash
# Smoke test for signald-bench (ctest: signald_bench_smoke, label bench).
# Starts signald on an ephemeral port, runs every scenario briefly, and checks that each exits 0
# with "violations":0 and a positive rate; then proves the checker works by corrupting one message
# (--self-test-corrupt) and expecting a non-zero exit with violations >= 1.
# Usage: smoke.sh SIGNALD_BINARY BENCH_BINARY WEB_ROOT
set -euo pipefail

signald=$1
bench=$2
web_root=$3

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "smoke: FAIL: $*" >&2
    exit 1
}

# Benchmark-friendly limits (bench contract); the limiter still runs. The output file exists before
# the server starts: a background command's redirection happens in the child, after this shell
# may already be reading it. Resume off: the scenarios share this one server (bench/run starts a
# fresh one per run) and the generator ends by cutting its connections, whose members would stay
# suspended for the grace period and crowd the next scenario's rooms.
: >"$work/server.out"
"$signald" --port 0 --web-root "$web_root" --ping-interval 600 --idle-timeout 1200 \
    --max-connections 100000 --max-connections-per-ip 100000 --rate-msgs 1000000 \
    --rate-bytes 1073741824 --max-queue-bytes 67108864 --resume-grace 0 \
    --log-level warn >"$work/server.out" 2>&1 &
server_pid=$!

port=""
for _ in $(seq 100); do # up to 5 s
    port=$(sed -n 's|^listening on http://[^:]*:\([0-9]*\)/$|\1|p' "$work/server.out")
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || fail "signald exited: $(cat "$work/server.out")"
    sleep 0.05
done
[[ -n $port ]] || fail "signald printed no listening line"
url="ws://127.0.0.1:$port/ws"

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
echo "smoke: PASS"
