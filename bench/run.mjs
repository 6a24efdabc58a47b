// The benchmark runner: every scenario against signald and the Node ws baseline, N runs each,
// each run with a fresh server; the fan-out and latency scenarios also against a fresh two-node
// signald cluster (one Redis, runner/cluster.mjs). Prints the machine and a markdown table, and writes the raw
// results and the table under build/bench. bench/run builds everything and then calls this; call
// it directly only with binaries you built yourself.
//   node bench/run.mjs [--quick] [--runs N] [--scenarios a,b]
//                      [--bench-bin PATH] [--signald-bin PATH] [--redis-server PATH]
//   node bench/run.mjs --curves [--quick] [...]   cost curves instead (runner/curves.mjs)
// Exits non-zero if any run failed or any run saw a protocol violation.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { describeMachine, formatMachine } from "./runner/machine.mjs";
import { startCluster } from "./runner/cluster.mjs";
import { curvesTiming, runCurves } from "./runner/curves.mjs";
import { describeExit, isLive, runGenerator, startServer, stop, stopAllOnSignal }
    from "./runner/processes.mjs";
import { buildTable, formatNumber, listProblems } from "./runner/report.mjs";
import { generatorTimeoutMs, scenarios, signaldArgs, timing } from "./runner/scenarios.mjs";
import { makeCertificate, overTls } from "./runner/tls.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(repoRoot, "build/bench");
const logDir = join(outDir, "logs"); // servers' stderr in the scenarios with logsToFile

const { values: options } = parseArgs({
    options: {
        quick: { type: "boolean", default: false },
        curves: { type: "boolean", default: false },
        runs: { type: "string" },
        scenarios: { type: "string" },
        "bench-bin": { type: "string", default: process.env.SIGNALD_BENCH_BIN ??
                                                join(outDir, "bench/signald-bench") },
        "signald-bin": { type: "string",
                         default: process.env.SIGNALD_BIN ?? join(outDir, "signald") },
        "redis-server": { type: "string", default: process.env.REDIS_SERVER ?? "redis-server" },
    },
});

const serverCpu = 1;
const generatorCpu = 0;
const listenTimeoutMs = 10_000;
const settleMs = 1000; // between runs, so one run's closing sockets don't overlap the next
const tailChars = 1000; // of stderr, kept in the results for a run that failed

const runCount = Number(options.runs ?? (options.quick ? 1 : 3));
const times = (options.curves ? curvesTiming : timing)[options.quick ? "quick" : "full"];
// The table's two columns. args(scenario) gives the server's arguments for that scenario;
// start(scenario) starts it: { children, url, pids, stop }.
const webRoot = join(repoRoot, "web");
const servers = [
    { id: "signald", label: "signald", program: options["signald-bin"],
      args: (scenario) => signaldArgs(webRoot, scenario.signald) },
    { id: "node-ws", label: "Node ws", program: process.execPath,
      args: () => [join(repoRoot, "bench/baselines/node-ws/server.js"), "--port", "0"] },
];
servers.forEach(makeServer);

function makeServer(server)
{
    server.start = (scenario, logFile) => startSingle(server, scenario, logFile);
    return server;
}

// signald as two nodes with one Redis, every room's members spread over both, in the scenarios
// that say cluster: true. Its rows sit under signald's in the table, compared with Node.
const cluster = {
    id: "signald-cluster", label: "signald, 2-node cluster", program: options["signald-bin"],
    args: (scenario) => signaldArgs(webRoot, scenario.signald),
    start: (scenario) => startCluster({ cpu: serverCpu, program: options["signald-bin"],
                                        args: cluster.args(scenario),
                                        redisProgram: options["redis-server"],
                                        timeoutMs: listenTimeoutMs }),
};

// logFile: the server's stderr goes there (scenarios.mjs, logsToFile), else to a pipe.
async function startSingle(server, scenario, logFile = null)
{
    const { child, url } = await startServer({ cpu: serverCpu, program: server.program,
                                               args: server.args(scenario),
                                               timeoutMs: listenTimeoutMs, stderrFile: logFile });
    return { children: [child], url, pids: [child.pid], stop: () => stop(child) };
}

// signald with other options, only in the scenarios that list the variant (scenarios.mjs).
function variantServer(variant)
{
    const args = (scenario) => signaldArgs(webRoot, { ...scenario.signald, ...variant.options });
    return makeServer({ id: variant.id, label: `signald, ${variant.label}`,
                        program: options["signald-bin"], args });
}

// One throwaway certificate for every tls: true scenario of this run, made when first needed
// and deleted when the runner exits.
let certificate = null;
function tlsCertificate()
{
    if (!certificate) {
        certificate = makeCertificate();
        process.on("exit", () => certificate.remove());
    }
    return certificate;
}

