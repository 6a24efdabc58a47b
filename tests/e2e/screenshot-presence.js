// Writes two screenshots of a four-person call as Ada sees it, for the README: badges on the tiles
// (Grace muted, Linus with his hand up, Margaret renamed with her camera off), quality bars, and
// the chat open with a few messages; once at a desktop size and once at a phone's (390×844).
// Run it inside the loopback-only namespace:
//   tests/e2e/netns-run.sh node tests/e2e/screenshot-presence.js [desktop.png phone.png]
// (default output: docs/screenshot-call-desktop.png and docs/screenshot-call-phone.png).

import { join } from "node:path";
import { expectFullMesh, launchBrowser, openParticipant, repoRoot, sleep, startSignald, waitFor } from "./lib/harness.js";

const desktopOutput = process.argv[2] ?? join(repoRoot, "docs", "screenshot-call-desktop.png");
const phoneOutput = process.argv[3] ?? join(repoRoot, "docs", "screenshot-call-phone.png");
const server = await startSignald();
const browser = await launchBrowser();

// The others type with their chat panel closed; only Ada's is open on screen.
const say = (p, text) => p.page.evaluate((t) => {
    document.getElementById("chat-input").value = t;
    document.getElementById("chat-form").requestSubmit();
}, text);

try {
    const viewport = { width: 1440, height: 900 };
    const people = [];
    for (const name of ["Ada", "Grace", "Linus", "Margaret"])
        people.push(await openParticipant(browser, server.origin, { room: "standup", name, viewport, query: { res: "480" } }));
    const [ada, grace, linus, margaret] = people;
    await expectFullMesh(people);
    await waitFor(() => ada.page.evaluate(() => [...window.call.peers.values()].every((p) => p.chatState === "open")),
        { timeout: 15000, what: "Ada's chat channels to open" });

    await grace.page.click("#toggle-mic");
    await linus.page.click("#raise-hand");
    await margaret.page.click("#toggle-camera");
    await margaret.page.fill("#name", "Margaret H.");
    await margaret.page.click("#rename");

    await ada.page.click("#chat-toggle");
    await say(grace, "Morning! I'm on mute, the builders are back.");
    await say(linus, "Quick question about the release after this");
    await say(ada, "Go ahead, Linus");
    await ada.page.locator("#chat-input").blur();
    await sleep(4500);   // two stats rounds: the stats lines and quality bars fill in

    await ada.page.screenshot({ path: desktopOutput });
    console.log(`wrote ${desktopOutput}`);
    // On a phone the chat sits below the tiles: show it with the last tiles above it and the
    // controls at the bottom, as the page scrolls when the chat is opened there.
    await ada.page.setViewportSize({ width: 390, height: 844 });
    await ada.page.evaluate(() => document.getElementById("chat-panel").scrollIntoView({ block: "center" }));
    await sleep(500);
    await ada.page.screenshot({ path: phoneOutput });
    console.log(`wrote ${phoneOutput}`);
} finally {
    await browser.close();
    await server.stop();
}
