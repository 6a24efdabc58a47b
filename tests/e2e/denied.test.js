// Without camera access the page says why and the call continues receive-only; without a camera
// (microphone only) it sends audio.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, expectPlaying, snapshot, waitFor, withCall } from "./lib/harness.js";

// Run in the page before its scripts: make getUserMedia fail the way a browser does.
function denyAll()
{
    navigator.mediaDevices.getUserMedia = async () => {
        throw new DOMException("Permission denied", "NotAllowedError");
    };
}
function noCamera()
{
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
        if (constraints.video)
            throw new DOMException("Requested device not found", "NotFoundError");
        return real(constraints);
    };
}

const noticeOf = (p) => p.page.evaluate(() =>
    (document.getElementById("notice").hidden ? null : document.getElementById("notice-text").textContent));

test("camera and mic denied: a clear message, and the call continues receive-only", { timeout: 120000 }, async () => {
    await withCall("denied", async (call) => {
        const ada = await call.join({ room: "denied", name: "Ada", initScript: denyAll });
        const grace = await call.join({ room: "denied", name: "Grace" });

        const notice = await waitFor(() => noticeOf(ada), { timeout: 10000, what: "Ada's notice" });
        assert.match(notice, /blocked/);
        assert.match(notice, /receive-only/);

        // Ada sees and hears Grace; Grace has a tile for Ada with the placeholder and no video.
        await expectPlaying(ada, [await clientIdOf(grace)], { sending: false });
        const adaId = await clientIdOf(ada);
        await waitFor(async () => {
            const s = await snapshot(grace);
            return s.remotes.length === 1 && s.remotes[0].peerId === adaId && s.remotes[0].connection === "connected";
        }, { timeout: 20000, what: "Grace to be connected to Ada" });
        assert.equal(await grace.page.$eval(`[data-tile-for="${adaId}"]`, (f) => f.dataset.media), "off");
    });
});

test("no camera: a clear message, and the microphone is still sent", { timeout: 120000 }, async () => {
    await withCall("no-camera", async (call) => {
        const ada = await call.join({ room: "nocam", name: "Ada", initScript: noCamera });
        const grace = await call.join({ room: "nocam", name: "Grace" });

        const notice = await waitFor(() => noticeOf(ada), { timeout: 10000, what: "Ada's notice" });
        assert.match(notice, /No camera was found/);
        assert.match(notice, /audio only/);

        await expectPlaying(ada, [await clientIdOf(grace)], { sending: false });
        // Grace receives Ada's audio.
        const adaId = await clientIdOf(ada);
        await waitFor(async () => {
            const s = await snapshot(grace);
            return s.remotes.length === 1 && s.remotes[0].peerId === adaId && s.remotes[0].audioIn > 1000;
        }, { timeout: 20000, what: "Grace to receive Ada's audio" });
    });
});
