// The page's pure modules, in Node without a browser: URL settings, the RTCPeerConnection
// configuration, input checks, what the page reads from its room token, the invite link, the
// explanations of refusals, the read-only SDP summary, and the signaling client's resume
// decisions and moderation requests (the client itself runs here over a fake WebSocket with
// mocked timers).

import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultServerUrl, inviteLink, nameProblem, readSettings, roomIdProblem, rtcConfiguration } from "../../web/js/config.js";
import { bannedExplanation, refusalExplanation, removedExplanation, unauthorizedExplanation, waitInWords } from "../../web/js/explanations.js";
import { chatTime, encodeChat, max_chat_chars, readChat } from "../../web/js/chat.js";
import { connectionQuality, meshSizeWarning, nextSendScale, uplinkWarning } from "../../web/js/mesh-health.js";
import { displayName, presenceBadges, presenceState, readPresence } from "../../web/js/presence.js";
import { readRoomToken, tokenClaims } from "../../web/js/room-token.js";
import { shortcutFor } from "../../web/js/shortcuts.js";
import { describeSdp, summarizeSdp } from "../../web/js/sdp-log.js";
import { SignalingClient, afterClose, assumed_resume_grace_ms, resumeDelayMs } from "../../web/js/signaling.js";
import { StatsMonitor } from "../../web/js/stats-monitor.js";

const at = (href) => new URL(href);

// A compact JWT with these claims; the page never checks the signature, so any will do.
const jwt = (claims) => ["{\"alg\":\"HS256\"}", JSON.stringify(claims)]
    .map((part) => Buffer.from(part).toString("base64url")).join(".") + ".c2ln";

test("the server URL defaults to the page's own origin, ws or wss", () => {
    assert.equal(defaultServerUrl(at("http://127.0.0.1:8787/?room=x")), "ws://127.0.0.1:8787/ws");
    assert.equal(defaultServerUrl(at("https://call.example/")), "wss://call.example/ws");
});

test("settings come from the query string, with defaults", () => {
    assert.deepEqual(readSettings(at("http://h:1/")), {
        serverUrl: "ws://h:1/ws", roomId: "demo", name: "", autostart: false, resolution: "480", relay: false,
        meshWarnAt: 6, token: "",
    });
    assert.equal(readSettings(at("http://h:1/?mesh-warn=3")).meshWarnAt, 3);
    for (const odd of ["1", "51", "2.5", "x", ""])
        assert.equal(readSettings(at(`http://h:1/?mesh-warn=${odd}`)).meshWarnAt, 6, odd);
    assert.equal(readSettings(at("http://h:1/?room=r&token=aa.bb.cc")).token, "aa.bb.cc");
    const named = jwt({ room: "r", exp: 2e9, name: "Grace" });
    assert.equal(readSettings(at(`http://h:1/?room=r&name=Ada&token=${named}`)).name, "Grace",
        "the token's name wins, as on the server");
    assert.equal(readSettings(at(`http://h:1/?room=r&name=Ada&token=${jwt({ room: "r", exp: 2e9 })}`)).name, "Ada");
    const s = readSettings(at("http://h:1/?room=caf%C3%A9&name=Ada&autostart=1&res=240&relay=1"));
    assert.equal(s.roomId, "café");
    assert.equal(s.name, "Ada");
    assert.equal(s.autostart, true);
    assert.equal(s.resolution, "240");
    assert.equal(s.relay, true);
    assert.equal(readSettings(at("http://h:1/?res=9999")).resolution, "480", "unknown presets fall back");
});

test("an `unauthorized` refusal is explained in words, by the check that failed", () => {
    assert.match(unauthorizedExplanation("token refused (expired): the token expired (exp 1)"), /expired/);
    assert.match(unauthorizedExplanation("token refused (wrong room): the token is for another room"), /another room/);
    assert.match(unauthorizedExplanation("token refused (missing): this server admits a join only with a token"), /private/);
    assert.match(unauthorizedExplanation("token refused (not yet valid): ..."), /not valid yet/);
    assert.match(unauthorizedExplanation("token refused (signature): the signature does not match"), /not valid/);
    assert.match(unauthorizedExplanation(undefined), /not valid/);
});

