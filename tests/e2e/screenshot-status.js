// Writes screenshots of the status page (/status) under load, for the README: rooms of raw
// WebSocket clients (lib/ws-clients.js) joining, signalling and leaving for two minutes, with
// refusals now and then (a foreign Origin, a foreign Host) and a real coturn under the TURN
// self-test; once at a desktop size and once at a phone's (390×844). Run it inside the
// loopback-only namespace:
//   tests/e2e/netns-run.sh node tests/e2e/screenshot-status.js [desktop.png phone.png]
// (default output: docs/screenshot-status.png and docs/screenshot-status-phone.png).

import { request } from "node:http";
import { join } from "node:path";
import { launchBrowser, repoRoot, sleep, startSignald, waitFor } from "./lib/harness.js";
import { startCoturn } from "./lib/coturn.js";
import { foreignOriginUpgrade, signalingRoom } from "./lib/ws-clients.js";

const desktopOutput = process.argv[2] ?? join(repoRoot, "docs", "screenshot-status.png");
const phoneOutput = process.argv[3] ?? join(repoRoot, "docs", "screenshot-status-phone.png");
const loadSeconds = Number(process.env.LOAD_SECONDS ?? 120);

// A page request with a Host nobody configured: 403, counted under `host`.
const foreignHost = (port) => new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { Host: "rebind.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode);
    });
    req.on("error", () => resolve(null));
    req.end();
});

// A real coturn, checked over udp and tcp every 10 s, so the TURN chart has something to show.
const secret = "screenshot-static-auth-secret";
const turn = await startCoturn({ secret });
const server = await startSignald({
    args: ["--ice-server", turn.url, "--ice-server", turn.url.replace("transport=udp", "transport=tcp"),
        "--turn-secret", secret, "--turn-check-interval", "10"],
});
const browser = await launchBrowser();
const rooms = [];
try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: process.env.COLOR_SCHEME ?? "dark" });
    const page = await context.newPage();
    await page.goto(`${server.origin}/status?every=2`);
    await waitFor(() => page.evaluate(() => document.body.dataset.reachable === "yes"), { what: "the first poll" });

    // Rooms come and go: a room of 2-5 every few seconds, each signalling at its own pace, the
    // oldest one leaving once six are open; refusals now and then.
    const started = Date.now();
    for (let step = 0; Date.now() - started < loadSeconds * 1000; ++step) {
        if (step % 3 === 0) {
            rooms.push(await signalingRoom(server.port, `room-${step}`, 2 + (step % 4), { everyMs: 150 + 70 * (step % 5) }));
            if (rooms.length > 6)
                rooms.shift().stop();
        }
        if (step % 7 === 3)
            await foreignOriginUpgrade(server.port);
        if (step % 11 === 5)
            await foreignHost(server.port);
        await sleep(2000);
    }
    await sleep(2500);
    await page.screenshot({ path: desktopOutput });
    console.log(`wrote ${desktopOutput}`);

    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(2500);
    await page.screenshot({ path: phoneOutput });
    console.log(`wrote ${phoneOutput}`);
} finally {
    for (const room of rooms)
        room.stop();
    await browser.close();
    await server.stop();
    await turn.stop();
}
