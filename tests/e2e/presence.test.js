// Presence (docs/protocol.md 5.7): what one page says about itself reaches the others within a
// second: muted, camera off, sharing, a raised hand, a new name; a page that joins later learns it
// from `joined` (a rejoin sending it again is covered in web-modules.test.js). The keyboard
// shortcuts drive the same controls, and stay quiet while someone types.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, waitFor, withCall } from "./lib/harness.js";

// What `viewer` shows on the tile of `peerId`: the name and which badges are visible.
const tileView = (viewer, peerId) => viewer.page.evaluate((id) => {
    const figure = document.querySelector(`figure[data-tile-for="${id}"]`);
    if (!figure)
        return null;
    const badges = [...figure.querySelectorAll("[data-badge]")].filter((b) => !b.hidden).map((b) => b.dataset.badge);
    return { name: figure.querySelector("[data-tile-name]").textContent, badges: badges.sort().join(",") };
}, peerId);

// Within a second of the action, on every other page.
async function seenWithinASecond(viewers, peerId, expect, what)
{
    await Promise.all(viewers.map(async (viewer) => {
        let last = null;
        await waitFor(async () => {
            last = await tileView(viewer, peerId);
            return last && expect(last);
        }, { timeout: 1000, interval: 50, what: `${viewer.name} to see ${what}` })
            .catch((err) => { throw new Error(`${err.message}; the tile showed ${JSON.stringify(last)}`); });
    }));
}

test("mute, camera, hand and rename on one page are seen on the others within a second", { timeout: 120000 }, async () => {
    await withCall("presence", async (call) => {
        const ada = await call.join({ room: "presence", name: "Ada" });
        const grace = await call.join({ room: "presence", name: "Grace" });
        const [adaId] = await expectFullMesh([ada, grace]);
        await seenWithinASecond([grace], adaId, (v) => v.badges === "" && v.name === "Ada", "Ada unmuted, camera on");

        await ada.page.click("#toggle-mic");
        await seenWithinASecond([grace], adaId, (v) => v.badges === "muted", "Ada muted");
        await ada.page.click("#toggle-camera");
        await seenWithinASecond([grace], adaId, (v) => v.badges === "camera-off,muted", "Ada's camera off");
        await ada.page.click("#raise-hand");
        assert.equal(await ada.page.getAttribute("#raise-hand", "aria-pressed"), "true");
        await seenWithinASecond([grace], adaId, (v) => v.badges === "camera-off,hand,muted", "Ada's hand up");
        assert.equal(await grace.page.getAttribute(`figure[data-tile-for="${adaId}"]`, "data-hand"), "true");

        // Rename mid-call: the field stays editable, Rename sends it.
        await ada.page.fill("#name", "Ada Lovelace");
        await ada.page.click("#rename");
        await seenWithinASecond([grace], adaId, (v) => v.name === "Ada Lovelace", "Ada's new name");
        // An empty name is refused next to the field (the others would keep the old one).
        await ada.page.fill("#name", "");
        await ada.page.click("#rename");
        assert.equal(await ada.page.isVisible("#form-error"), true);
        await ada.page.fill("#name", "Ada Lovelace");

        // A latecomer learns all of it from `joined`, before anything else is sent.
        const linus = await call.join({ room: "presence", name: "Linus" });
        await clientIdOf(linus);
        await waitFor(async () => {
            const view = await tileView(linus, adaId);
            return view?.name === "Ada Lovelace" && view.badges === "camera-off,hand,muted";
        }, { timeout: 5000, interval: 100, what: "Linus to see Ada's state on joining" });

        // Back on, hand down, screen shared: seen by both.
        await ada.page.click("#toggle-mic");
        await ada.page.click("#raise-hand");
        await seenWithinASecond([grace, linus], adaId, (v) => v.badges === "camera-off", "Ada unmuted, hand down");
        await ada.page.click("#share-screen");
        await seenWithinASecond([grace, linus], adaId, (v) => v.badges === "sharing", "Ada sharing");
        await ada.page.click("#share-screen");
        await seenWithinASecond([grace, linus], adaId, (v) => v.badges === "camera-off", "Ada's share ended");

        // The keyboard: m, v and h press the same buttons; in a text field they are just letters.
        await ada.page.focus("#name");
        await ada.page.keyboard.type("mvh");
        assert.equal(await ada.page.inputValue("#name"), "Ada Lovelacemvh");
        assert.equal(await ada.page.getAttribute("#toggle-mic", "aria-pressed"), "false", "typing m did not mute");
        await ada.page.fill("#name", "Ada Lovelace");
        await ada.page.locator("#name").blur();
        await ada.page.keyboard.press("m");
        await ada.page.keyboard.press("v");
        await ada.page.keyboard.press("h");
        assert.equal(await ada.page.getAttribute("#toggle-mic", "aria-pressed"), "true");
        assert.equal(await ada.page.getAttribute("#raise-hand", "aria-pressed"), "true");
        await seenWithinASecond([grace], adaId, (v) => v.badges === "hand,muted", "Ada muted, camera on and hand up by keyboard");
        await ada.page.keyboard.press("Control+m");
        assert.equal(await ada.page.getAttribute("#toggle-mic", "aria-pressed"), "true", "a modifier leaves m to the browser");
    });
});