test("refusals of a join and of a moderator's request are explained in words", () => {
    const refusal = (code, request, message = "") => refusalExplanation({ action: "error", code, message, request }, 0);
    assert.match(refusal("unauthorized", "join", "token refused (expired): the token expired"), /expired/);
    assert.match(refusal("room-full", "join"), /full/);
    assert.match(refusal("room-locked", "join", "a moderator locked this room"), /locked.*Ask a moderator/);
    assert.match(refusal("banned", "join", "you were removed from this room by a moderator; you may join it again in 40 s"),
        /removed you.*again in 40 seconds\.$/);
    assert.match(refusal("forbidden", "kick"), /^Only moderators can remove/);
    assert.match(refusal("forbidden", "lock"), /^Only moderators can lock/);
    assert.match(refusal("unknown-action", "kick"), /no moderators/);
    assert.match(refusal("unknown-peer", "kick"), /already left/);
    assert.equal(refusal("bad-name", "join", "name is too long"), "The server refused to join: name is too long.");
    assert.match(removedExplanation(), /moderator removed you/);
});

test("a ban's wait is said in seconds, minutes (rounded up, with the clock time) or hours", () => {
    assert.equal(waitInWords(1), "1 second");
    assert.equal(waitInWords(59), "59 seconds");
    assert.equal(waitInWords(60), "1 minute");
    assert.equal(waitInWords(61), "2 minutes", "never sooner than the server allows");
    assert.equal(waitInWords(300), "5 minutes");
    assert.equal(waitInWords(89 * 60), "89 minutes");
    assert.equal(waitInWords(7200), "about 2 hours");
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const fiveMinutes = bannedExplanation("... you may join it again in 300 s", now);
    const at = new Date(now + 300000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    assert.equal(fiveMinutes, `A moderator removed you from this call. You can join it again in 5 minutes (at ${at}).`);
    assert.match(bannedExplanation("no number here", now), /cannot join it again for now/);
});

test("the room token's claims are read without checking them; only role moderator makes a moderator", () => {
    assert.deepEqual(tokenClaims(jwt({ room: "r", exp: 1, role: "moderator" })), { room: "r", exp: 1, role: "moderator" });
    assert.deepEqual(readRoomToken(jwt({ room: "r", role: "moderator", name: "Zoë" })),
        { moderator: true, room: "r", name: "Zoë" }, "UTF-8 names survive base64url");
    assert.equal(readRoomToken(jwt({ room: "r" })).moderator, false);
    assert.equal(readRoomToken(jwt({ room: "r", role: "Moderator" })).moderator, false, "the server compares exactly");
    assert.equal(readRoomToken(jwt({ room: "r", role: ["moderator"] })).moderator, false);
    for (const bad of ["", "a.b", "a.b.c.d", "x.!!!.y", "x.bm90IGpzb24.y", jwt([1, 2]), jwt("moderator"), null, undefined, 42])
        assert.deepEqual(readRoomToken(bad), { moderator: false, room: null, name: null }, `${bad} is an ordinary member's`);
    // Lone surrogates and other invalid UTF-8 are refused, not decoded into replacement characters.
    const invalidUtf8 = `e30.${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString("base64url")}.c2ln`;
    assert.equal(tokenClaims(invalidUtf8), null);
});

test("ICE servers from `joined` are used; ?relay=1 forces TURN", () => {
    const servers = [{ urls: "turn:turn.example:3478", username: "u", credential: "p" }];
    assert.deepEqual(rtcConfiguration({ relay: false }, servers), { iceServers: servers, iceTransportPolicy: "all" });
    assert.deepEqual(rtcConfiguration({ relay: false }, null), { iceServers: [], iceTransportPolicy: "all" });
    assert.equal(rtcConfiguration({ relay: true }, servers).iceTransportPolicy, "relay");
});

test("the invite link carries the room, and the token only when it is a moderator's for that room", () => {
    const page = at("http://127.0.0.1:8787/?room=x&name=Ada&autostart=1");
    assert.equal(inviteLink("stand up", page), "http://127.0.0.1:8787/?room=stand+up");
    const member = jwt({ room: "stand up", exp: 2e9, name: "Ada" });
    assert.equal(inviteLink("stand up", page, member), "http://127.0.0.1:8787/?room=stand+up", "a member's token stays theirs");
    const moderator = jwt({ room: "stand up", exp: 2e9, role: "moderator" });
    assert.equal(inviteLink("stand up", page, moderator), `http://127.0.0.1:8787/?room=stand+up&token=${moderator}`);
    assert.equal(inviteLink("retro", page, moderator), "http://127.0.0.1:8787/?room=retro",
        "a token for another room would only be refused");
    const anyRoom = jwt({ room: "*", exp: 2e9, role: "moderator" });
    assert.equal(inviteLink("retro", page, anyRoom), `http://127.0.0.1:8787/?room=retro&token=${anyRoom}`);
});

test("room ids and names are checked like the server does (code points, control characters)", () => {
    assert.equal(roomIdProblem("demo"), null);
    assert.match(roomIdProblem(""), /Enter/);
    assert.equal(roomIdProblem("😀".repeat(64)), null, "64 code points are fine even as 128 UTF-16 units");
    assert.match(roomIdProblem("x".repeat(65)), /64/);
    assert.match(roomIdProblem("a\nb"), /control/);
    assert.equal(nameProblem(""), null);
    assert.match(nameProblem("\u007f"), /control/);
});

const offer = [
    "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110", "a=mid:0", "a=sendrecv",
    "a=rtpmap:111 opus/48000/2", "a=rtpmap:63 red/48000/2", "a=rtpmap:9 G722/8000",
    "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:13 CN/8000", "a=rtpmap:110 telephone-event/48000",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98", "a=mid:1", "a=recvonly",
    "a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=rtpmap:98 H264/90000", "",
].join("\r\n");

test("SDP summary: size, m-lines with direction, media codecs apart from helper codecs", () => {
    const summary = summarizeSdp(offer);
    assert.equal(summary.bytes, Buffer.byteLength(offer));
    assert.deepEqual(summary.sections, [
        { kind: "audio", mid: "0", direction: "sendrecv", codecs: ["opus", "G722", "PCMU", "PCMA"], helpers: ["red", "CN", "telephone-event"] },
        { kind: "video", mid: "1", direction: "recvonly", codecs: ["VP8", "H264"], helpers: ["rtx"] },
    ]);
    const line = describeSdp({ type: "offer", sdp: offer });
    assert.match(line, /^offer, \d+ B, 2 m-lines: audio sendrecv \[opus, G722, PCMU, PCMA\] \+ red, CN, telephone-event \| video recvonly \[VP8, H264\] \+ rtx$/);
    const withChat = describeSdp({ type: "offer", sdp: `${offer}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n` });
    assert.match(withChat, /3 m-lines: .* \| application \(data channels\)$/);
});

// ---- The signaling client: resume -------------------------------------------------------------

test("a close without a close frame or from a stopping node resumes; others rejoin; 4001 stops", () => {
    assert.equal(afterClose(1006, true), "resume");
    assert.equal(afterClose(1006, false), "rejoin", "no token (--resume-grace 0): today's rejoin");
    // A cluster node that stops (1001) or was declared dead (1012) leaves our place to resume.
    assert.equal(afterClose(1001, true), "resume");
    assert.equal(afterClose(1012, true), "resume");
    assert.equal(afterClose(1001, false), "rejoin");
    for (const code of [1000, 1002, 1003, 1005, 1007, 1008, 1009, 1011])
        assert.equal(afterClose(code, true), "rejoin", `close code ${code} ends the membership`);
    assert.equal(afterClose(4001, true), "elsewhere");
    assert.equal(afterClose(4001, false), "elsewhere");
});

test("resume attempts: the first within 1 s of the close, then no more often than every 3 s", () => {
    for (const r of [0, 0.5, 0.999]) {
        assert.ok(resumeDelayMs(0, () => r) <= 1000);
        for (const attempt of [1, 2, 9])
            assert.ok(resumeDelayMs(attempt, () => r) >= 3000);
    }
});

// A WebSocket the test drives: open() and receive() play the server, drop() a broken connection.
class FakeSocket
{
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    static all = [];
    readyState = FakeSocket.CONNECTING;
    sent = [];
    closedByPage = null;

    constructor(url)
    {
        this.url = url;
        this.createdAt = Date.now();
        FakeSocket.all.push(this);
    }

    send(text)
    {
        assert.equal(this.readyState, FakeSocket.OPEN, "send on an open socket only");
        this.sent.push(JSON.parse(text));
    }

    close(code = 1005) { this.readyState = FakeSocket.CLOSED; this.closedByPage = code; }
    open() { this.readyState = FakeSocket.OPEN; this.onopen?.(); }
    receive(msg) { this.onmessage?.({ data: typeof msg === "string" ? msg : JSON.stringify(msg) }); }
    drop(code = 1006, reason = "") { this.readyState = FakeSocket.CLOSED; this.onclose?.({ code, reason }); }
}

// A client connected and joined as `clientId`, with mocked setTimeout and Date.
function joinedClient(t, { resumeToken = "T1", clientId = "c-ada" } = {})
{
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1000000 });
    globalThis.window = { addEventListener() {} };
    globalThis.WebSocket = FakeSocket;
    FakeSocket.all = [];
    const states = [];
    const messages = [];
    const client = new SignalingClient({
        onMessage: (msg) => messages.push(msg),
        onState: (state, detail) => states.push({ state, ...detail }),
        log: () => {},
    });
    client.connect("ws://h/ws", "room", "Ada");
    const ws = FakeSocket.all[0];
    ws.open();
    assert.deepEqual(ws.sent, [{ action: "join", roomId: "room", name: "Ada" }]);
    const joined = { action: "joined", roomId: "room", clientId, peers: [] };
    if (resumeToken)
        joined.resumeToken = resumeToken;
    ws.receive(joined);
    const last = () => FakeSocket.all.at(-1);
    return { client, ws, states, messages, last, stateNames: () => states.map((s) => s.state) };
}

