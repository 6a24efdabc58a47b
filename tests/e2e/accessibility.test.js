// An accessibility check of the call page with axe-core (run inside the browser) in the state a
// person sees mid-call: tiles with badges and quality levels, a raised hand, the chat open with
// messages. Zero serious or critical violations, at a desktop and at a phone viewport; on the
// phone everything fits one column and the call controls stay within the screen, at the bottom.
// Tab alone reaches every control, and the focused one is marked.

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

// Presses Tab until the focus comes round again (at most 120 times): the ids reached, each with
// whether the focused element was marked (an outline, or the inputs' ring of box-shadow).
async function tabThrough(p)
{
    await p.page.evaluate(() => document.activeElement?.blur());
    const reached = new Map();
    for (let i = 0; i < 120; ++i) {
        await p.page.keyboard.press("Tab");
        const focused = await p.page.evaluate(() => {
            const el = document.activeElement;
            if (!el || el === document.body)
                return null;
            const style = getComputedStyle(el);
            const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
            return { id: el.id || el.getAttribute("aria-label") || el.tagName, visible: outlined || style.boxShadow !== "none" };
        });
        if (focused === null)
            continue;
        if (reached.has(focused.id) && reached.size > 3)
            break;
        reached.set(focused.id, focused.visible);
    }
    return reached;
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

            // Every control is reached with Tab alone, and shows where the focus is.
            const reached = await tabThrough(grace);
            for (const id of ["toggle-mic", "toggle-camera", "share-screen", "raise-hand", "chat-toggle", "hangup",
                "chat-input", "chat-send", "chat-close", "disconnect", "camera-select"])
                assert.ok(reached.has(id), `#${id} is reached with Tab (reached: ${[...reached.keys()].join(", ")})`);
            const unmarked = [...reached].filter(([, visible]) => !visible).map(([id]) => id);
            assert.deepEqual(unmarked, [], "every focused control shows a visible focus mark");

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
                // One column: the call and each side panel take the width, one under the other.
                const columns = await grace.page.evaluate(() => [".call", "#chat-panel", ".sidebar"].map((sel) => {
                    const r = document.querySelector(sel).getBoundingClientRect();
                    return { sel, left: r.left, width: r.width, top: r.top };
                }));
                for (const c of columns)
                    assert.ok(c.width >= 390 * 0.85, `${c.sel} spans the screen (${JSON.stringify(c)})`);
                assert.ok(columns[0].top < columns[2].top, "the side panels come under the call");
                // Reachable by thumb: the controls sit in the lower part of the screen, wherever
                // the page is scrolled (the chat is open and the page is long).
                assert.ok(layout.controlsBottom <= layout.height && layout.controlsTop >= layout.height / 2,
                    `controls at the bottom of the screen (${JSON.stringify(layout)})`);
            }
        });
    });
}
