// The page's contract with users and scripts (the ids and data attributes are listed in
// tests/e2e/README.md, "The page contract"): element ids, defaults from the URL, input checks,
// the invite link, the SDP and stats read-outs, ?relay=1, and a clean goodbye on unload. Without
// a room token the page offers nothing of moderation (moderation.test.js has the rest).

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, waitFor, withCall } from "./lib/harness.js";

// Runs in the page before its scripts: a WebSocket whose `joined` messages carry iceServers.
function addIceServersToJoined()
{
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        set onmessage(handler) {
            super.onmessage = (event) => {
                const msg = JSON.parse(event.data);
                if (msg.action !== "joined")
                    return handler(event);
                msg.iceServers = [{ urls: "turn:127.0.0.1:3478", username: "u", credential: "p" }];
                return handler(new MessageEvent("message", { data: JSON.stringify(msg) }));
            };
        }
    };
}

// Every id of the page contract (tests/e2e/README.md), the presence, chat and mesh-health ones
// included.
const contractIds = ["server-url", "room-id", "name", "connect", "disconnect", "start-media", "hangup",
    "local-video", "log", "remote-videos", "notice", "notice-text", "toast", "copy-invite", "lock-toggle",
    "room-locked", "rename", "toggle-mic", "toggle-camera", "share-screen", "raise-hand", "chat-toggle",
    "chat-unread", "chat-panel", "chat-log", "chat-form", "chat-input", "chat-send", "chat-close",
    "mesh-warning", "uplink-warning", "local-tile"];

test("ids, defaults and labels: the page is scriptable and accessible", { timeout: 60000 }, async () => {
    await withCall("page-contract", async (call) => {
        const p = await call.join({ room: "", name: "", query: { autostart: "" } });
        for (const id of contractIds)
            assert.equal(await p.page.locator(`#${id}`).count(), 1, `#${id} exists once`);
        assert.equal(await p.page.inputValue("#server-url"), `ws://127.0.0.1:${call.server.port}/ws`);
        assert.equal(await p.page.inputValue("#room-id"), "demo");
        assert.equal(await p.page.inputValue("#name"), "");
        // Every field has a visible label (getByLabel finds the input through it).
        for (const [label, id] of [["Server", "server-url"], ["Room", "room-id"], ["Your name", "name"], ["Camera", "camera-select"]])
            assert.equal(await p.page.getByLabel(label, { exact: false }).first().getAttribute("id"), id);
        const local = await p.page.$eval("#local-video", (v) => ({ muted: v.muted, autoplay: v.autoplay }));
        assert.deepEqual(local, { muted: true, autoplay: true });
        // No token, no moderation: no lock toggle, no locked badge, the plain invite button.
        assert.equal(await p.page.isVisible("#lock-toggle"), false);
        assert.equal(await p.page.isVisible("#room-locked"), false);
        assert.equal((await p.page.innerText("#copy-invite")).trim(), "Copy invite link");
        assert.equal(await p.page.evaluate(() => window.call.role.moderator), false);
        // Nothing happens without a click: no socket, no camera.
        assert.equal(await p.page.evaluate(() => document.body.dataset.clientId ?? null), null);
        assert.equal(await p.page.evaluate(() => window.call.media.started), false);

        // A bad room id is caught next to the field, before anything is sent.
        await p.page.fill("#room-id", "x".repeat(65));
        await p.page.click("#connect");
        assert.match(await p.page.textContent("#form-error"), /64/);
        assert.equal(await p.page.evaluate(() => window.call.signaling.active), false);

        // ?room= and ?name= fill the form; Connect joins and the URL keeps the room.
        await p.page.goto(`${call.server.origin}/?room=r%C3%A9union&name=Ada`);
        assert.equal(await p.page.inputValue("#room-id"), "réunion");
        assert.equal(await p.page.inputValue("#name"), "Ada");
        await p.page.click("#connect");
        await clientIdOf(p);
        assert.equal(await p.page.textContent("#local-name"), "Ada (you)");
        assert.equal(await p.page.isDisabled("#room-id"), true, "the form is locked while connected");
        await p.page.click("#disconnect");
        await waitFor(() => p.page.evaluate(() => document.body.dataset.clientId === undefined), { what: "disconnect" });
        assert.equal(await p.page.isEnabled("#connect"), true);
    });
});

