// Writes a screenshot of a four-person call, as the first participant sees it, for the README.
// Run it inside the loopback-only namespace:
//   tests/e2e/netns-run.sh node tests/e2e/screenshot.js [output.png]
// (default output: docs/screenshot-4-peers.png).

import { join } from "node:path";
import { expectFullMesh, launchBrowser, openParticipant, repoRoot, sleep, startSignald } from "./lib/harness.js";

const output = process.argv[2] ?? join(repoRoot, "docs", "screenshot-4-peers.png");
const server = await startSignald();
const browser = await launchBrowser();
try {
    const names = ["Ada", "Grace", "Linus", "Margaret"];
    const viewport = { width: 1440, height: 900 };
    const people = [];
    for (const name of names)
        people.push(await openParticipant(browser, server.origin, { room: "standup", name, viewport, query: { res: "480" } }));
    await expectFullMesh(people);
    await sleep(4500);   // let two stats rounds fill in the tiles' stats lines
    await people[0].page.screenshot({ path: output });
    console.log(`wrote ${output}`);
} finally {
    await browser.close();
    await server.stop();
}
