#!/usr/bin/env bash
# Where a two-node cluster's time goes: starts the cluster as bench/run.mjs does (a redis-server of
# its own on a unix socket, bench0 the leader, then bench1 an edge, all on CPU 1, the bench's
# signald options at warn), runs one generator scenario on CPU 0 with each room spread over both
# nodes, and records `perf record -g` of the leader, the edge and Redis for the middle of the
# measured window. Prints the generator's JSON and each process's top symbols (self time); the
# perf.data files stay in the output directory for `perf report -i`.
#
#   bench/profile_cluster.sh [--out DIR] [--seconds N] [--dwarf] [-- GENERATOR ARGS...]
#   --dwarf: --call-graph dwarf instead of -g (frame pointers), for callers through a Release
#   build without frame pointers; larger files, so keep --seconds short
#   default generator: fanout --rooms 250 --members 4 --window 1 --warmup 2 --duration 10
#   (--window 1 as bench/run.mjs's fanout-250x4, runner/scenarios.mjs fanoutWindow)
#
# Needs perf, redis-server, redis-cli, and build/bench from bench/run (Release). Every process it starts is
# stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/bench/profile
seconds=6
call_graph=(-g)
generator=(fanout --rooms 250 --members 4 --window 1 --warmup 2 --duration 10)
while [[ $# -gt 0 ]]; do
    case "$1" in
    --out)
        out=${2:?--out needs a directory}
        shift 2
        ;;
    --seconds)
        seconds=${2:?--seconds needs a number}
        shift 2
        ;;
    --dwarf)
        call_graph=(--call-graph dwarf)
        shift
        ;;
    --)
        shift
        generator=("$@")
        break
        ;;
    *)
        echo "profile_cluster: unknown argument '$1'" >&2
        exit 2
        ;;
    esac
done
signald=build/bench/signald
bench=build/bench/bench/signald-bench
for tool in perf redis-server redis-cli taskset "$signald" "$bench"; do
    command -v "$tool" >/dev/null || {
        echo "profile_cluster: $tool is missing (bench/run builds build/bench)" >&2
        exit 1
    }
done
mkdir -p "$out"

work=$(mktemp -d)
pids=() # redis, bench0, bench1, generator: stopped in reverse
cleanup() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # FILE PATTERN PID
    for _ in $(seq 200); do
        grep -qi "$2" "$1" && return 0
        kill -0 "$3" 2>/dev/null || break
        sleep 0.05
    done
    echo "profile_cluster: no \"$2\" in $1: $(tail -n 5 "$1")" >&2
    exit 1
}

socket=$work/redis.sock
: >"$work/redis.log"
taskset -c 1 redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 --save "" \
    --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for "$work/redis.log" "ready to accept connections" "$!"

# bench/runner/scenarios.mjs's signaldArgs, but at info until the leader is known, so that the
# "cluster: the leader is" line can be waited for; the measured window logs nothing at info.
urls=()
for id in bench0 bench1; do
    : >"$work/$id.out"
    : >"$work/$id.err"
    taskset -c 1 "$signald" --port 0 --web-root web --ping-interval 600 --idle-timeout 1200 \
        --max-connections 100000 --max-connections-per-ip 100000 --rate-msgs 1000000 \
        --rate-bytes 1073741824 --max-queue-bytes 67108864 --log-level info \
        --redis "unix://$socket" --node-id "$id" --node-timeout 10 \
        >"$work/$id.out" 2>"$work/$id.err" &
    pids+=($!)
    wait_for "$work/$id.out" "^listening on " "$!"
    wait_for "$work/$id.err" "cluster: the leader is bench0 " "$!"
    port=$(sed -n 's|^listening on http://[^:]*:\([0-9]*\)/$|\1|p' "$work/$id.out")
    urls+=("ws://127.0.0.1:$port/ws")
done
leader=${pids[1]}
edge=${pids[2]}
redis=${pids[0]}

: >"$work/generator.err"
taskset -c 0 "$bench" "${generator[@]}" --url "${urls[0]},${urls[1]}" \
    --server-pid "$leader,$edge,$redis" >"$out/generator.json" 2>"$work/generator.err" &
pids+=($!)
wait_for "$work/generator.err" "ready" "$!"
# Into the measured window: past the warm-up (2 s by default) and a second more.
sleep 3
for role in leader edge redis; do
    perf record -q "${call_graph[@]}" -o "$out/$role.data" -p "${!role}" -- sleep "$seconds" >/dev/null 2>&1 &
done
wait_for_perf=$((seconds + 5))
sleep "$wait_for_perf"
wait "${pids[3]}" || true
echo "generator: $(cat "$out/generator.json")"
echo "(server_cpu_pct_each: leader, edge, redis)"
# What each node put on the bus and took off it (bytes / EVAL calls = the mean batch).
for i in 0 1; do
    port=${urls[i]#ws://127.0.0.1:}
    exec 3<>"/dev/tcp/127.0.0.1/${port%/ws}"
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    echo "bench$i: $(grep -E '^signald_bus_(messages|bytes)_total' <&3 | tr '\n' ' ')"
    exec 3<&-
done
# Redis's own count: how many bus batches (EVAL) and reads (XREAD), and microseconds per call.
echo "redis commandstats:"
redis-cli -s "$socket" INFO commandstats | grep -E '^cmdstat_(eval|evalsha|xread|xadd)[:]' |
    sed 's/^/  /'
for role in leader edge redis; do
    echo
    echo "== $role: top symbols by self time ($out/$role.data)"
    perf report -i "$out/$role.data" --no-children --sort dso,symbol --percent-limit 1.5 \
        --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -25
done
