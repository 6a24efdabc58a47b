// The benchmark's baseline: signald's protocol (docs/protocol.md) written the ordinary way in
// Node.js with the ws package. Rooms live in a Map, every message goes through JSON.parse, and a
// relayed signal is stringified once and sent to each receiver. It is deliberately not tuned (no
// cluster, no native add-ons) and has no rate limits: it is the hand-rolled script that signald is
// measured against, so keep it plain.
//   node server.js [--port 8787] [--host 127.0.0.1]        --port 0 picks a free port
//                  [--tls-cert FILE --tls-key FILE]        https and wss instead (PEM)
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";

const { values: options } = parseArgs({
    options: {
        port: { type: "string", default: "8787" },
        host: { type: "string", default: "127.0.0.1" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
    },
});

const maxMessageBytes = 256 * 1024; // docs/protocol.md: signald's --max-message-bytes default
const maxRoomSize = 32;
const signalTypes = new Set(["offer", "answer", "ice-candidate", "hangup"]);
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

const rooms = new Map(); // roomId -> Map<clientId, client>, in join order
const liveIds = new Set();

function newClientId()
{
    let id = "";
    while (id.length < 10) {
        // 252 = 7 * 36: skipping the top four byte values keeps every character equally likely.
        for (const byte of randomBytes(16))
            if (byte < 252 && id.length < 10) id += idAlphabet[byte % 36];
    }
    return liveIds.has(id) ? newClientId() : id;
}

// roomId: 1 to 64 code points; name: 0 to 64. Neither may hold control characters.
function isValidLabel(text, minLength)
{
    const length = [...text].length;
    return length >= minLength && length <= 64 && !/[\u0000-\u001f\u007f]/.test(text);
}

function send(client, message)
{
    client.ws.send(JSON.stringify(message));
}

function refuse(client, code, message, request)
{
    send(client, { action: "error", code, message, request });
}

function peerOf(client)
{
    return client.name ? { clientId: client.id, name: client.name } : { clientId: client.id };
}

// Takes the client out of its room and tells the others; the caller decides what the client hears.
function leaveRoom(client)
{
    const roomId = client.roomId;
    const room = rooms.get(roomId);
    client.roomId = null;
    room.delete(client.id);
    if (room.size === 0) rooms.delete(roomId);
    for (const member of room.values())
        send(member, { action: "peer-left", roomId, clientId: client.id });
}

function join(client, { roomId, name })
{
    if (name !== undefined && name !== null && typeof name !== "string")
        return refuse(client, "bad-message", "name must be a string or null", "join");
    if (typeof roomId !== "string")
        return refuse(client, "bad-message", "roomId must be a string", "join");
    if (!isValidLabel(roomId, 1))
        return refuse(client, "bad-room-id", "roomId must be 1 to 64 characters", "join");
    if (name && !isValidLabel(name, 0))
        return refuse(client, "bad-name", "name must be at most 64 characters", "join");
    if (client.roomId === roomId)
        return refuse(client, "already-joined", "already in this room", "join");
    const room = rooms.get(roomId) ?? new Map();
    if (room.size >= maxRoomSize)
        return refuse(client, "room-full", `room is full (${maxRoomSize} members)`, "join");

    if (client.roomId !== null) {
        const oldRoomId = client.roomId;
        leaveRoom(client);
        send(client, { action: "left", roomId: oldRoomId });
    }
    const peers = [...room.values()].map(peerOf);
    client.name = name || undefined;
    send(client, { action: "joined", roomId, clientId: client.id, peers });
    for (const member of room.values())
        send(member, { action: "peer-joined", roomId, peer: peerOf(client) });
    client.roomId = roomId;
    room.set(client.id, client);
    rooms.set(roomId, room);
}

function leave(client, { roomId })
{
    if (typeof roomId !== "string")
        return refuse(client, "bad-message", "roomId must be a string", "leave");
    if (!isValidLabel(roomId, 1))
        return refuse(client, "bad-room-id", "roomId must be 1 to 64 characters", "leave");
    if (client.roomId !== roomId)
        return refuse(client, "not-in-room", "not in this room", "leave");
    leaveRoom(client);
    send(client, { action: "left", roomId });
}

function signal(client, { roomId, type, data, to })
{
    if (typeof type !== "string")
        return refuse(client, "bad-message", "type must be a string", "signal");
    if (to !== undefined && typeof to !== "string")
        return refuse(client, "bad-message", "to must be a string", "signal");
    if (typeof roomId !== "string")
        return refuse(client, "bad-message", "roomId must be a string", "signal");
    if (!isValidLabel(roomId, 1))
        return refuse(client, "bad-room-id", "roomId must be 1 to 64 characters", "signal");
    if (!signalTypes.has(type))
        return refuse(client, "bad-type", "type must be offer, answer, ice-candidate or hangup",
                      "signal");
    if (client.roomId !== roomId)
        return refuse(client, "not-in-room", "not in this room", "signal");
    const room = rooms.get(roomId);
    if (to !== undefined && (to === client.id || !room.has(to)))
        return refuse(client, "unknown-peer", "no other member of this room has that clientId",
                      "signal");

    // Stringify once; every receiver gets the same text. (`data` and `to` drop out when absent.)
    const text = JSON.stringify({ action: "signal", roomId, from: client.id, type, data, to });
    if (to !== undefined)
        return room.get(to).ws.send(text);
    for (const member of room.values())
        if (member !== client) member.ws.send(text);
}

function onMessage(client, text)
{
    let message;
    try {
        message = JSON.parse(text);
    } catch {
        return refuse(client, "bad-json", "message is not valid JSON");
    }
    if (typeof message !== "object" || message === null || Array.isArray(message))
        return refuse(client, "bad-message", "message must be a JSON object");
    const { action } = message;
    if (typeof action !== "string")
        return refuse(client, "bad-message", "action must be a string");
    if (action === "join") return join(client, message);
    if (action === "leave") return leave(client, message);
    if (action === "signal") return signal(client, message);
    refuse(client, "unknown-action", "action must be join, leave or signal", action);
}

const tls = options["tls-cert"] !== undefined;
const notFound = (request, response) => response.writeHead(404).end();
const server = tls
    ? createTlsServer({ cert: readFileSync(options["tls-cert"]), key: readFileSync(options["tls-key"]) }, notFound)
    : createServer(notFound);
const wss = new WebSocketServer({
    server,
    maxPayload: maxMessageBytes,
    perMessageDeflate: false,
    verifyClient: ({ req }) => ["/", "/ws"].includes(req.url.split("?")[0]),
});

wss.on("connection", (ws) => {
    const client = { id: newClientId(), ws, roomId: null, name: undefined };
    liveIds.add(client.id);
    ws.on("message", (raw, isBinary) => {
        if (isBinary) return ws.close(1003, "binary frames are not supported");
        onMessage(client, raw.toString());
    });
    // Bad UTF-8 or an oversized message: ws has already closed with 1007 or 1009, and "close"
    // follows. Without a listener the error would throw and take the whole server down.
    ws.on("error", () => {});
    ws.on("close", () => {
        if (client.roomId !== null) leaveRoom(client);
        liveIds.delete(client.id);
    });
});

server.listen(Number(options.port), options.host, () => {
    console.log(`listening on ${tls ? "https" : "http"}://${options.host}:${server.address().port}/`);
});

for (const signalName of ["SIGINT", "SIGTERM"])
    process.on(signalName, () => process.exit(0));
