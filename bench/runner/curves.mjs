// Cost curves (bench/run --curves): three sweeps with the same generator, servers, limits and
// pinning as the table's scenarios, one run per point, each server fresh:
//   - fan-out delivered msg/s against room size, about 1,000 clients at every size;
//   - RSS per idle connection against the number of connections, over ws:// and, when the
//     generator speaks it, wss://;
//   - open-loop p50/p99 latency against the offered rate, from 10k/s up to the first rate each
//     server does not hold.
// Every point goes to build/bench/curves-<UTC time>.json, then bench/plot_curves.py draws
// bench/curves/*.svg from it. bench/README.md, "Cost curves", explains how to read them.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { listProblems } from "./report.mjs";
import { fanoutWindow, metrics } from "./scenarios.mjs";
import { makeCertificate, overTls } from "./tls.mjs";

export const curvesTiming = {
    full: { warmup: 2, duration: 10 },
    quick: { warmup: 1, duration: 2 },
};

// [rooms, members]: about 1,000 clients at every room size.
const fanoutShapes = [[500, 2], [250, 4], [125, 8], [63, 16], [32, 32]];
const idleCounts = { full: [1000, 5000, 15000, 50000, 100000], quick: [1000, 5000, 15000] };
// Offered sends/s, all clients together, in 500 rooms of 4 (as latency-500x4-*). Each server
// climbs until the first rate it does not hold; the list only bounds the climb.
const latencyRates = [10000, 25000, 50000, 100000, 200000, 300000, 400000, 600000, 800000,
                      1200000];
const latencyRooms = 500;
const latencyMembers = 4;

// 16 source addresses: 100,000 connections to one server port need more than one address's
// ephemeral ports (about 28,000 each by default).
const sources = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`).join(",");
const idlePingS = 1; // as idle-15000: signald pings every second, RSS is read after a ping round
const idleSettleS = 3;
const fdHeadroom = 1000; // as run.mjs asks for: sockets plus this

function fanout(rooms, members)
{
    return {
        name: `curve-fanout-${rooms}x${members}`,
        args: (pids) => ["fanout", "--rooms", rooms, "--members", members,
                         "--window", fanoutWindow, "--server-pid", pids],
        timed: true,
        metrics: [metrics.delivered, metrics.p50, metrics.p99],
    };
}

function idle(connections, members = 4, timeoutMs = undefined)
{
    return {
        name: `curve-idle-${connections}`,
        args: (pids) => ["idle", "--connections", connections, "--members", members,
                         "--server-pid", pids, "--sources", sources, "--settle", idleSettleS],
        timed: false,
        timeoutMs,
        signald: { pingInterval: idlePingS },
        metrics: [metrics.perConnection, metrics.connectJoin],
    };
}

function latency(rate)
{
    return {
        name: `curve-latency-${rate / 1000}k`,
        // Past its saturation point a server's backlog can take longer than the default 10 s
        // to drain; a message still missing after 30 s is a violation.
        args: (pids) => ["latency", "--rooms", latencyRooms, "--members", latencyMembers,
                         "--rate", rate, "--drain-timeout", 30, "--server-pid", pids],
        timed: true,
        metrics: [metrics.p50, metrics.p99, metrics.p999, metrics.achieved],
    };
}

function openFilesLimit()
{
    const limits = readFileSync("/proc/self/limits", "utf8");
    return Number(/^Max open files\s+(\S+)/m.exec(limits)[1].replace("unlimited", "Infinity"));
}

// The idle points this machine can hold: each side (server, generator) needs a descriptor per
// socket. Points above the open-files limit are dropped, and the largest round count that fits
// is measured instead, so the curve goes as far as the limit allows and says so.
function idlePoints(wanted, notes)
{
    const limit = openFilesLimit();
    const fits = wanted.filter((count) => count + fdHeadroom <= limit);
    const dropped = wanted.filter((count) => !fits.includes(count));
    if (dropped.length) {
        const most = Math.floor((limit - fdHeadroom) / 1000) * 1000;
        if (most > Math.max(0, ...fits)) fits.push(most);
        const count = (n) => n.toLocaleString("en-US");
        notes.push(`idle: open-files limit is ${limit} (bench/run raises it to ` +
                   `\`ulimit -Hn\`), so ${dropped.map(count).join(", ")} connections cannot ` +
                   `be held; measured up to ${count(Math.max(...fits))} instead. Raise the hard ` +
                   "limit (and fs.nr_open) to measure them.");
    }
    return fits;
}