test("resume: counts what arrived after joined, keeps its id, queues signals, sends them after resumed", (t) => {
    const { client, ws, states, messages, last } = joinedClient(t);
    ws.receive({ action: "peer-joined", roomId: "room", peer: { clientId: "c-bob" } });
    ws.receive({ action: "signal", roomId: "room", from: "c-bob", type: "offer", data: {} });
    ws.receive("not json: still a numbered message");
    ws.drop(1006);
    assert.equal(states.at(-1).state, "resuming");
    assert.equal(client.clientId, "c-ada", "the clientId stays while resuming");
    assert.equal(client.roomId, "room");
    assert.equal(FakeSocket.all.length, 1, "no socket before the first delay");

    // Signals made while the socket is down wait for it.
    assert.equal(client.sendTo("c-bob", "answer", { sdp: "a" }), true);
    assert.equal(client.sendTo("c-bob", "ice-candidate", { candidate: "c" }), true);

    t.mock.timers.tick(1000);
    const second = last();
    assert.notEqual(second, ws, "a new socket within 1 s of the close");
    second.open();
    assert.deepEqual(second.sent, [{ action: "resume", token: "T1", received: 3 }], "resume is the first message");

    second.receive({ action: "resumed", roomId: "room", clientId: "c-ada", resumeToken: "T2" });
    assert.equal(states.at(-1).state, "resumed");
    assert.deepEqual(second.sent.slice(1).map((m) => [m.action, m.type, m.to]),
        [["signal", "answer", "c-bob"], ["signal", "ice-candidate", "c-bob"]], "the queued signals, in order");
    assert.equal(messages.at(-1).action, "resumed", "the app hears resumed too");
    assert.equal(client.clientId, "c-ada");

    // The replay after `resumed` is numbered on the new connection: the next resume counts it.
    second.receive({ action: "peer-suspended", roomId: "room", clientId: "c-bob" });
    second.receive({ action: "peer-resumed", roomId: "room", clientId: "c-bob" });
    second.drop(1006);
    t.mock.timers.tick(1000);
    last().open();
    assert.deepEqual(last().sent, [{ action: "resume", token: "T2", received: 2 }]);
    assert.ok(!states.some((s) => ["reconnecting", "rejoining", "idle"].includes(s.state)), "the membership was never given up");
});

