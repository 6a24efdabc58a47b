// Checks that a server speaks the protocol the benchmark relies on (docs/protocol.md sections 5
// to 8): joins and peer lists, directed and broadcast signals with `from`/`to`, room switches,
// leave, close, the common error codes. Run against the Node baseline it proves the comparison is
// fair; pass --url to run the same checks against signald.
//   node conformance.mjs                          starts server.js on a free port
//   node conformance.mjs --url ws://127.0.0.1:8787/ws
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: options } = parseArgs({ options: { url: { type: "string" } } });
const deadlineMs = 2000;

async function startBaseline()
{
    const script = fileURLToPath(new URL("server.js", import.meta.url));
    const child = spawn(process.execPath, [script, "--port", "0"],
                        { stdio: ["ignore", "pipe", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const [line] = await once(child.stdout, "data");
    clearTimeout(timer);
    const port = /listening on http:\/\/[^:]+:(\d+)\//.exec(line.toString())[1];
    return { url: `ws://127.0.0.1:${port}/ws`, stop: () => child.kill("SIGTERM") };
}

// A client that queues what it receives, so a test can wait for the next message with a deadline.
async function connect(url)
{
    const ws = new WebSocket(url);
    const inbox = [];
    let wake = null;
    ws.on("message", (raw) => {
        inbox.push(raw.toString());
        wake?.();
    });
    ws.on("close", (code) => {
        inbox.push(`close ${code}`);
        wake?.();
    });
    await once(ws, "open");
    const client = {
        ws,
        send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
        async nextText()
        {
            const timeout = Date.now() + deadlineMs;
            while (inbox.length === 0) {
                if (Date.now() > timeout) throw new Error("no message within the deadline");
                await new Promise((resolve) => {
                    wake = resolve;
                    setTimeout(resolve, 50);
                });
            }
            return inbox.shift();
        },
        next: async () => JSON.parse(await client.nextText()),
        async expectError(code)
        {
            const reply = await client.next();
            assert.equal(reply.action, "error");
            assert.equal(reply.code, code);
        },
        // Replies come in order, so an error for a probe proves nothing else was waiting.
        async expectNothingElse()
        {
            client.send("{");
            await client.expectError("bad-json");
        },
    };
    return client;
}

async function join(client, roomId, name)
{
    client.send({ action: "join", roomId, name });
    const reply = await client.next();
    assert.equal(reply.action, "joined");
    assert.equal(reply.roomId, roomId);
    assert.match(reply.clientId, /^[0-9a-z]{10}$/);
    client.id = reply.clientId;
    return reply;
}

const baseline = options.url ? null : await startBaseline();
const url = options.url ?? baseline.url;
try {
    const [a, b, c] = [await connect(url), await connect(url), await connect(url)];

    assert.deepEqual((await join(a, "r1")).peers, []);
    assert.deepEqual((await join(b, "r1", "Bob")).peers, [{ clientId: a.id }]);
    const bob = { clientId: b.id, name: "Bob" };
    assert.deepEqual(await a.next(), { action: "peer-joined", roomId: "r1", peer: bob });

    // Directed: only `to` hears it, with `from` set by the server and `to` kept.
    a.send({ action: "signal", roomId: "r1", type: "offer", to: b.id, from: "spoof",
             data: { sdp: "v=0", n: [1, 2] } });
    assert.equal(await b.nextText(), `{"action":"signal","roomId":"r1","from":"${a.id}",` +
                 `"type":"offer","data":{"sdp":"v=0","n":[1,2]},"to":"${b.id}"}`);
    // Broadcast without data: no `data`, no `to`, and no copy for the sender.
    b.send({ action: "signal", roomId: "r1", type: "hangup" });
    assert.equal(await a.nextText(),
                 `{"action":"signal","roomId":"r1","from":"${b.id}","type":"hangup"}`);
    await b.expectNothingElse();

    // The common errors, each leaving the connection open.
    const refusals = [
        ["bad-json", "{\"action\":"],
        ["bad-message", "[1]"],
        ["bad-message", { action: 5 }],
        ["unknown-action", { action: "ping" }],
        ["bad-room-id", { action: "join", roomId: "" }],
        ["bad-room-id", { action: "join", roomId: "x".repeat(65) }],
        ["already-joined", { action: "join", roomId: "r1" }],
        ["bad-message", { action: "signal", roomId: "r1", type: "offer", to: null }],
        ["bad-type", { action: "signal", roomId: "r1", type: "Offer" }],
        ["not-in-room", { action: "signal", roomId: "r2", type: "offer" }],
        ["unknown-peer", { action: "signal", roomId: "r1", type: "offer", to: "zzzzzzzzzz" }],
        ["unknown-peer", { action: "signal", roomId: "r1", type: "offer", to: a.id }],
        ["not-in-room", { action: "leave", roomId: "r2" }],
    ];
    for (const [code, request] of refusals) {
        a.send(request);
        await a.expectError(code);
    }

    // Peers are listed oldest first.
    assert.deepEqual((await join(c, "r1")).peers,
                     [{ clientId: a.id }, bob]);
    assert.equal((await a.next()).action, "peer-joined");
    assert.equal((await b.next()).action, "peer-joined");

    // Switching rooms: the old room hears peer-left, the mover hears left before joined.
    b.send({ action: "join", roomId: "r2" });
    assert.deepEqual(await b.next(), { action: "left", roomId: "r1" });
    assert.deepEqual((await b.next()).peers, []);
    const bobLeft = { action: "peer-left", roomId: "r1", clientId: b.id };
    for (const member of [a, c]) assert.deepEqual(await member.next(), bobLeft);

    a.send({ action: "leave", roomId: "r1" });
    assert.deepEqual(await a.next(), { action: "left", roomId: "r1" });
    assert.deepEqual(await c.next(), { action: "peer-left", roomId: "r1", clientId: a.id });

    // Closing is a departure too.
    await join(a, "r2");
    assert.equal((await b.next()).action, "peer-joined");
    a.ws.close(1000);
    assert.deepEqual(await b.next(), { action: "peer-left", roomId: "r2", clientId: a.id });

    // Binary frames are refused with 1003.
    c.ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await c.nextText(), "close 1003");

    await b.expectNothingElse();
    b.ws.close();
    console.log(`conformance: all checks passed against ${url}`);
} finally {
    baseline?.stop();
}
