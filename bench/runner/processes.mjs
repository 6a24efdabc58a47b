// Starting and stopping the processes of one benchmark run: a server pinned to one CPU, then the
// load generator pinned to another. Every wait has a deadline, and every process started here is
// stopped by its PID (SIGTERM, then SIGKILL) whatever happens, including when the runner itself
// is interrupted.
import { spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

const live = new Set(); // children not yet known to have exited
let stopping = false; // set on SIGINT/SIGTERM: start nothing new

const stderrTailChars = 4000;
const graceMs = 2000; // SIGTERM -> SIGKILL; both servers exit well within it when healthy

// Resolves to "timeout" after ms. Unreferenced: a deadline that is no longer awaited must not
// keep the runner alive once everything else is done.
function deadline(ms)
{
    return sleep(ms, "timeout", { ref: false });
}

// The last `chars` characters of a file, "" if it cannot be read.
function fileTail(path, chars)
{
    let fd = null;
    try {
        fd = openSync(path, "r");
        const length = Math.min(fstatSync(fd).size, chars);
        const buffer = Buffer.alloc(length);
        readSync(fd, buffer, 0, length, fstatSync(fd).size - length);
        return buffer.toString();
    } catch {
        return "";
    } finally {
        if (fd !== null) closeSync(fd);
    }
}

// `taskset -c CPU program args`: taskset execs the program, so the PID we get is the program's.
// With stderrFile, the program's stderr goes straight to that file (truncated first), as an
// operator's log would, and the runner never reads it while it runs; child.stderrTail then reads
// the file's end.
function spawnPinned(cpu, program, args, { stderrFile = null } = {})
{
    if (stopping) throw new Error("interrupted");
    const logFd = stderrFile === null ? null : openSync(stderrFile, "w");
    let child;
    try {
        child = spawn("taskset", ["-c", String(cpu), program, ...args],
                      { stdio: ["ignore", "pipe", logFd ?? "pipe"] });
    } finally {
        if (logFd !== null) closeSync(logFd); // the child has its own copy
    }
    const exited = new Promise((resolve) => {
        child.on("exit", (code, signal) => resolve({ code, signal }));
        child.on("error", (error) => resolve({ code: null, signal: null, error }));
    });
    live.add(child);
    exited.then(() => live.delete(child));
    if (stderrFile === null) {
        child.stderrTail = "";
        child.stderr.on("data", (chunk) => {
            child.stderrTail = (child.stderrTail + chunk.toString()).slice(-stderrTailChars);
        });
    } else {
        child.logFile = stderrFile;
        Object.defineProperty(child, "stderrTail",
                              { get: () => fileTail(stderrFile, stderrTailChars) });
    }
    child.exited = exited;
    return child;
}

// Any other process of a run (redis-server for a cluster): pinned, stopped like the rest, its
// stdout drained and its stderr's tail kept.
export function startProcess(cpu, program, args)
{
    const child = spawnPinned(cpu, program, args);
    child.stdout.resume();
    return child;
}

// Resolves once the child has exited, escalating to SIGKILL after the grace period.
export async function stop(child)
{
    if (!live.has(child)) return child.exited;
    child.kill("SIGTERM");
    if ((await Promise.race([child.exited, deadline(graceMs)])) === "timeout")
        child.kill("SIGKILL");
    return child.exited;
}

// On Ctrl-C or SIGTERM, stop whatever is running before the runner goes away.
export function stopAllOnSignal()
{
    for (const name of ["SIGINT", "SIGTERM"]) {
        process.on(name, async () => {
            if (stopping) return;
            stopping = true;
            console.error(`\nbench: ${name}, stopping ${live.size} process(es)`);
            while (live.size) await Promise.all([...live].map(stop));
            process.exit(130);
        });
    }
}

// Starts a server and waits for its `listening on http://HOST:PORT/` line (https:// when it was
// given a certificate). Returns the child (keep it to stop it) and the WebSocket URL, ws:// or
// wss:// to match. stderrFile: see spawnPinned.
export async function startServer({ cpu, program, args, timeoutMs, stderrFile = null })
{
    const child = spawnPinned(cpu, program, args, { stderrFile });
    const lines = createInterface({ input: child.stdout }); // keeps draining stdout afterwards
    const listening = new Promise((resolve) => {
        lines.on("line", (line) => {
            const match = /^listening on (https?):\/\/([^/]+)\//.exec(line);
            if (match) resolve(`${match[1] === "https" ? "wss" : "ws"}://${match[2]}/ws`);
        });
    });
    const outcome = await Promise.race([
        listening,
        child.exited.then((exit) => ({ exit })),
        deadline(timeoutMs).then(() => ({ timeout: true })),
    ]);
    if (typeof outcome === "string") return { child, url: outcome };

    await stop(child);
    const why = outcome.timeout ? `did not print "listening on" within ${timeoutMs / 1000} s`
                                : `exited before listening (${describeExit(outcome.exit)})`;
    throw new Error(`${program} ${why}\n${child.stderrTail}`);
}

// Runs the generator to completion (or to its deadline) and returns its exit and its output.
// Progress on its stderr is passed through to ours as it comes.
export async function runGenerator({ cpu, program, args, timeoutMs })
{
    const child = spawnPinned(cpu, program, args);
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk) => process.stderr.write(chunk));
    const timedOut = (await Promise.race([child.exited, deadline(timeoutMs)])) === "timeout";
    const exit = await stop(child);
    return { exit, timedOut, stdout, stderrTail: child.stderrTail };
}

export function describeExit({ code, signal, error })
{
    if (error) return error.message;
    return signal ? `killed by ${signal}` : `exit status ${code}`;
}

export function isLive(child)
{
    return live.has(child);
}