// Who runs in a scenario: signald, its variants, the cluster, then Node. Over wss:// (tls: true)
// both keep their ids and labels, so they fill the same columns; the scenario's name says wss.
function lineupOf(scenario)
{
    const [signald, node] = scenario.tls
        ? servers.map((server) => overTls(server, tlsCertificate(), makeServer,
                                          { id: server.id, label: server.label }))
        : servers;
    return [signald, ...(scenario.variants ?? []).map(variantServer),
            ...(scenario.cluster ? [cluster] : []), node];
}

function fail(message)
{
    console.error(`bench: ${message}`);
    process.exit(2);
}

function chooseScenarios()
{
    if (!options.scenarios) return scenarios;
    const wanted = options.scenarios.split(",");
    const unknown = wanted.filter((name) => !scenarios.some((s) => s.name === name));
    if (unknown.length)
        fail(`unknown scenario ${unknown.join(", ")}; known: ${scenarios.map((s) => s.name)}`);
    return scenarios.filter((scenario) => wanted.includes(scenario.name));
}

// Say so before starting, not after a run full of EMFILE errors.
function checkPrerequisites(chosen)
{
    for (const program of [options["bench-bin"], options["signald-bin"]])
        if (!existsSync(program)) fail(`${program} does not exist: build it (bench/run does)`);
    if (chosen.some((scenario) => scenario.tls) && !onPath("openssl"))
        fail("openssl not found: the wss:// scenarios make a throwaway certificate with it");
    if (chosen.some((scenario) => scenario.cluster) && !onPath(options["redis-server"]))
        fail(`${options["redis-server"]} not found: the cluster runs need Debian's redis-server`);
    if (!Number.isInteger(runCount) || runCount < 1) fail("--runs must be a positive integer");
    if (availableParallelism() < 2)
        fail("needs two CPUs: the server runs on CPU 1, the generator on CPU 0");
    const limits = readFileSync("/proc/self/limits", "utf8");
    const openFiles = Number(/^Max open files\s+(\S+)/m.exec(limits)[1].replace("unlimited",
                                                                                  "Infinity"));
    const sockets = Math.max(0, ...chosen.map((scenario) => scenario.fileDescriptors ?? 0));
    if (openFiles < sockets + 1000)
        fail(`open files limit is ${openFiles}; run \`ulimit -n ${sockets + 1000}\` first`);
}

function onPath(program)
{
    if (program.includes("/")) return existsSync(program);
    return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, program)));
}

// The generator's result is its last stdout line that parses as a JSON object.
function parseResult(stdout)
{
    for (const line of stdout.trim().split("\n").reverse()) {
        try {
            const value = JSON.parse(line);
            if (value && typeof value === "object") return value;
        } catch {
            // not the result line; keep looking
        }
    }
    return null;
}

// Figures computed from the generator's: deliveries per second of server CPU, and the server's
// user-space and kernel nanoseconds per delivery (scenarios.mjs, deliveredPerCpu, userNs,
// kernelNs), when it reported what they need.
function withDerived(result)
{
    if (!(Number.isFinite(result.delivered_per_s) && result.delivered_per_s > 0 &&
          result.server_cpu_pct > 0))
        return result;
    result.delivered_per_server_cpu_s =
        Math.round(result.delivered_per_s * 100 / result.server_cpu_pct);
    if (Number.isFinite(result.server_user_cpu_pct)) {
        const nsPerDelivery = (percent) => Math.round(percent / 100 * 1e9 / result.delivered_per_s);
        result.server_user_ns_per_delivery = nsPerDelivery(result.server_user_cpu_pct);
        result.server_kernel_ns_per_delivery =
            nsPerDelivery(result.server_cpu_pct - result.server_user_cpu_pct);
    }
    return result;
}

