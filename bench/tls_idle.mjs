// What TLS costs: N clients in rooms of 4, joined, then silent, over ws:// and over wss://,
// against signald and the Node ws baseline (bench/baselines/node-ws), each server fresh and
// pinned to CPU 1, in one run. Both servers use the same ECDSA P-256 certificate, made here with
// openssl. Reports resident memory per connection (VmRSS before and after) and the connect+join
// rate; the generator is Node.js with ws, so rates are a floor set by the generator.
//
//   node bench/tls_idle.mjs [--signald build/bench/signald] [--connections 4000] [--runs 3]

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";

const require = createRequire(new URL("./baselines/node-ws/", import.meta.url));
const WebSocket = require("ws");

function option(name, fallback)
{
    const at = process.argv.indexOf(`--${name}`);
    return at > 0 ? process.argv[at + 1] : fallback;
}
const signaldBin = option("signald", "build/bench/signald");
const connections = Number(option("connections", "4000"));
const runs = Number(option("runs", "3"));
const members = 4;
const batch = 256; // connections in flight at once

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

const certDir = mkdtempSync(join(tmpdir(), "signald-tls-bench-"));
const cert = join(certDir, "cert.pem");
const key = join(certDir, "key.pem");
execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key,
                         "-out", cert], { stdio: "ignore" });

const servers = {
    signald: (tls) => [signaldBin, "--port", "0", "--log-level", "warn",
                       "--max-connections-per-ip", "100000", "--max-connections", "100000",
                       ...(tls ? ["--tls-cert", cert, "--tls-key", key] : [])],
    "node-ws": (tls) => [process.execPath,
                         new URL("./baselines/node-ws/server.js", import.meta.url).pathname,
                         "--port", "0", ...(tls ? ["--tls-cert", cert, "--tls-key", key] : [])],
};

async function startServer(name, tls)
{
    const child = spawn("taskset", ["-c", "1", ...servers[name](tls)],
                        { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 5000);
        let out = "";
        child.stdout.on("data", (chunk) => {
            out += chunk;
            const match = /listening on https?:\/\/[^:]+:(\d+)\//.exec(out);
            if (match) {
                clearTimeout(timer);
                resolve(Number(match[1]));
            }
        });
    });
    return { child, port };
}

function connectAndJoin(url, room)
{
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { rejectUnauthorized: false, perMessageDeflate: false });
        const timer = setTimeout(() => reject(new Error("join timed out")), 20000);
        ws.on("open", () => ws.send(JSON.stringify({ action: "join", roomId: room })));
        ws.on("message", (data) => {
            if (JSON.parse(data).action === "joined") {
                clearTimeout(timer);
                resolve(ws);
            }
        });
        ws.on("error", reject);
    });
}

async function measure(name, tls)
{
    const { child, port } = await startServer(name, tls);
    try {
        await sleep(200);
        const before = rssKb(child.pid);
        const url = `${tls ? "wss" : "ws"}://127.0.0.1:${port}/ws`;
        const sockets = [];
        const started = process.hrtime.bigint();
        for (let i = 0; i < connections; i += batch) {
            const group = [];
            for (let j = i; j < Math.min(i + batch, connections); ++j)
                group.push(connectAndJoin(url, `room-${Math.floor(j / members)}`));
            sockets.push(...await Promise.all(group));
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        await sleep(1000); // let the peer-joined fan-out settle
        const after = rssKb(child.pid);
        for (const ws of sockets)
            ws.terminate();
        return { bytesPerConnection: (after - before) * 1024 / connections, joinsPerSecond: connections / seconds };
    } finally {
        child.kill("SIGKILL");
    }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = {};
try {
    for (let run = 0; run < runs; ++run)
        for (const name of Object.keys(servers))
            for (const tls of [false, true])
                (results[`${name} ${tls ? "wss" : "ws"}`] ??= []).push(await measure(name, tls));
} finally {
    rmSync(certDir, { recursive: true, force: true });
}

const value = (config, key) => median(results[config].map((r) => r[key]));
const number = (x) => Math.round(x).toLocaleString("en");
console.log(`${connections} idle joined clients in rooms of ${members}, median of ${runs} runs`);
console.log("");
console.log("| | signald ws:// | signald wss:// | Node ws:// | Node wss:// | signald / Node, wss |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [key, label] of [["bytesPerConnection", "server RSS per connection (bytes)"],
                            ["joinsPerSecond", "connect + join /s (Node generator)"]]) {
    const cells = ["signald ws", "signald wss", "node-ws ws", "node-ws wss"].map((c) => value(c, key));
    console.log(`| ${label} | ${cells.map(number).join(" | ")} | ${(cells[1] / cells[3]).toFixed(2)} |`);
}
