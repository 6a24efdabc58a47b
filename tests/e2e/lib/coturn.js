// Debian's coturn (`turnserver`) as a test fixture: a TURN server with a static auth secret (the
// TURN REST API that signald's --turn-secret speaks), in the foreground, its log kept in memory,
// stopped by PID: on 127.0.0.1 (startCoturn), or with a configuration of the test's own on a
// machine of lib/machines.js (startTurnserver). Only meant to run inside netns-run.sh.

import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "./harness.js";

const turnserverPath = process.env.TURNSERVER ?? "/usr/bin/turnserver";
export const turnRealm = "signald.test";

// A UDP port nobody holds right now (in the test's own namespace nobody else is there anyway).
async function freeUdpPort()
{
    const socket = dgram.createSocket("udp4");
    await new Promise((resolve, reject) => socket.bind(0, "127.0.0.1", resolve).once("error", reject));
    const { port } = socket.address();
    await new Promise((resolve) => socket.close(resolve));
    return port;
}

// Sends one STUN Binding request (RFC 5389) and resolves true if a Binding success response with
// the same transaction id comes back within timeout ms: the server is up and answering.
async function stunAnswers(address, port, timeout = 500)
{
    const socket = dgram.createSocket("udp4");
    const transaction = randomBytes(12);
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), transaction]);
    try {
        return await new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), timeout);
            socket.on("message", (msg) => {
                if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(transaction)) {
                    clearTimeout(timer);
                    resolve(true);
                }
            });
            socket.on("error", () => { clearTimeout(timer); resolve(false); });
            socket.send(request, port, address);
        });
    } finally {
        socket.close();
    }
}

// Starts turnserver on `machine` (lib/machines.js; default: here) with `args`, its verbose log
// kept in memory, and resolves once it answers STUN on address:port.
// Returns harness startServer's { log(), stop() }, and port.
export async function startTurnserver({ args, address, port, machine = null })
{
    if (!existsSync(turnserverPath))
        throw new Error(`${turnserverPath} not found: install Debian's coturn (scripts/setup does)`);
    const dir = mkdtempSync(join(tmpdir(), "signald-coturn-"));
    const argv = [
        ...args,
        // --verbose logs each request with its username and result, which the tests read.
        // Everything else it writes stays in its own scratch directory.
        "--verbose", "--log-file=stdout", "--simple-log", `--pidfile=${join(dir, "turnserver.pid")}`,
        `--userdb=${join(dir, "turndb")}`,
    ];
    const removeDir = () => rmSync(dir, { recursive: true, force: true });
    const server = await startServer({
        name: "turnserver", program: turnserverPath, args: argv, machine,
        ready: () => stunAnswers(address, port),
    }).catch((err) => {
        removeDir();
        throw err;
    });
    const stop = server.stop;
    server.stop = async () => {
        await stop();
        removeDir();
    };
    server.port = port;
    return server;
}

// Starts turnserver on 127.0.0.1 with `secret` as its static-auth-secret.
// Returns startTurnserver's { port, log(), stop() } and url, its turn: URL.
export async function startCoturn({ secret })
{
    const port = await freeUdpPort();
    const server = await startTurnserver({
        address: "127.0.0.1", port,
        args: [
            "-n",                               // no config file: /etc/turnserver.conf is not ours
            "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`,
            "--use-auth-secret", `--static-auth-secret=${secret}`, `--realm=${turnRealm}`,
            // Relays to 127.0.0.1 are refused by default (a TURN server must not reach its own
            // host); here both peers are on loopback, so allow it.
            "--allow-loopback-peers",
            "--no-tls", "--no-dtls", "--no-cli",
            // Fewer relay threads and ports than the defaults: two peers need a handful.
            "--relay-threads=1", "--min-port=50000", "--max-port=50100",
        ],
    });
    server.url = `turn:127.0.0.1:${port}?transport=udp`;
    return server;
}
