// What the benchmark measures: the two servers, the scenarios with their generator arguments, and
// the metrics each scenario reports in the table. bench/README.md explains each one; keep the two
// in step.

// Benchmark-friendly limits for signald: its defaults protect a public server (128 sockets per
// address, 200 msg/s per client) and would refuse the load itself. The limiter still runs on
// every message; it just never says no. Keepalive is slowed so idle pings don't enter the figures,
// unless a scenario asks for a ping interval of its own. resumeGrace, when given, is passed on
// (signald's default is resume on, 30 s). logLevel: warn keeps per-connection lines out of the
// figures; the scenarios whose figure is connections per second log at info (below).
export function signaldArgs(webRoot,
                            { pingInterval = 600, resumeGrace, logLevel = "warn" } = {})
{
    return ["--port", "0", "--web-root", webRoot,
            "--ping-interval", String(pingInterval), "--idle-timeout", "1200",
            ...(resumeGrace === undefined ? [] : ["--resume-grace", String(resumeGrace)]),
            "--max-connections", "100000", "--max-connections-per-ip", "100000",
            "--rate-msgs", "1000000", "--rate-bytes", "1073741824",
            "--max-queue-bytes", "67108864", "--log-level", logLevel];
}

export const metrics = {
    delivered: { key: "delivered_per_s", label: "delivered msg/s", better: "higher" },
    p50: { key: "p50_ms", label: "p50 latency (ms)", better: "lower" },
    p99: { key: "p99_ms", label: "p99 latency (ms)", better: "lower" },
    p999: { key: "p999_ms", label: "p99.9 latency (ms)", better: "lower" },
    // Offered load, not capacity: "rate held" below says whether it was enough.
    achieved: { key: "achieved_per_s", label: "achieved sends/s", better: null },
    perConnection: { key: "bytes_per_connection", label: "RSS per idle connection (bytes)",
                     better: "less memory" },
    connectJoin: { key: "connect_join_per_s", label: "connect + join /s", better: "higher" },
    sessions: { key: "sessions_per_s", label: "sessions/s", better: "higher" },
    handshakes: { key: "handshakes_per_s", label: "handshakes/s", better: "higher" },
    // Beside a rate the generator may be the limit of (a full TLS handshake costs the client
    // more than the server): near 100 the figure is the generator's, not the server's.
    generatorCpu: { key: "generator_cpu_pct", label: "generator CPU %", better: null },
    serverCpu: { key: "server_cpu_pct", label: "server CPU %", better: null },
    // delivered_per_s divided by the server's share of its core (run.mjs adds it): what one
    // busy second of the server delivers, steadier than the rate on a machine shared with other
    // work, and the figure to compare when the server was not saturated.
    deliveredPerCpu: { key: "delivered_per_server_cpu_s", label: "deliveries per server CPU-s",
                       better: "higher" },
    // The server's CPU time per delivery, split (run.mjs adds both from the generator's utime and
    // stime readings): user space is the server's own code, the kernel's part is mostly the
    // loopback TCP path, which no server avoids but by making fewer system calls.
    userNs: { key: "server_user_ns_per_delivery", label: "server user-space ns per delivery",
              better: "lower" },
    kernelNs: { key: "server_kernel_ns_per_delivery", label: "server kernel ns per delivery",
                better: "lower" },
};

// Own signals in flight per fan-out client (signald-bench's --window, whose default is 8). A
// browser sends each signal on its own as soon as it has it, one frame per write, and its
// server reads about one message per read; with 8 in flight the generator writes several
// frames per send() and the server reads ~8 per recv(), which cuts its system calls per
// delivery 7-fold and flatters it 2-2.5x (bench/README.md, "Why generators disagree").
export const fanoutWindow = 1;

