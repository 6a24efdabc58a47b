// Mesh health: the page says in words when the room passes the size where a mesh usually
// degrades (6 by default, ?mesh-warn= moves it), and every remote tile shows a quality level from
// getStats. The warning depends on the member count only, so to keep two cores calm only Ada and
// the seventh page send video (240p, the harness default); the other five join without camera
// or microphone (Connect only), which is also a mesh member the warning must count. Alan's video
// to Ada alone is then halved, as the page does for one peer whose path is full.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, waitFor, withCall } from "./lib/harness.js";

const warning = (p) => p.page.evaluate(() => {
    const el = document.getElementById("mesh-warning");
    return el.hidden ? null : el.textContent;
});

const remoteTiles = (p) => p.page.evaluate(() => document.querySelectorAll("#remote-videos figure[data-tile-for]").length);

test("the size warning at 7 pages, not at 6; a lower threshold by URL; quality levels on the tiles", { timeout: 120000 }, async () => {
    await withCall("mesh-health", async (call) => {
        // Ada's page warns from 4 people on.
        const ada = await call.join({ room: "big", name: "Ada", query: { "mesh-warn": "3" } });
        await clientIdOf(ada);
        const others = await Promise.all(["Grace", "Linus", "Margaret", "Hedy", "Barbara"].map(async (name) => {
            const p = await call.join({ room: "big", name, query: { autostart: null } });
            await p.page.click("#connect");
            await clientIdOf(p);
            return p;
        }));
        const pages = [ada, ...others];
        await waitFor(async () => (await Promise.all(pages.map(remoteTiles))).every((n) => n === 5),
            { timeout: 20000, what: "six pages to list each other" });
        assert.match(await warning(ada), /^6 people are in this call\..* above 3 /, "Ada's own threshold");
        for (const p of others)
            assert.equal(await warning(p), null, `${p.name}: 6 people is within the default`);

        const alan = await call.join({ room: "big", name: "Alan" });
        await clientIdOf(alan);
        for (const p of [...others, alan]) {
            const text = await waitFor(() => warning(p), { timeout: 10000, interval: 100, what: `${p.name} to warn at 7` });
            assert.match(text, /^7 people are in this call\. Everyone sends their video to each of the others, so above 6 /);
        }
        assert.equal(await alan.page.getAttribute("#mesh-warning", "role"), "status", "read out when it appears");

        // Every tile gets a level from its stats (every 2 s): good, fair or poor, in words too.
        await waitFor(() => alan.page.evaluate(() => {
            const bars = [...document.querySelectorAll("#remote-videos .tile-quality")];
            return bars.length === 6 && bars.every((b) => ["good", "fair", "poor"].includes(b.dataset.quality) &&
                /^Connection (good|fair|poor): .*RTT \d+ ms/.test(b.getAttribute("aria-label")));
        }), { timeout: 15000, interval: 250, what: "Alan's six tiles to show a quality level" });

        // Lowering what Alan sends to Ada alone (what the page does when that path is full): Ada
        // receives a half-size picture while the call goes on.
        const [adaId, alanId] = [await clientIdOf(ada), await clientIdOf(alan)];
        const receivedWidth = () => ada.page.evaluate((id) =>
            document.querySelector(`#remote-videos video[data-peer-id="${id}"]`)?.videoWidth ?? 0, alanId);
        await waitFor(async () => (await receivedWidth()) === 320, { timeout: 20000, what: "Ada to receive Alan at 320 wide" });
        assert.equal(await alan.page.evaluate((id) => window.call.peers.get(id).setSendScale(2), adaId), true);
        await waitFor(async () => (await receivedWidth()) === 160, { timeout: 15000, what: "Ada to receive Alan at 160 wide" });

        // One leaves: back to six, the warning goes.
        await alan.context.close();
        for (const p of others)
            await waitFor(async () => (await warning(p)) === null, { timeout: 10000, interval: 100, what: `${p.name} to stop warning` });
        call.participants.splice(call.participants.indexOf(alan), 1);
    });
});
