// The page's pure modules, in Node without a browser: URL settings, the RTCPeerConnection
// configuration, input checks, and the read-only SDP summary.

import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultServerUrl, inviteLink, nameProblem, readSettings, roomIdProblem, rtcConfiguration } from "../../web/js/config.js";
import { describeSdp, summarizeSdp } from "../../web/js/sdp-log.js";

const at = (href) => new URL(href);

test("the server URL defaults to the page's own origin, ws or wss", () => {
    assert.equal(defaultServerUrl(at("http://127.0.0.1:8787/?room=x")), "ws://127.0.0.1:8787/ws");
    assert.equal(defaultServerUrl(at("https://call.example/")), "wss://call.example/ws");
});

test("settings come from the query string, with defaults", () => {
    assert.deepEqual(readSettings(at("http://h:1/")), {
        serverUrl: "ws://h:1/ws", roomId: "demo", name: "", autostart: false, resolution: "480", relay: false,
    });
    const s = readSettings(at("http://h:1/?room=caf%C3%A9&name=Ada&autostart=1&res=240&relay=1"));
    assert.equal(s.roomId, "café");
    assert.equal(s.name, "Ada");
    assert.equal(s.autostart, true);
    assert.equal(s.resolution, "240");
    assert.equal(s.relay, true);
    assert.equal(readSettings(at("http://h:1/?res=9999")).resolution, "480", "unknown presets fall back");
});

test("ICE servers from `joined` are used; ?relay=1 forces TURN", () => {
    const servers = [{ urls: "turn:turn.example:3478", username: "u", credential: "p" }];
    assert.deepEqual(rtcConfiguration({ relay: false }, servers), { iceServers: servers, iceTransportPolicy: "all" });
    assert.deepEqual(rtcConfiguration({ relay: false }, null), { iceServers: [], iceTransportPolicy: "all" });
    assert.equal(rtcConfiguration({ relay: true }, servers).iceTransportPolicy, "relay");
});

test("the invite link carries only the room", () => {
    assert.equal(inviteLink("stand up", at("http://127.0.0.1:8787/?room=x&name=Ada&autostart=1")),
        "http://127.0.0.1:8787/?room=stand+up");
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
});
