// The call controls do what they say without breaking the call: mute, camera off and on, screen
// share (and its end from the browser's own "Stop sharing"), switching camera, changing quality,
// and an ICE restart.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, expectPlaying, waitFor, withCall } from "./lib/harness.js";

// What Ada's page sends to its one peer, and what Grace's page shows for Ada.
const sentVideoLabel = (p) => p.page.evaluate(() => {
    const [peer] = window.call.peers.values();
    const sender = peer.pc.getTransceivers().find((t) => t.receiver.track.kind === "video").sender;
    return sender.track?.label ?? null;
});
const tileOf = (p, id) => p.page.evaluate((peerId) => {
    const video = document.querySelector(`#remote-videos video[data-peer-id="${peerId}"]`);
    return { media: video?.closest("figure").dataset.media, width: video?.videoWidth, height: video?.videoHeight };
}, id);

test("mute, camera off/on, screen share, camera switch, quality and ICE restart keep the call up", { timeout: 200000 }, async () => {
    await withCall("controls", async (call) => {
        const ada = await call.join({ room: "controls", name: "Ada" });
        const grace = await call.join({ room: "controls", name: "Grace" });
        const [adaId, graceId] = await expectFullMesh([ada, grace]);

        // Mute: the track is disabled (it keeps sending silence, so unmuting is instant).
        await ada.page.click("#toggle-mic");
        assert.equal(await ada.page.getAttribute("#toggle-mic", "aria-pressed"), "true");
        assert.equal(await ada.page.evaluate(() => window.call.media.mic.enabled), false);
        assert.equal(await ada.page.isVisible("#local-mic-flag"), true, "the local tile shows the muted mic");
        await expectFullMesh([ada, grace]);
        await ada.page.click("#toggle-mic");
        assert.equal(await ada.page.evaluate(() => window.call.media.mic.enabled), true);

        // Camera off: the camera track is stopped and nothing is sent; Grace's tile for Ada shows
        // the placeholder. Ada still receives Grace.
        await ada.page.click("#toggle-camera");
        // replaceTrack(null) resolves asynchronously: wait for the sender to follow.
        await waitFor(async () => (await ada.page.evaluate(() => window.call.media.camera === null)) &&
            (await sentVideoLabel(ada)) === null, { timeout: 10000, what: "Ada's camera stopped and unsent" });
        await waitFor(async () => (await tileOf(grace, adaId)).media === "off", { timeout: 15000, what: "Grace to show Ada's camera as off" });
        await expectPlaying(ada, [graceId], { sending: false });

        // Camera on again: renegotiated back to sendrecv, Grace plays Ada again.
        await ada.page.click("#toggle-camera");
        await expectFullMesh([ada, grace]);
        await waitFor(async () => (await tileOf(grace, adaId)).media === "on", { timeout: 15000, what: "Grace to show Ada's video again" });

        // Screen share: replaceTrack to the screen; Grace receives the screen's size.
        await ada.page.click("#share-screen");
        await waitFor(async () => (await sentVideoLabel(ada))?.startsWith("screen"), { timeout: 10000, what: "Ada to send her screen" });
        assert.equal(await ada.page.getAttribute("#share-screen", "aria-pressed"), "true");
        assert.equal(await ada.page.evaluate(() => document.getElementById("local-tile").classList.contains("mirrored")), false,
            "a shared screen is not mirrored in the preview");
        await waitFor(async () => (await tileOf(grace, adaId)).width > 320, { timeout: 20000, what: "Grace to receive Ada's screen" });
        await expectFullMesh([ada, grace]);

        // The browser's own "Stop sharing" ends the track: back to the camera.
        await ada.page.evaluate(() => window.call.media.screen.dispatchEvent(new Event("ended")));
        await waitFor(async () => (await sentVideoLabel(ada))?.startsWith("fake_device"), { timeout: 10000, what: "Ada back on her camera" });
        await waitFor(async () => (await tileOf(grace, adaId)).width === 320, { timeout: 20000, what: "Grace to receive Ada's camera again" });
        assert.equal(await ada.page.getAttribute("#share-screen", "aria-pressed"), "false");

        // Switch camera: a new track replaces the old one on the same sender, no renegotiation.
        await ada.page.selectOption("#camera-select", { label: "fake_device_2" });
        await waitFor(async () => (await sentVideoLabel(ada)) === "fake_device_2", { timeout: 10000, what: "Ada to send fake_device_2" });
        await ada.page.selectOption("#mic-select", { index: 1 });
        await waitFor(() => ada.page.evaluate(() => window.call.media.mic?.readyState === "live" &&
            window.call.media.mic.getSettings().deviceId === document.getElementById("mic-select").value),
        { timeout: 10000, what: "Ada to use the second microphone" });
        await expectFullMesh([ada, grace]);

        // Quality: same track, new constraints.
        await ada.page.selectOption("#resolution-select", "360");
        await waitFor(() => ada.page.evaluate(() => window.call.media.camera.getSettings().width === 640),
            { timeout: 10000, what: "Ada's camera at 640 wide" });
        await expectFullMesh([ada, grace]);

        // ICE restart (what the page does by itself when a connection fails): new ICE
        // credentials are negotiated and media keeps flowing.
        const ufrag = (p) => p.page.evaluate(() => /a=ice-ufrag:(\S+)/.exec([...window.call.peers.values()][0].pc.localDescription.sdp)[1]);
        const before = await ufrag(ada);
        await ada.page.evaluate(() => [...window.call.peers.values()][0].restartIce());
        await waitFor(async () => (await ufrag(ada)) !== before, { timeout: 15000, what: "new ICE credentials after restartIce" });
        await expectFullMesh([ada, grace]);
        assert.equal(await clientIdOf(grace), graceId);
    });
});