test("resume: refused connections are retried every 3 s in the usual grace period, then less often, until resume-failed brings a rejoin", (t) => {
    const { client, ws, states, last } = joinedClient(t);
    ws.drop(1006);
    const starts = [];
    let guard = 0;
    // Mocked Date.now() reads the end of the tick inside timer callbacks: times are 10 ms coarse.
    const tick_ms = 10;
    while (states.at(-1).state === "resuming" && guard++ < 4000) {   // 40 s of mocked time at most
        const before = FakeSocket.all.length;
        t.mock.timers.tick(tick_ms);
        if (FakeSocket.all.length > before) {
            starts.push(last().createdAt);
            last().drop(1006);   // refused: the handshake never completes
        }
    }
    assert.ok(starts[0] - 1000000 <= 1000, `first attempt ${starts[0] - 1000000} ms after the close`);
    for (let i = 1; i < starts.length; ++i)
        assert.ok(starts[i] - starts[i - 1] >= 3000 - tick_ms, `attempts ${i - 1} and ${i} are ${starts[i] - starts[i - 1]} ms apart`);
    const inGrace = starts.filter((start) => start - 1000000 <= assumed_resume_grace_ms);
    assert.ok(inGrace.length >= 8, `kept trying through the grace period (${inGrace.length} attempts)`);
    for (let i = inGrace.length + 1; i < starts.length; ++i)
        assert.ok(starts[i] - starts[i - 1] >= 3000, `attempts ${i - 1} and ${i} past the grace are ${starts[i] - starts[i - 1]} ms apart`);
    assert.ok(starts.length > inGrace.length, "still trying after the usual grace period");
    assert.equal(states.at(-1).state, "resuming", "only the server knows whether the membership lives");
    assert.equal(client.clientId, "c-ada", "our id stays ours while we may resume");

    // The next attempt gets through; the server's grace was shorter: resume-failed, then a join.
    t.mock.timers.tick(20000);
    const through = last();
    through.open();
    assert.equal(through.sent[0].action, "resume", "past the usual grace the page still resumes first");
    through.receive({ action: "error", code: "resume-failed", message: "expired", request: "resume" });
    assert.equal(through.sent.at(-1).action, "join", "resume-failed brings today's rejoin");
    assert.equal(client.clientId, null);
});