// One run: fresh server (or cluster), generator, server stopped. Never throws; a failure is
// recorded.
async function runOnce(scenario, server, run)
{
    const record = { scenario: scenario.name, server: server.id, run };
    const timeoutMs = scenario.timeoutMs ?? generatorTimeoutMs(scenario, times);
    let started = null;
    try {
        record.server_command = [server.program, ...server.args(scenario)].join(" ");
        let logFile = null;
        if (scenario.logsToFile) {
            mkdirSync(logDir, { recursive: true });
            logFile = join(logDir, `${scenario.name}-${server.id}-run${run}.log`);
            record.server_log = logFile;
        }
        started = await server.start(scenario, logFile);
        record.server_pids = started.pids;
        const args = [...scenario.args(started.pids.join(",")).map(String), "--url", started.url];
        if (scenario.timed)
            args.push("--warmup", String(times.warmup), "--duration", String(times.duration));
        record.command = [options["bench-bin"], ...args].join(" ");
        const generator = await runGenerator({ cpu: generatorCpu, program: options["bench-bin"],
                                               args, timeoutMs });
        const result = parseResult(generator.stdout);
        const dead = started.children.find((child) => !isLive(child));
        if (generator.timedOut)
            record.error = `generator did not finish within ${timeoutMs / 1000} s`;
        else if (dead)
            record.error = `server died (${describeExit(await dead.exited)})`;
        else if (!result)
            record.error = `generator printed no JSON result (${describeExit(generator.exit)})`;
        // The generator exits non-zero when it counted violations; those runs still count.
        else if (generator.exit.code !== 0 && !(result.violations > 0))
            record.error = `generator failed (${describeExit(generator.exit)}) without violations`;
        if (result) record.result = withDerived(result);
        if (record.error) record.stderr_tail = generator.stderrTail.slice(-tailChars);
    } catch (error) {
        const [first, ...rest] = error.message.split("\n");
        record.error = first;
        if (rest.length) record.stderr_tail = rest.join("\n").slice(-tailChars);
    } finally {
        if (started) {
            await started.stop();
            const tails = started.children.map((child) => child.stderrTail).filter(Boolean);
            if (tails.length)
                record.server_stderr_tail = tails.join("\n---\n").slice(-tailChars);
        }
    }
    return record;
}

function describeRun(scenario, record)
{
    if (record.error) return `FAILED: ${record.error}`;
    const values = scenario.metrics.map((metric) =>
        `${metric.label} ${formatNumber(record.result[metric.key])}`);
    if (record.result.violations) values.push(`${record.result.violations} VIOLATIONS`);
    return values.join(", ");
}

async function main()
{
    if (options.curves) {
        checkPrerequisites([]);
        stopAllOnSignal();
        process.exitCode = await runCurves({
            runOnce, servers, makeServer, quick: options.quick, times, repoRoot, outDir,
            machine: describeMachine(repoRoot), started: new Date(),
            // Debian's python3-matplotlib is installed for /usr/bin/python3, not for a python3
            // that may come first on PATH (pyenv, a virtualenv).
            python: process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3"
                                                                           : "python3"),
        });
        return;
    }
    const chosen = chooseScenarios();
    checkPrerequisites(chosen);
    stopAllOnSignal();

    const machine = describeMachine(repoRoot);
    const started = new Date();
    const runs = [];
    for (const scenario of chosen) {
        const lineup = lineupOf(scenario);
        for (let run = 1; run <= runCount; ++run) {
            // Alternate which server goes first, so slow drift (heat, page cache) favours neither.
            const order = run % 2 ? lineup : [...lineup].reverse();
            for (const server of order) {
                const name = `${scenario.name}, ${server.label}, run ${run}/${runCount}`;
                console.error(`bench: ${name}`);
                const record = await runOnce(scenario, server, run);
                console.error(`bench: ${name}: ${describeRun(scenario, record)}`);
                runs.push(record);
                await sleep(settleMs);
            }
        }
    }

    const problems = listProblems(chosen.flatMap(lineupOf), runs);
    const when = started.toISOString().replace(/\.\d+Z$/, "Z");
    const mode = options.quick ? `--quick, ${runCount} run(s)` : `${runCount} runs`;
    const text = [
        `## signald vs Node ws (${when}; ${mode}; ${times.warmup} s warm-up, ` +
            `${times.duration} s measured)`,
        "",
        formatMachine(machine, chosen.some((scenario) => scenario.cluster)),
        "",
        buildTable(chosen, servers, runs, cluster),
        ...(problems.length ? ["", "Problems:", ...problems] : []),
        "",
    ].join("\n");

    mkdirSync(outDir, { recursive: true });
    const stamp = when.replace(/[-:]/g, "").replace("T", "-").replace("Z", "");
    const resultsFile = join(outDir, `results-${stamp}.json`);
    const raw = { started: when, options: { quick: options.quick, runs: runCount, ...times },
                  machine, runs };
    writeFileSync(resultsFile, JSON.stringify(raw, null, 2) + "\n");
    writeFileSync(join(outDir, "table.md"), text);
    console.log(text);
    console.log(`Raw results: ${resultsFile}\nTable: ${join(outDir, "table.md")}`);
    if (problems.length) {
        console.error(`bench: ${problems.length} run(s) failed or saw violations (see Problems)`);
        process.exit(1);
    }
}

await main();
