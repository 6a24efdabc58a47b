// Raw signaling clients for the status page's test and screenshot: a minimal RFC 6455 client on
// node:net (Node 20 has no WebSocket of its own), rooms of them that signal at a steady pace,
// and an upgrade with a foreign Origin that signald must refuse. Loopback only; every wait has
// a deadline.

import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";

// One masked frame from client to server (RFC 6455 5.2): text (0x1) or close (0x8).
function frame(opcode, payload)
{
    const mask = randomBytes(4);
    const length = payload.length;
    const head = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length])
        : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; ++i)
        body[i] ^= mask[i % 4];
    return Buffer.concat([head, mask, body]);
}

// A WebSocket to ws://127.0.0.1:port/ws: resolves once upgraded. messages: every JSON text
// received; send(object); close(). Server frames are unmasked and, from signald, never split.
export function openSocket(port, { timeout = 5000 } = {})
{
    return new Promise((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        const key = randomBytes(16).toString("base64");
        const client = { messages: [], closed: false, waiters: [] };
        let buffer = Buffer.alloc(0);
        let upgraded = false;
        const timer = setTimeout(() => { socket.destroy(); reject(new Error("WebSocket upgrade timed out")); }, timeout);
        socket.on("connect", () => socket.write(
            `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n` +
            `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
        socket.on("error", (err) => { clearTimeout(timer); if (!upgraded) reject(err); });
        socket.on("close", () => { client.closed = true; });
        socket.on("data", (data) => {
            buffer = Buffer.concat([buffer, data]);
            if (!upgraded) {
                const end = buffer.indexOf("\r\n\r\n");
                if (end < 0)
                    return;
                const head = buffer.subarray(0, end).toString();
                buffer = buffer.subarray(end + 4);
                clearTimeout(timer);
                if (!head.startsWith("HTTP/1.1 101")) {
                    socket.destroy();
                    return reject(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
                }
                upgraded = true;
                resolve(client);
            }
            for (;;) {
                if (buffer.length < 2)
                    return;
                const opcode = buffer[0] & 0x0f;
                let length = buffer[1] & 0x7f;
                let at = 2;
                if (length === 126) {
                    if (buffer.length < 4)
                        return;
                    length = buffer.readUInt16BE(2);
                    at = 4;
                } else if (length === 127) {
                    if (buffer.length < 10)
                        return;
                    length = Number(buffer.readBigUInt64BE(2));
                    at = 10;
                }
                if (buffer.length < at + length)
                    return;
                const payload = buffer.subarray(at, at + length);
                buffer = buffer.subarray(at + length);
                if (opcode === 0x1) {
                    const message = JSON.parse(payload.toString());
                    client.messages.push(message);
                    client.waiters = client.waiters.filter((w) => !w(message));
                } else if (opcode === 0x9) {
                    socket.write(frame(0xa, payload));   // pong
                }
            }
        });
        client.send = (object) => socket.write(frame(0x1, JSON.stringify(object)));
        // The next message with this action (or one already received), within the deadline.
        client.next = (action, ms = 5000) => new Promise((res, rej) => {
            const found = client.messages.find((m) => m.action === action);
            if (found)
                return res(found);
            const t = setTimeout(() => rej(new Error(`no ${action} within ${ms} ms`)), ms);
            client.waiters.push((m) => (m.action === action ? (clearTimeout(t), res(m), true) : false));
        });
        client.close = () => {
            if (!client.closed)
                socket.end(frame(0x8, Buffer.from([0x03, 0xe8])));   // 1000
        };
        client.destroy = () => socket.destroy();
    });
}

// `size` clients joined to `room`, each sending a broadcast signal every `everyMs` until
// stop(). Returns { clients, stop() }.
export async function signalingRoom(port, room, size, { everyMs = 500 } = {})
{
    const clients = [];
    for (let i = 0; i < size; ++i) {
        const client = await openSocket(port);
        client.send({ action: "join", roomId: room, name: `load-${i}` });
        await client.next("joined");
        clients.push(client);
    }
    const timer = setInterval(() => {
        for (const client of clients)
            if (!client.closed)
                client.send({ action: "signal", roomId: room, type: "ice-candidate", data: { candidate: "" } });
    }, everyMs);
    return {
        clients,
        stop: () => {
            clearInterval(timer);
            for (const client of clients)
                client.close();
        },
    };
}

// A WebSocket upgrade from a page on another site: signald answers 403 and counts it under
// `origin`. Resolves with the status.
export function foreignOriginUpgrade(port, origin = "https://evil.example")
{
    return new Promise((resolve, reject) => {
        const req = request({
            host: "127.0.0.1", port, path: "/ws", timeout: 5000,
            headers: {
                Origin: origin, Upgrade: "websocket", Connection: "Upgrade",
                "Sec-WebSocket-Key": randomBytes(16).toString("base64"), "Sec-WebSocket-Version": "13",
            },
        });
        req.on("response", (res) => { res.resume(); resolve(res.statusCode); });
        req.on("upgrade", (res, socket) => { socket.destroy(); resolve(res.statusCode); });
        req.on("timeout", () => req.destroy(new Error("upgrade request timed out")));
        req.on("error", reject);
        req.end();
    });
}