test("resume: a hanging attempt is given up after 5 s and the next one starts", (t) => {
    const { ws, last } = joinedClient(t);
    ws.drop(1006);
    t.mock.timers.tick(1000);
    const hanging = last();
    t.mock.timers.tick(5000);
    assert.notEqual(hanging.closedByPage, null, "the hanging socket was closed");
    t.mock.timers.tick(4000);
    assert.notEqual(last(), hanging, "a new attempt");
    last().open();
    assert.equal(last().sent[0].action, "resume");
});

for (const answer of [
    { action: "error", code: "resume-failed", message: "unknown token", request: "resume" },
    { action: "error", code: "unknown-action", message: "no resume here", request: "resume" },
]) {
    test(`resume: ${answer.code} means a fresh join on the same socket, without the waiting signals`, (t) => {
        const { client, ws, states, messages, last } = joinedClient(t);
        ws.drop(1006);
        client.sendTo("c-bob", "offer", { sdp: "o" });
        t.mock.timers.tick(1000);
        const second = last();
        second.open();
        second.receive(answer);
        assert.equal(states.at(-1).state, "rejoining");
        assert.equal(client.clientId, null, "the old clientId is gone");
        assert.deepEqual(second.sent.slice(1), [{ action: "join", roomId: "room", name: "Ada" }],
            "join follows at once; the queued offer is dropped");
        assert.equal(messages.at(-1).code, answer.code);
        second.receive({ action: "joined", roomId: "room", clientId: "c-new", peers: [], resumeToken: "T9" });
        assert.equal(states.at(-1).state, "joined");
        assert.equal(client.clientId, "c-new");
        second.drop(1006);
        t.mock.timers.tick(1000);
        last().open();
        assert.deepEqual(last().sent, [{ action: "resume", token: "T9", received: 0 }]);
    });
}

test("resume: unavailable (a cluster node cut off from the rooms) keeps the membership and tries again", (t) => {
    const { client, ws, states, messages, last } = joinedClient(t);
    ws.receive({ action: "peer-joined", roomId: "room", peer: { clientId: "c-bob" } });
    ws.drop(1001);
    client.sendTo("c-bob", "offer", { sdp: "o" });
    t.mock.timers.tick(1000);
    const second = last();
    second.open();
    second.receive({ action: "error", code: "unavailable", message: "the cluster cannot be reached", request: "resume" });
    assert.notEqual(second.closedByPage, null, "the page closes that connection");
    assert.equal(states.at(-1).state, "resuming");
    assert.equal(client.clientId, "c-ada", "the clientId stays");
    assert.equal(messages.at(-1).code, "unavailable", "the app hears the error");
    second.drop(1012);   // what the node says afterwards changes nothing: that socket is done
    t.mock.timers.tick(2900);
    assert.equal(last(), second, "the next attempt no sooner than 3 s after the last");
    t.mock.timers.tick(700);
    const third = last();
    assert.notEqual(third, second);
    third.open();
    assert.deepEqual(third.sent, [{ action: "resume", token: "T1", received: 1 }], "the same token and count");
    third.receive({ action: "resumed", roomId: "room", clientId: "c-ada", resumeToken: "T2" });
    assert.deepEqual(third.sent.slice(1).map((m) => [m.type, m.to]), [["offer", "c-bob"]], "the waiting offer goes out");
    assert.ok(!states.some((s) => ["reconnecting", "rejoining", "idle"].includes(s.state)), "the membership was never given up");
});

