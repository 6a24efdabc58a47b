#!/usr/bin/env bash
# Smoke test of the benchmark's cluster mode (ctest: signald_bench_cluster_smoke, label bench).
# Starts a redis-server of its own on a unix socket (no persistence), node bench0 (the leader), then
# node bench1 (an edge), as bench/run.mjs does, and runs fanout and latency briefly with each room's
# members spread over both nodes. Asserts only that each ran and that every signal arrived, intact
# and in order (violations 0, drained, nothing lost); never a speed. Skips (77) without redis-server.
# Usage: cluster_smoke.sh SIGNALD_BINARY BENCH_BINARY WEB_ROOT
set -euo pipefail

signald=$1
bench=$2
web_root=$3

if ! command -v redis-server >/dev/null; then
    echo "cluster smoke: SKIP: redis-server is not installed (apt-get install redis-server)"
    exit 77
fi

work=$(mktemp -d)
redis_pid=""
node_pids=()
cleanup() {
    # Nodes first, while Redis answers, so each gives its lease back; then Redis. By PID only.
    local pid
    for pid in "${node_pids[@]}" $redis_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "cluster smoke: FAIL: $*" >&2
    exit 1
}

# wait_for FILE PATTERN PID WHAT: up to 5 s for a line matching PATTERN while PID lives.
wait_for() {
    local file=$1 pattern=$2 pid=$3 what=$4
    for _ in $(seq 100); do
        grep -qi "$pattern" "$file" && return 0
        kill -0 "$pid" 2>/dev/null || fail "$what exited: $(tail -n 5 "$file")"
        sleep 0.05
    done
    fail "$what: no \"$pattern\" within 5 s: $(tail -n 5 "$file")"
}

socket=$work/redis.sock
: >"$work/redis.log"
redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --save "" --appendonly no \
    --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
wait_for "$work/redis.log" "ready to accept connections" "$redis_pid" redis-server

# The bench's limits (bench/runner/scenarios.mjs), at info so that the leader line is printed.
# Resume off: the scenarios share this cluster, and the generator ends by cutting its
# connections, whose members would stay suspended and crowd the next scenario's rooms.
urls=()
for id in bench0 bench1; do
    : >"$work/$id.out"
    : >"$work/$id.err"
    "$signald" --port 0 --web-root "$web_root" --ping-interval 600 --idle-timeout 1200 \
        --max-connections 100000 --max-connections-per-ip 100000 --rate-msgs 1000000 \
        --rate-bytes 1073741824 --max-queue-bytes 67108864 --resume-grace 0 --log-level info \
        --redis "unix://$socket" --node-id "$id" --node-timeout 10 \
        >"$work/$id.out" 2>"$work/$id.err" &
    node_pids+=($!)
    wait_for "$work/$id.out" "^listening on " "$!" "$id"
    # bench0 starts alone and leads at once; bench1 starts only after that, so it is an edge.
    wait_for "$work/$id.err" "cluster: the leader is bench0 " "$!" "$id"
    port=$(sed -n 's|^listening on http://[^:]*:\([0-9]*\)/$|\1|p' "$work/$id.out")
    urls+=("ws://127.0.0.1:$port/ws")
done
url="${urls[0]},${urls[1]}"

json_value() {
    sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1"
}

# run_ok NAME ARGS...: exit 0, no violations, and (fanout) every signal delivered.
run_ok() {
    local name=$1
    shift
    echo "cluster smoke: $name: $*"
    "$bench" "$@" --url "$url" --server-pid "${node_pids[0]},${node_pids[1]},$redis_pid" \
        >"$work/$name.json" 2>"$work/$name.err" ||
        fail "$name exited $?: $(tail -n 20 "$work/$name.err")"
    cat "$work/$name.json"
    [[ $(json_value "$work/$name.json" violations) == 0 ]] || fail "$name reported violations"
}

run_ok fanout fanout --rooms 20 --members 4 --warmup 0.5 --duration 2
[[ $(json_value "$work/fanout.json" drained) == true ]] || fail "fanout did not drain"
[[ $(json_value "$work/fanout.json" lost) == 0 ]] || fail "fanout lost signals"
run_ok latency latency --rooms 20 --members 4 --rate 2000 --warmup 0.5 --duration 2

# The rooms really spanned both nodes: the leader's Hub received texts over the bus.
leader_port=${urls[0]#ws://127.0.0.1:}
leader_port=${leader_port%/ws}
exec 3<>"/dev/tcp/127.0.0.1/$leader_port"
printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
bus_in=$(sed -n 's/^signald_bus_messages_total{direction="in"} \([0-9]*\).*/\1/p' <&3)
exec 3<&-
[[ -n $bus_in && $bus_in -gt 0 ]] || fail "the leader received nothing over the bus ('$bus_in')"
echo "cluster smoke: the leader received $bus_in messages over the bus"

for pid in "${node_pids[@]}" "$redis_pid"; do
    kill -0 "$pid" 2>/dev/null || fail "a process of the cluster died during the run"
done
grep -q "cluster: the leader is bench0 " "$work/bench1.err" || fail "bench1 never knew the leader"
echo "cluster smoke: PASS"
