// An accessibility check of the call page with axe-core (run inside the browser) in the state a
// person sees mid-call: tiles with badges and quality levels, a raised hand, the chat open with
// messages. Zero serious or critical violations, at a desktop and at a phone viewport; on the
// phone everything fits one column and the call controls stay within the screen, at the bottom.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { clientIdOf, waitFor, withCall } from "./lib/harness.js";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

async function seriousViolations(p)
{
    await p.page.addScriptTag({ path: axePath });
    const violations = await p.page.evaluate(async () =>
        (await window.axe.run(document, { resultTypes: ["violations"] })).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`));
    return violations;
}

const viewports = {
    desktop: { width: 1280, height: 800 },
    phone: { width: 390, height: 844 },
};

for (const [kind, viewport] of Object.entries(viewports)) {
    test(`axe-core finds no serious or critical violations mid-call (${kind})`, { timeout: 60000 }, async () => {
        await withCall(`accessibility-${kind}`, async (call) => {
            const ada = await call.join({ room: "a11y", name: "Ada", viewport });
            const grace = await call.join({ room: "a11y", name: "Grace", viewport });
            const adaId = await clientIdOf(ada);
            await clientIdOf(grace);
            await waitFor(() => grace.page.evaluate(() => [...window.call.peers.values()].every((p) => p.chatState === "open") &&
                window.call.peers.size === 1), { timeout: 15000, interval: 100, what: "Grace's chat to open" });
            await ada.page.click("#toggle-mic");
            await ada.page.click("#raise-hand");
            await grace.page.click("#chat-toggle");
            await grace.page.fill("#chat-input", "Can everyone hear me?");
            await grace.page.press("#chat-input", "Enter");
            await waitFor(() => grace.page.evaluate((id) =>
                document.querySelector(`figure[data-tile-for="${id}"] [data-badge="hand"]:not([hidden])`) !== null &&
                document.querySelector(`figure[data-tile-for="${id}"]`).dataset.quality !== "unknown", adaId),
            { timeout: 15000, interval: 200, what: "Grace to show Ada's hand and connection quality" });

            assert.deepEqual(await seriousViolations(grace), []);

            if (kind === "phone") {
                const layout = await grace.page.evaluate(() => {
                    const controls = document.querySelector(".controls").getBoundingClientRect();
                    return {
                        overflow: document.documentElement.scrollWidth - window.innerWidth,
                        controlsBottom: controls.bottom,
                        controlsTop: controls.top,
                        height: window.innerHeight,
                    };
                });
                assert.ok(layout.overflow <= 0, `no sideways scrolling (${layout.overflow}px too wide)`);
                // Reachable by thumb: the controls sit in the lower part of the screen, wherever
                // the page is scrolled (the chat is open and the page is long).
                assert.ok(layout.controlsBottom <= layout.height && layout.controlsTop >= layout.height / 2,
                    `controls at the bottom of the screen (${JSON.stringify(layout)})`);
            }
        });
    });
}
