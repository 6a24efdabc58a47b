#!/usr/bin/env bash
# Runs a command in a new network namespace whose only interface is loopback, so WebRTC in the
# browser tests can only find 127.0.0.1 candidates and no test traffic can leave the machine.
#   tests/e2e/netns-run.sh node --test tests/e2e/call.test.js
# As root this is `unshare --net`; as a normal user, `unshare --map-root-user --net` (a user
# namespace makes us root inside it, which is enough to bring `lo` up).
set -euo pipefail

if [ "${SIGNALD_E2E_IN_NETNS:-}" = 1 ]; then
    exec "$@"     # already inside: nested calls just run the command
fi

# --pid --fork --kill-child: the command runs as the first process of its own PID namespace and
# is killed if unshare is, so a timed-out test cannot leave signald or Chromium behind.
# --mount-proc: /proc shows that namespace's processes under the PIDs the test knows them by, so a
# test can reach a child's namespaces through /proc/PID/ns (lib/machines.js does).
if [ "$(id -u)" -eq 0 ]; then
    unshare=(unshare --net --pid --fork --kill-child --mount-proc)
else
    unshare=(unshare --map-root-user --net --pid --fork --kill-child --mount-proc)
fi

if ! "${unshare[@]}" true 2>/dev/null; then
    echo "netns-run: cannot create a network namespace with '${unshare[*]}'." >&2
    echo "netns-run: the browser tests need one (unprivileged user namespaces disabled? run as root)." >&2
    exit 1
fi

export SIGNALD_E2E_IN_NETNS=1
exec "${unshare[@]}" -- bash -c 'ip link set lo up && exec "$@"' netns-run "$@"