test("invite link, SDP log, stats line, relay policy, and goodbye on unload", { timeout: 90000 }, async () => {
    await withCall("page-details", async (call) => {
        const ada = await call.join({ room: "details", name: "Ada" });
        const grace = await call.join({ room: "details", name: "Grace" });
        const [, graceId] = await expectFullMesh([ada, grace]);

        // Granting replaces the context's permissions: keep camera and microphone, or Chromium
        // ends the capture tracks (the page copes, but that is not what this test is about).
        await ada.context.grantPermissions(["clipboard-read", "clipboard-write", "camera", "microphone"],
            { origin: call.server.origin });
        await ada.page.click("#copy-invite");
        const invite = `${call.server.origin}/?room=details`;
        await waitFor(async () => (await ada.page.evaluate(() => navigator.clipboard.readText())) === invite,
            { timeout: 5000, what: `the clipboard to hold ${invite}` });
        assert.equal(await ada.page.isVisible("#toast"), true, "a toast confirms the copy");
        // Without a token there is nobody to remove anyone: Grace's tile has no kick button.
        assert.equal(await ada.page.locator(`[data-tile-for="${graceId}"] [data-kick]`).isVisible(), false);

        // The log explains each description without changing it.
        const log = await ada.page.textContent("#log");
        // Audio, video and the data channels that carry the chat.
        assert.match(log, /local offer, [\d.]+ KB, 3 m-lines: audio sendrecv \[opus.* \| application \(data channels\)/);
        assert.match(log, /remote answer, [\d.]+ KB, 3 m-lines/);
        assert.match(log, /media flows host 127\.0\.0\.1:\d+ ⇄ (host 127\.0\.0\.1|prflx \(hidden\)):\d+ over udp/);
        // The first stats round has no bitrate yet (it is a difference between two rounds).
        const statsLine = () => ada.page.$eval(`[data-tile-for="${graceId}"] .tile-stats`, (e) => e.textContent);
        await waitFor(async () => /^RTT \d+ ms · ↓ \d+ kb\/s · 320×240 · \d+ fps · host\/udp$/.test(await statsLine()),
            { timeout: 10000, what: "Grace's stats line with RTT, bitrate, resolution, frame rate, candidate type" });
        assert.equal(await ada.page.$eval(`[data-tile-for="${graceId}"] .tile-state`, (e) => e.textContent), "connected");

        // ?relay=1 makes every peer connection relay-only, and ICE servers sent in `joined` are
        // used. signald sends none yet, so the page's socket adds some to `joined` here; there is
        // no TURN server, so both are only checked in the configuration.
        const relay = await call.join({ room: "relay-only", name: "Relay", query: { relay: "1" }, initScript: addIceServersToJoined });
        await clientIdOf(relay);
        assert.equal(await relay.page.evaluate(() => window.call.settings.relay), true);
        const other = await call.join({ room: "relay-only", name: "Other", query: { autostart: "" } });
        await other.page.click("#connect");
        await waitFor(() => relay.page.evaluate(() => window.call.peers.size === 1), { what: "relay page to have a peer" });
        const config = await relay.page.evaluate(() => {
            const { iceTransportPolicy, iceServers } = [...window.call.peers.values()][0].pc.getConfiguration();
            return { iceTransportPolicy, urls: iceServers.flatMap((s) => s.urls) };
        });
        assert.deepEqual(config, { iceTransportPolicy: "relay", urls: ["turn:127.0.0.1:3478"] });

        // Closing the tab: the pagehide handler says goodbye (hangup, then the socket closes).
        const graceGone = waitFor(() => ada.page.evaluate(() => window.call.peers.size === 0), { timeout: 5000, what: "Grace gone" });
        await grace.page.close({ runBeforeUnload: true });
        await graceGone;
        await waitFor(() => call.server.stderr.includes("disconnected") || call.server.stderr.includes("closed"),
            { timeout: 5000, what: "signald to log the closed socket" });
    });
});