// ctx (from run.mjs): runOnce(scenario, server, run), servers ([signald, node]),
// makeServer({ id, label, program, args }) -> server with start(), machine, quick, times,
// repoRoot, outDir, python.
export async function runCurves(ctx)
{
    const [signald, node] = ctx.servers;
    const notes = [];
    const runs = [];
    const lineup = new Set([signald, node]);
    const settleMs = 1000;

    // One point: one run of each server, fresh, alternating which goes first from point to point.
    let turn = 0;
    async function point(curve, x, scenario, servers, series = (server) => server.label)
    {
        const order = turn++ % 2 ? [...servers].reverse() : servers;
        const records = [];
        for (const server of order) {
            lineup.add(server);
            const label = `${curve} ${x}, ${series(server)}`;
            console.error(`curves: ${label}`);
            const record = { curve, x, series: series(server),
                             ...(await ctx.runOnce(scenario, server, 1)) };
            console.error(`curves: ${label}: ${describe(scenario, record)}`);
            runs.push(record);
            records.push(record);
            await sleep(settleMs);
        }
        return records;
    }

    // Fan-out: delivered msg/s against room size.
    for (const [rooms, members] of fanoutShapes)
        await point("fanout", members, fanout(rooms, members), [signald, node]);

    // Idle: bytes per connection against connections, ws:// then wss:// if the generator can.
    const counts = idlePoints(ctx.quick ? idleCounts.quick : idleCounts.full, notes);
    if (ctx.quick) notes.push("idle: --quick measures up to 15,000 connections only");
    const plain = (server) => `${server.label}, ws://`;
    for (const count of counts) await point("idle", count, idle(count), [signald, node], plain);
    const certificate = makeCertificate("signald-curves-tls-");
    try {
        const tlsServers = [signald, node].map((server) =>
            overTls(server, certificate, ctx.makeServer));
        // A trial: 8 connections over wss:// to signald. The generator either speaks it or not.
        const trial = await ctx.runOnce(idle(8, 4, 30_000), tlsServers[0], 1);
        if (trial.error || trial.result?.violations) {
            // Today's generator takes ws:// only, and exits at once on a wss:// URL.
            notes.push("idle over wss://: skipped, a trial of 8 wss:// connections to signald " +
                       `failed (${trial.error ?? `${trial.result.violations} violations`}); ` +
                       "signald-bench does not speak wss:// yet, or TLS is broken");
        } else {
            for (const count of counts)
                await point("idle", count, idle(count), tlsServers, (server) => server.label);
        }
    } finally {
        certificate.remove();
    }

    // Latency: p50/p99 against the offered rate, each server until the first rate not held.
    let climbing = [signald, node];
    for (const rate of latencyRates) {
        if (climbing.length === 0) break;
        const records = await point("latency", rate, latency(rate), climbing);
        climbing = climbing.filter((server) => {
            const record = records.find((r) => r.server === server.id);
            return !record.error && record.result.rate_held === true && !record.result.violations;
        });
    }
    if (climbing.length)
        notes.push(`latency: ${climbing.map((s) => s.label).join(" and ")} still held ` +
                   `${latencyRates.at(-1).toLocaleString("en-US")}/s, the highest rate tried`);

    return finish(ctx, runs, notes, [...lineup]);
}

function describe(scenario, record)
{
    if (record.error) return `FAILED: ${record.error}`;
    const r = record.result;
    const values = scenario.metrics.map((m) => `${m.label} ${Math.round(r[m.key] * 100) / 100}`);
    if ("rate_held" in r) values.push(`rate held: ${r.rate_held}`);
    if (r.violations) values.push(`${r.violations} VIOLATIONS`);
    return values.join(", ");
}

function finish(ctx, runs, notes, servers)
{
    const when = ctx.started.toISOString().replace(/\.\d+Z$/, "Z");
    const stamp = when.replace(/[-:]/g, "").replace("T", "-").replace("Z", "");
    const file = join(ctx.outDir, `curves-${stamp}.json`);
    const raw = {
        started: when, finished: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        options: { curves: true, quick: ctx.quick, ...ctx.times },
        machine: ctx.machine, notes, runs,
    };
    mkdirSync(ctx.outDir, { recursive: true });
    writeFileSync(file, JSON.stringify(raw, null, 2) + "\n");
    for (const note of notes) console.log(`Note: ${note}`);
    console.log(`Curves data: ${file}`);

    const plotted = join(ctx.repoRoot, "bench/curves");
    try {
        execFileSync(ctx.python, [join(ctx.repoRoot, "bench/plot_curves.py"), file, plotted],
                     { stdio: "inherit" });
    } catch (error) {
        console.error(`curves: plotting failed: ${error.message}`);
        return 1;
    }

    const problems = listProblems(servers, runs);
    if (problems.length) {
        console.error(["curves: runs that failed or saw violations:", ...problems].join("\n"));
        return 1;
    }
    return 0;
}
