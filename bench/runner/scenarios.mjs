// What the benchmark measures: the two servers, the scenarios with their generator arguments, and
// the metrics each scenario reports in the table. bench/README.md explains each one; keep the two
// in step.

// Benchmark-friendly limits for signald: its defaults protect a public server (128 sockets per
// address, 200 msg/s per client) and would refuse the load itself. The limiter still runs on
// every message; it just never says no. Keepalive is slowed so idle pings don't enter the figures.
export function signaldArgs(webRoot)
{
    return ["--port", "0", "--web-root", webRoot,
            "--ping-interval", "600", "--idle-timeout", "1200",
            "--max-connections", "100000", "--max-connections-per-ip", "100000",
            "--rate-msgs", "1000000", "--rate-bytes", "1073741824",
            "--max-queue-bytes", "67108864", "--log-level", "warn"];
}

const metrics = {
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
};

const sources = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`).join(",");

function fanout(rooms, members)
{
    return {
        name: `fanout-${rooms}x${members}`,
        args: () => ["fanout", "--rooms", rooms, "--members", members],
        timed: true,
        metrics: [metrics.delivered, metrics.p99],
    };
}

// Each scenario: args(serverPid) gives the generator's arguments (the URL and timing are added by
// the runner); timed scenarios get --warmup and --duration.
export const scenarios = [
    fanout(250, 4),
    fanout(50, 8),
    fanout(10, 16),
    {
        name: "latency-500x4-50k",
        args: () => ["latency", "--rooms", 500, "--members", 4, "--rate", 50000],
        timed: true,
        metrics: [metrics.p50, metrics.p99, metrics.p999, metrics.achieved],
        showsRateHeld: true,
    },
    {
        name: "idle-15000",
        args: (serverPid) => ["idle", "--connections", 15000, "--members", 4,
                              "--server-pid", serverPid, "--sources", sources],
        timed: false,
        metrics: [metrics.perConnection, metrics.connectJoin],
        fileDescriptors: 15000,
    },
    {
        name: "churn-64",
        args: () => ["churn", "--pairs", 64],
        timed: true,
        metrics: [metrics.sessions],
    },
];

export const timing = {
    full: { warmup: 2, duration: 10 },
    quick: { warmup: 1, duration: 3 },
};

// Generous deadlines: a healthy run finishes long before them; they only end a hung one. They sit
// above the generator's own limits (120 s to set up, 10 s to drain), so that it can report what
// went wrong itself.
export function generatorTimeoutMs(scenario, { warmup, duration })
{
    return scenario.timed ? (warmup + duration + 150) * 1000 : 180_000;
}