test("a close frame from the server (1008, 1011) rejoins at once; 4001 stops; no token means no resume", (t) => {
    for (const code of [1008, 1011]) {
        const { client, ws, states, last } = joinedClient(t);
        ws.drop(code, "bye");
        assert.equal(states.at(-1).state, "reconnecting");
        assert.equal(client.clientId, null);
        t.mock.timers.tick(1000);
        last().open();
        assert.equal(last().sent[0].action, "join");
        t.mock.timers.reset();
    }
    {
        const { client, ws, states } = joinedClient(t);
        ws.drop(4001, "resumed elsewhere");
        assert.deepEqual(states.at(-1), { state: "idle", code: 4001, reason: "resumed elsewhere" });
        assert.equal(client.active, false);
        t.mock.timers.tick(60000);
        assert.equal(FakeSocket.all.length, 1, "no reconnect after a takeover");
        t.mock.timers.reset();
    }
    // A node of a cluster that stops (1001) or was declared dead (1012): our place is kept.
    for (const code of [1001, 1012]) {
        const { client, ws, states, last } = joinedClient(t);
        ws.drop(code, "bye");
        assert.equal(states.at(-1).state, "resuming");
        assert.notEqual(client.clientId, null, "the membership is kept while resuming");
        t.mock.timers.tick(1000);
        last().open();
        assert.equal(last().sent[0].action, "resume");
        t.mock.timers.reset();
    }
    {
        const { ws, states, last } = joinedClient(t, { resumeToken: null });
        ws.drop(1006);
        assert.equal(states.at(-1).state, "reconnecting", "--resume-grace 0: today's behaviour");
        t.mock.timers.tick(1000);
        last().open();
        assert.equal(last().sent[0].action, "join");
    }
});

// ---- The signaling client: moderation ---------------------------------------------------------

test("kick and lock go out on a live membership only; after a kick the client neither leaves nor comes back", (t) => {
    const { client, ws, states, messages } = joinedClient(t);
    assert.equal(client.kick("c-bob"), true);
    assert.equal(client.setLocked(true), true);
    assert.deepEqual(ws.sent.slice(1), [
        { action: "kick", roomId: "room", clientId: "c-bob" },
        { action: "lock", roomId: "room", locked: true },
    ]);

    // While resuming, a removal or a lock is not queued to happen later: the page says so.
    ws.drop(1006);
    assert.equal(client.kick("c-bob"), false);
    assert.equal(client.setLocked(false), false);
    t.mock.timers.tick(1000);
    const second = FakeSocket.all.at(-1);
    second.open();
    second.receive({ action: "resumed", roomId: "room", clientId: "c-ada", resumeToken: "T2" });
    assert.deepEqual(second.sent.map((m) => m.action), ["resume"], "nothing waited for the resume");

    // Removed by a moderator: the app hears `left` and disconnects; there is no room to leave.
    second.receive({ action: "left", roomId: "room", reason: "kicked" });
    assert.equal(messages.at(-1).reason, "kicked");
    assert.equal(client.roomId, null);
    assert.equal(client.kick("c-bob"), false);
    client.disconnect();
    assert.deepEqual(second.sent.map((m) => m.action), ["resume"], "no `leave` with no room");
    assert.equal(second.closedByPage, 1000);
    assert.equal(states.at(-1).state, "idle");
    t.mock.timers.tick(60000);
    assert.equal(FakeSocket.all.length, 2, "no reconnect after a removal");
});

// ---- Presence (protocol.md 5.7) ----------------------------------------------------------------

test("our presence state has every field each time, and the name only when there is one", () => {
    assert.deepEqual(presenceState({ muted: true, video: false, sharing: false, hand: true, name: "" }),
        { muted: true, video: false, sharing: false, hand: true });
    assert.deepEqual(presenceState({ muted: false, video: true, sharing: true, hand: false, name: "Ada" }),
        { muted: false, video: true, sharing: true, hand: false, name: "Ada" });
});

test("another page's state is read defensively: badges only for what it says, names fall back", () => {
    const none = { hand: null, muted: null, "camera-off": null, sharing: null };
    for (const odd of [undefined, null, [], "muted", 3, {}, { muted: "yes", video: 0, hand: 1 }])
        assert.deepEqual(presenceBadges(odd), none, JSON.stringify(odd));
    assert.deepEqual(presenceBadges({ muted: true, video: false, sharing: true, hand: true }),
        { hand: "raised their hand", muted: "muted", "camera-off": "camera off", sharing: "sharing their screen" });
    assert.equal(readPresence({ video: true }).cameraOff, false);
    assert.equal(displayName({ name: " Ada L. " }, "Ada", "c1"), "Ada L.");
    assert.equal(displayName({ name: "" }, "Ada", "c1"), "Ada");
    assert.equal(displayName({ name: 42 }, "", "c1"), "c1");
    assert.equal([...displayName({ name: "x".repeat(300) }, "", "c1")].length, 64, "a long name is cut");
    // In a private room the name the member joined with (its token's) wins over a rename.
    assert.equal(displayName({ name: "The Boss" }, "Mallory", "c1", true), "Mallory");
    assert.equal(displayName({ name: "Ada L." }, "", "c1", true), "Ada L.", "a member the server did not name may still rename");
});

