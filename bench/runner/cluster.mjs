// A two-node signald cluster for one benchmark run: a redis-server of its own on a unix socket in a
// temporary directory (nothing saved to disk), then node bench0, which becomes the leader (it runs
// every room's Hub), then node bench1, an edge that relays its clients' traffic to the leader
// through Redis (docs/cluster.md). The generator spreads each room's members over both nodes.
// Every process is pinned to the server's CPU, so the cluster gets the same core the single node
// gets, and is stopped by its PID: the nodes first, while Redis still answers, then Redis.
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startProcess, startServer, stop } from "./processes.mjs";

// 10 s, signald's default: no lease runs out during a run, however busy the core.
const nodeTimeoutS = 10;

// Resolves once redis-server says it is ready on the socket; throws if it exits or takes longer.
async function startRedis({ cpu, program, dir, timeoutMs })
{
    const socket = join(dir, "redis.sock");
    const args = ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700",
                  "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
                  "--loglevel", "warning"];
    const child = startProcess(cpu, program, args);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const answer = await ping(socket);
        if (answer) return { child, url: `unix://${socket}` };
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
            await stop(child);
            throw new Error(`${program} did not answer PING within ${timeoutMs / 1000} s\n` +
                            child.stderrTail);
        }
        await sleep(50);
    }
}

// Whether Redis answers PING on its unix socket, without a client library: one inline command.
async function ping(socket)
{
    return new Promise((resolve) => {
        const connection = createConnection(socket);
        let reply = "";
        connection.setTimeout(500, () => connection.destroy());
        connection.on("connect", () => connection.write("PING\r\n"));
        connection.on("data", (chunk) => {
            reply += chunk.toString();
            if (reply.includes("\r\n")) connection.end();
        });
        connection.on("close", () => resolve(reply.startsWith("+PONG")));
        connection.on("error", () => resolve(false));
    });
}

// The value of an unlabelled gauge in the node's /metrics, or null if it cannot be read.
async function gauge(httpAddress, name)
{
    try {
        const response = await fetch(`http://${httpAddress}/metrics`);
        const text = await response.text();
        const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
        return match ? Number(match[1]) : null;
    } catch {
        return null;
    }
}

// Waits until the node knows the leader, then checks that it is (or is not) the leader. The
// runner starts signald with --log-level warn, which keeps the "cluster: the leader is" line (at
// info) out of the log, so the node's metrics say it instead.
async function awaitLeader(node, { leader, timeoutMs })
{
    const address = new URL(node.url).host;
    const deadline = Date.now() + timeoutMs;
    while ((await gauge(address, "signald_cluster_leader_known")) !== 1) {
        if (Date.now() > deadline)
            throw new Error(`${node.id} did not learn the leader within ${timeoutMs / 1000} s\n` +
                            node.child.stderrTail);
        await sleep(50);
    }
    const isLeader = (await gauge(address, "signald_cluster_is_leader")) === 1;
    if (isLeader !== leader)
        throw new Error(`${node.id} is ${isLeader ? "" : "not "}the leader; expected the ` +
                        `opposite (was another cluster's Redis shared?)`);
}

// Starts Redis and the two nodes; returns { children, url, pids, stop }. url lists both nodes'
// WebSocket URLs, comma-separated, as the generator's --url takes them; pids are leader, edge,
// Redis, the order of server_cpu_pct_each in the generator's report.
export async function startCluster({ cpu, program, args, redisProgram, timeoutMs })
{
    const dir = mkdtempSync(join(tmpdir(), "signald-bench-cluster."));
    const started = [];
    const stopAll = async () => {
        // Nodes first, edge before leader, so each gives its lease back; Redis last.
        for (const child of [...started].reverse()) await stop(child);
        rmSync(dir, { recursive: true, force: true });
    };
    try {
        const redis = await startRedis({ cpu, program: redisProgram, dir, timeoutMs });
        started.push(redis.child);
        const nodes = [];
        for (const [index, id] of ["bench0", "bench1"].entries()) {
            const node = await startServer({
                cpu, program, timeoutMs,
                args: [...args, "--redis", redis.url, "--node-id", id,
                       "--node-timeout", String(nodeTimeoutS)],
            });
            started.push(node.child);
            node.id = id;
            // bench0 starts alone, so it takes the lead at once; bench1 only after it knows that.
            await awaitLeader(node, { leader: index === 0, timeoutMs });
            nodes.push(node);
        }
        return {
            children: started,
            url: nodes.map((node) => node.url).join(","),
            pids: [nodes[0].child.pid, nodes[1].child.pid, redis.child.pid],
            stop: stopAll,
        };
    } catch (error) {
        await stopAll();
        throw error;
    }
}