// signald started with other options as well, to show what one of them costs. A variant runs
// only in the scenarios that list it, beside signald and Node, and the table shows it for the
// scenario's first metric only, in signald's column, with compare(signald's median, its own).
function signed(value)
{
    const rounded = Math.round(value);
    return `${rounded < 0 ? "−" : "+"}${Math.abs(rounded)}`;
}
export const signaldVariants = {
    // Issue 12: bytes per idle connection with resume on stay within 100 B of resume off.
    resumeOff: {
        id: "signald-resume-off",
        label: "resume off (`--resume-grace 0`)",
        options: { resumeGrace: 0 },
        compare: (on, off) => `resume on − off: ${signed(on - off)} B`,
    },
    // Resume on, no ping during the run: the members still hold what they were sent. The
    // difference is what the ping round gave back, which is not what was held: the allocator
    // keeps most of the freed memory (bench/README.md).
    unpinged: {
        id: "signald-unpinged",
        label: "before the first ping (`--ping-interval 600`)",
        options: { pingInterval: 600 },
        compare: (pinged, unpinged) =>
            `before − after a ping round: ${signed(unpinged - pinged)} B`,
    },
};

// The idle scenario's ping interval for signald, and the generator's wait between the last join
// and the last RSS reading: each connection is pinged within one interval plus one keepalive sweep
// (an eighth of it) after the last message it was sent, and its pong is back well within another
// interval.
const idlePingS = 1;
const idleSettleS = 3 * idlePingS;