test("presence: the join carries the state, an update follows each change, one made while resuming waits", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1000000 });
    globalThis.window = { addEventListener() {} };
    globalThis.WebSocket = FakeSocket;
    FakeSocket.all = [];
    const client = new SignalingClient({ onMessage() {}, onState() {}, log() {} });
    client.connect("ws://h/ws", "room", "Ada");
    client.updateState({ muted: true });
    const ws = FakeSocket.all[0];
    ws.open();
    assert.deepEqual(ws.sent, [{ action: "join", roomId: "room", name: "Ada", state: { muted: true } }]);
    // Media started while the join was on its way: the update follows `joined`.
    client.updateState({ muted: false });
    assert.equal(ws.sent.length, 1, "no update before joined");
    ws.receive({ action: "joined", roomId: "room", clientId: "c-ada", peers: [], resumeToken: "T1" });
    assert.deepEqual(ws.sent.at(-1), { action: "update", roomId: "room", state: { muted: false } });
    client.updateState({ muted: false, name: "Ada L." });
    assert.deepEqual(ws.sent.at(-1), { action: "update", roomId: "room", state: { muted: false, name: "Ada L." } });

    ws.drop(1006);
    client.updateState({ muted: true, hand: true });
    t.mock.timers.tick(1000);
    const second = FakeSocket.all.at(-1);
    second.open();
    assert.deepEqual(second.sent, [{ action: "resume", token: "T1", received: 0 }], "nothing before resume");
    second.receive({ action: "resumed", roomId: "room", clientId: "c-ada", resumeToken: "T2" });
    assert.deepEqual(second.sent.at(-1), { action: "update", roomId: "room", state: { muted: true, hand: true } });

    // The membership is lost: the rejoin carries the latest state and the renamed name.
    client.rename("Ada L.");
    second.drop(1008, "policy");
    t.mock.timers.tick(1000);
    const third = FakeSocket.all.at(-1);
    third.open();
    assert.deepEqual(third.sent, [{ action: "join", roomId: "room", name: "Ada L.", state: { muted: true, hand: true } }]);
    t.mock.timers.reset();
});

test("shortcuts: m, v, h and c outside text fields, without modifiers, not repeated", () => {
    const key = (k, target = { tagName: "BODY" }, extra = {}) => shortcutFor({ key: k, target, ...extra });
    assert.equal(key("m"), "toggle-mic");
    assert.equal(key("M"), "toggle-mic", "with Caps Lock or Shift too");
    assert.equal(key("v", { tagName: "BUTTON" }), "toggle-camera");
    assert.equal(key("h"), "raise-hand");
    assert.equal(key("c"), "chat");
    assert.equal(key("x"), null);
    for (const tagName of ["INPUT", "TEXTAREA", "SELECT"])
        assert.equal(key("m", { tagName }), null, tagName);
    assert.equal(key("m", { tagName: "DIV", isContentEditable: true }), null);
    for (const modifier of ["ctrlKey", "metaKey", "altKey", "repeat"])
        assert.equal(key("m", undefined, { [modifier]: true }), null, modifier);
});

test("chat messages: small JSON, capped, read defensively, never dated in the future", () => {
    assert.deepEqual(JSON.parse(encodeChat({ text: "hi", name: "Ada", at: 5 })), { type: "chat", text: "hi", at: 5, name: "Ada" });
    assert.equal(JSON.parse(encodeChat({ text: "x", name: "", at: 5 })).name, undefined);
    const long = JSON.parse(encodeChat({ text: "é".repeat(600), name: "Ada", at: 5 })).text;
    assert.equal([...long].length, max_chat_chars, "cut to the cap, in code points");
    assert.deepEqual(readChat(encodeChat({ text: " hi ", name: " Ada ", at: 5 }), 10), { text: "hi", name: "Ada", at: 5 });
    assert.equal(readChat(encodeChat({ text: "hi", name: "Ada", at: 50 }), 10).at, 10, "a future time shows as now");
    assert.equal(readChat(JSON.stringify({ type: "chat", text: "hi" }), 10).at, 10);
    assert.equal(readChat(JSON.stringify({ type: "chat", text: "hi", name: 7 }), 10).name, "");
    for (const bad of ["not json", "null", "[]", JSON.stringify({ type: "other", text: "x" }),
        JSON.stringify({ type: "chat", text: "   " }), JSON.stringify({ type: "chat", text: 3 }),
        JSON.stringify({ type: "chat", text: "x".repeat(5000) }), new ArrayBuffer(4)])
        assert.equal(readChat(bad, 10), null, String(bad).slice(0, 40));
    assert.match(chatTime(Date.UTC(2026, 0, 1, 9, 5)), /^\d\d:\d\d$/);
});

