#!/usr/bin/env bash
# scripts/cluster, run as a user would (ctest: scripts_cluster, label integration): three nodes on
# one port picked by node1 (--port 0), with a short --node-timeout passed through after `--`.
# Checks that every node listens on the same port, /healthz answers 200 there, the nodes see each
# other in /metrics, and SIGTERM to the script stops every process it started and removes its
# directory. Every wait has a deadline; every process is stopped by its PID.
#   tests/scripts/cluster_test.sh SIGNALD_BINARY
set -euo pipefail
binary=${1:?usage: cluster_test.sh SIGNALD_BINARY}
binary=${SIGNALD_TEST_BINARY:-$binary} # scripts/test's ASan run points every test at its build
cd "$(dirname "$0")/../.."

out=$(mktemp "${TMPDIR:-/tmp}/signald-cluster-test.XXXXXX")
script_pid=""
started=()

# On failure: the script's output, then every process it reported and the script itself, by PID.
finish() {
    local rc=$?
    if ((rc != 0)); then
        echo "---- scripts/cluster output ----"
        cat "$out"
        echo "----"
        for pid in $script_pid "${started[@]}"; do
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
    rm -f "$out"
}
trap finish EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

scripts/cluster --binary "$binary" --port 0 --nodes 3 -- --node-timeout 2 >"$out" 2>&1 &
script_pid=$!

deadline=$((SECONDS + 20))
until grep -q '^cluster of 3 nodes up' "$out"; do
    kill -0 "$script_pid" 2>/dev/null || fail "scripts/cluster ended before the cluster was up"
    ((SECONDS < deadline)) || fail "no 'cluster of 3 nodes up' within 20 s"
    sleep 0.1
done
mapfile -t started < <(sed -n 's/^\(redis-server\|node[0-9]*\) pid \([0-9]*\) .*/\2/p' "$out")
((${#started[@]} == 4)) || fail "expected the PIDs of redis-server and 3 nodes, got ${started[*]}"
dir=$(sed -n 's|^redis-server pid [0-9]* on unix://\(.*\)/redis.sock$|\1|p' "$out")
[[ -d $dir ]] || fail "the cluster's directory '$dir' is not there"

mapfile -t ports < <(sed -n 's|^node[0-9]* pid [0-9]* listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$out")
((${#ports[@]} == 3)) || fail "expected 3 'listening on' lines, got ${#ports[@]}"
port=${ports[0]}
[[ $port != 0 && ${ports[1]} == "$port" && ${ports[2]} == "$port" ]] ||
    fail "the nodes listen on different ports: ${ports[*]}"

# 503 ("waiting for Redis to confirm this node's lease") is right for the moment after a start.
deadline=$((SECONDS + 10))
until status=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$port/healthz") &&
    [[ $status == 200 ]]; do
    ((SECONDS < deadline)) || fail "/healthz answered '$status', not 200, for 10 s"
    sleep 0.1
done

# A node counts the others at its first sweep, one --node-timeout (2 s here) after it started.
deadline=$((SECONDS + 15))
until curl -s -m 2 "http://127.0.0.1:$port/metrics" | grep -qx 'signald_cluster_nodes 3'; do
    ((SECONDS < deadline)) || fail "no node reported signald_cluster_nodes 3 within 15 s"
    sleep 0.2
done

kill -TERM "$script_pid"
deadline=$((SECONDS + 15))
while kill -0 "$script_pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "scripts/cluster still runs 15 s after SIGTERM"
    sleep 0.1
done
rc=0
wait "$script_pid" || rc=$?
((rc == 0)) || fail "scripts/cluster exited $rc after SIGTERM"
for pid in "${started[@]}"; do
    ! kill -0 "$pid" 2>/dev/null || fail "process $pid outlived scripts/cluster"
done
[[ ! -e $dir ]] || fail "scripts/cluster left $dir behind"
grep -q '^scripts/cluster: stopping' "$out" || fail "no 'stopping' line"
echo "ok: 3 nodes on port $port, /healthz 200, the cluster formed, and SIGTERM stopped all of it"