const sources = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`).join(",");

// A scenario with tls: true runs both servers with the same throwaway P-256 certificate
// (runner/tls.mjs), so the generator connects over wss://; no cluster.
function fanout(rooms, members, { tls = false } = {})
{
    return {
        name: `fanout-${rooms}x${members}${tls ? "-wss" : ""}`,
        args: (serverPids) => ["fanout", "--rooms", rooms, "--members", members,
                               "--window", fanoutWindow, "--server-pid", serverPids],
        timed: true,
        metrics: [metrics.delivered, metrics.deliveredPerCpu, metrics.serverCpu, metrics.userNs,
                  metrics.kernelNs, metrics.p50, metrics.p99],
        cluster: !tls,
        tls,
    };
}

// Connect, (TLS handshake,) upgrade, close, in 64 loops at once. resume: each loop resumes its
// previous connection's TLS session, as a returning visitor does; without it every handshake is
// a full one, which costs the generator more CPU than the server (generator CPU % says so).
function handshake(concurrency, { tls = false, resume = false } = {})
{
    return {
        name: `handshake-${concurrency}${tls ? "-wss" : ""}${resume ? "-resume" : ""}`,
        args: (serverPids) => ["handshake", "--concurrency", concurrency,
                               "--server-pid", serverPids, ...(resume ? ["--tls-resume"] : [])],
        timed: true,
        metrics: [metrics.handshakes, metrics.p50, metrics.p99, metrics.generatorCpu,
                  metrics.serverCpu],
        tls,
    };
}

function latency(rooms, members, rate)
{
    return {
        name: `latency-${rooms}x${members}-${rate / 1000}k`,
        // A server that does not hold the rate has seconds of backlog when the schedule ends
        // (the 2-node cluster at 50k/s: up to 18 s); the generator waits 30 s for it, so what
        // is merely late counts as "not held", not as lost (a violation), as in the curves.
        args: (serverPids) => ["latency", "--rooms", rooms, "--members", members, "--rate", rate,
                               "--drain-timeout", 30, "--server-pid", serverPids],
        timed: true,
        // The generator checks every delivery and is often the busier process here: its CPU %
        // says how much of the tail may be its own receive loop (bench/README.md).
        metrics: [metrics.p50, metrics.p99, metrics.p999, metrics.achieved, metrics.generatorCpu,
                  metrics.serverCpu],
        showsRateHeld: true,
        cluster: true,
    };
}

// idle-15000 over ws://, with resume off and unpinged signald beside it; over wss:// (tls: true)
// signald and Node only. Each side holds one descriptor per connection (fileDescriptors).
function idle(connections, { tls = false } = {})
{
    return {
        name: `idle-${connections}${tls ? "-wss" : ""}`,
        args: (serverPids) => ["idle", "--connections", connections, "--members", 4,
                               "--server-pid", serverPids, "--sources", sources,
                               "--settle", idleSettleS],
        timed: false,
        // With resume on, a member holds every message it was sent until a pong to a later ping
        // acknowledges it (docs/protocol.md 8.1). Idle means after that: signald pings every
        // second here, and the generator, which answers every ping, settles long enough for each
        // connection to have been pinged after the last peer-joined and to have answered.
        // connect + join /s is measured with signald's per-connection info lines written to a
        // log file, as an operator's would be (logsToFile).
        signald: { pingInterval: idlePingS, logLevel: "info" },
        logsToFile: true,
        metrics: [metrics.perConnection, metrics.connectJoin],
        variants: tls ? [] : [signaldVariants.resumeOff, signaldVariants.unpinged],
        fileDescriptors: connections,
        tls,
    };
}

// How fast a crowd arrives: 5,000 clients connect, upgrade and join rooms of 4 at once, each
// server fresh and logging every connection at info to a file, as an operator's would (issue 16
// compares connect + join at 5,000 clients). No pings during the arrival (signald's interval is
// the benchmark's 600 s), unlike idle-15000, whose every-second keepalive sweep and pings run
// while the crowd arrives; memory is idle-15000's to measure.
function connectJoin(connections)
{
    return {
        name: `connect-join-${connections}`,
        args: (serverPids) => ["idle", "--connections", connections, "--members", 4,
                               "--server-pid", serverPids, "--sources", sources, "--settle", 1],
        timed: false,
        signald: { logLevel: "info" },
        logsToFile: true,
        // Over the arrival: whether the server or the generator ran out of core.
        metrics: [metrics.connectJoin, metrics.generatorCpu, metrics.serverCpu],
        fileDescriptors: connections,
    };
}

// Each scenario: args(serverPids) gives the generator's arguments (the URL and timing are added by
// the runner; serverPids is the server's PID, or a cluster's leader, edge and Redis PIDs,
// comma-separated); timed scenarios get --warmup and --duration. signald, when present, holds
// options for signaldArgs in this scenario; variants lists signaldVariants that run in it too;
// cluster: true runs it against a two-node cluster as well (runner/cluster.mjs); tls: true runs
// both servers with a certificate (wss://); logsToFile: true sends each server's stderr to
// build/bench/logs/<scenario>-<server>-run<N>.log instead of a pipe the runner reads, so that
// signald's per-connection info lines cost what writing a log costs and nothing more.
export const scenarios = [
    fanout(250, 4),
    fanout(50, 8),
    fanout(10, 16),
    fanout(250, 4, { tls: true }),
    latency(500, 4, 50000),
    // The relay latency of a cluster, whose every cross-node hop goes through Redis, at a rate
    // all three can hold; 50k above is about the single node's tail at a rate near its ceiling.
    latency(500, 4, 5000),
    idle(15000),
    idle(15000, { tls: true }),
    connectJoin(5000),
    {
        name: "churn-64",
        args: () => ["churn", "--pairs", 64],
        timed: true,
        signald: { logLevel: "info" },
        logsToFile: true,
        metrics: [metrics.sessions],
    },
    handshake(64),
    handshake(64, { tls: true }),
    handshake(64, { tls: true, resume: true }),
];

export const timing = {
    full: { warmup: 2, duration: 10 },
    quick: { warmup: 1, duration: 3 },
};

// Generous deadlines: a healthy run finishes long before them; they only end a hung one. They sit
// above the generator's own limits (120 s to set up, 30 s to drain in latency), so that it can
// report what went wrong itself.
export function generatorTimeoutMs(scenario, { warmup, duration })
{
    return scenario.timed ? (warmup + duration + 180) * 1000 : 180_000;
}