test("mesh health: a level per connection from loss, jitter, RTT and frame rate; warnings in words", () => {
    const base = { rttMs: 2, lossPercent: 0, jitterMs: 3, width: 320, fps: 30 };
    assert.deepEqual(connectionQuality(base), { level: "good", text: "Connection good: 0.0% loss, jitter 3 ms, RTT 2 ms, 30 fps" });
    assert.equal(connectionQuality({ ...base, lossPercent: 4 }).level, "fair");
    assert.equal(connectionQuality({ ...base, lossPercent: 12, rttMs: 300 }).level, "poor", "the worst one counts");
    assert.equal(connectionQuality({ ...base, jitterMs: 50 }).level, "fair");
    assert.equal(connectionQuality({ ...base, fps: 8 }).level, "poor");
    assert.equal(connectionQuality({ ...base, width: 0, fps: 0 }).level, "good", "no video received: fps not judged");
    assert.equal(connectionQuality({ ...base, rttMs: null, lossPercent: null }).level, "unknown");
    assert.equal(connectionQuality(null).level, "unknown");

    assert.equal(meshSizeWarning(6, 6), null);
    assert.match(meshSizeWarning(7, 6), /^7 people are in this call\..* above 6 /);
    assert.equal(uplinkWarning(0, 5), null);
    assert.match(uplinkWarning(5, 5), /to everyone at this quality/);
    assert.match(uplinkWarning(2, 5), /to 2 of the 5 people/);
});

test("the video to one peer whose path is full is halved after 2 rounds, down to a quarter, and raised after 15 clear", () => {
    const rounds = (limitedRounds, clearRounds) => ({ limitedRounds, clearRounds });
    assert.equal(nextSendScale(1, rounds(1, 0)), 1, "one round can be a hiccup");
    assert.equal(nextSendScale(1, rounds(2, 0)), 2);
    assert.equal(nextSendScale(2, rounds(2, 0)), 4);
    assert.equal(nextSendScale(4, rounds(9, 0)), 4, "a quarter at most");
    assert.equal(nextSendScale(4, rounds(0, 14)), 4);
    assert.equal(nextSendScale(4, rounds(0, 15)), 2);
    assert.equal(nextSendScale(1, rounds(0, 99)), 1);
});

// The stats round itself, on fake peers: a peer whose path stays full gets a smaller copy of our
// video after two rounds and the uplink warning shows; once the path clears and the size is back,
// the warning goes. (The browser test sets the scale by hand; this drives the decision.)
test("stats rounds: a full path lowers our video to that peer and shows the uplink warning, then clears", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const fakePeer = (id) => ({
        id, sendScale: 1, limited: false, scales: [],
        async readStats() {
            return { rttMs: 40, lossPercent: 0, jitterMs: 5, inboundKbps: 500, width: 640, height: 360, fps: 30,
                sendLimitedBy: this.limited ? "bandwidth" : "none" };
        },
        async setSendScale(scale) { this.scales.push(scale); this.sendScale = scale; return true; },
    });
    const bob = fakePeer("bob");
    const eve = fakePeer("eve");
    const peers = new Map([["bob", bob], ["eve", eve]]);
    const warnings = [];
    const quality = new Map();
    const monitor = new StatsMonitor({
        peers,
        tiles: { setStats() {}, setQuality(id, q) { quality.set(id, q.level); } },
        showUplinkWarning: (text) => warnings.push(text),
        onStats() {}, label: (id) => id, log() {},
    });
    monitor.start();
    const round = async () => {
        t.mock.timers.tick(2000);
        for (let i = 0; i < 20; ++i)
            await Promise.resolve();
    };
    bob.limited = true;
    await round();
    assert.deepEqual(bob.scales, [], "one full round can be a hiccup");
    assert.equal(warnings.at(-1), null);
    await round();
    assert.deepEqual(bob.scales, [2], "two rounds: half the size to bob");
    assert.deepEqual(eve.scales, [], "eve's path is clear: she keeps the full size");
    assert.match(warnings.at(-1), /1 of the 2 people/);
    assert.equal(quality.get("bob"), "good");

    bob.limited = false;
    for (let i = 0; i < 16; ++i)
        await round();
    assert.deepEqual(bob.scales, [2, 1], "after 15 clear rounds bob gets the full size again");
    await round();
    assert.equal(warnings.at(-1), null, "nothing held back: no warning");
});
