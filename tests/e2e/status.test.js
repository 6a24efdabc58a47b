// The status page (/status?every=1) against the real signald under real traffic: the headline
// and charts start at zero; two rooms of raw WebSocket clients (lib/ws-clients.js) that signal
// make the connections, rooms, members and messages/s move; an upgrade with a foreign Origin
// gets a refusal line of its own; a reload keeps the hour; on a phone nothing scrolls sideways;
// axe-core finds nothing; with signald stopped the page says it is unreachable and shows the gap,
// and once it is back (restarted) the page recovers and marks the restart.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { artifactsDir, launchBrowser, startSignald, waitFor } from "./lib/harness.js";
import { foreignOriginUpgrade, signalingRoom } from "./lib/ws-clients.js";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const text = (page, id) => page.evaluate((i) => document.getElementById(i).textContent, id);
// The current value in a chart's legend, as a number (null: none yet).
const legendValue = (page, chart, series) => page.evaluate(([c, s]) => {
    const v = document.querySelector(`#${c} [data-series="${s}"] .legend-value`)?.dataset.value;
    return v === undefined || v === "" ? null : Number(v);
}, [chart, series]);
// How many points the line of a chart's first series joins (the segments of its path).
const pointsDrawn = (page, chart) => page.evaluate((c) =>
    (document.querySelector(`#${c} path.line`)?.getAttribute("d").match(/[ML]/g) ?? []).length, chart);

async function violations(page)
{
    await page.addScriptTag({ path: axePath });
    return page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
        .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`));
}

test("the status page draws live traffic, refusals, an outage and the recovery", { timeout: 120000 }, async () => {
    let server = await startSignald();
    const browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    const rooms = [];
    try {
        const port = server.port;
        await page.goto(`${server.origin}/status?every=1`, { timeout: 15000 });

        // The first poll: the version and zeros; no TURN self-test on a signald without one.
        await waitFor(() => page.evaluate(() => document.body.dataset.reachable === "yes"), { timeout: 10000, what: "the first poll" });
        assert.match(await text(page, "version"), /^\d+\.\d+/);
        assert.equal(await text(page, "now-connections"), "0");
        assert.equal(await text(page, "poll-text"), "Live, every 1 s");
        assert.equal(await page.isVisible("#unreachable"), false);
        const metrics = await (await fetch(`${server.origin}/metrics`)).text();
        assert.equal(await page.isVisible("#turn-none"), !metrics.includes("signald_turn_check_ok"),
            "'TURN self-test not configured' shows exactly when /metrics has no TURN checks");

        // Traffic: five clients in two rooms, each sending five signals a second.
        rooms.push(await signalingRoom(port, "alpha", 3, { everyMs: 200 }));
        rooms.push(await signalingRoom(port, "beta", 2, { everyMs: 200 }));
        await waitFor(async () => await text(page, "now-connections") === "5" && await text(page, "now-rooms") === "2" &&
            await text(page, "now-members") === "5",
        { timeout: 10000, what: "5 connections, 2 rooms and 5 members in the headline" });
        assert.equal(await legendValue(page, "chart-connections", "connections"), 5);
        assert.equal(await legendValue(page, "chart-rooms", "members"), 5);
        // 25 signals/s in; each reaches the other members of its room (2 or 1): 40/s out. Only
        // "above zero" is asserted: the rate over a second of a timer-driven sender wanders.
        await waitFor(async () => await legendValue(page, "chart-messages", "in") > 0 &&
            await legendValue(page, "chart-messages", "out") > 0,
        { timeout: 10000, what: "non-zero messages/s in and out" });
        await waitFor(async () => await pointsDrawn(page, "chart-messages") >= 3,
            { timeout: 10000, what: "the messages line to join several polls" });

        // A refusal: its reason gets a line of its own, with the total beside it.
        assert.equal(await page.locator("#chart-refusals [data-series]").count(), 0, "no refusal yet, no line");
        assert.equal(await foreignOriginUpgrade(port), 403);
        await waitFor(() => page.evaluate(() => document.querySelector('#chart-refusals [data-series="refusal:origin"]')
            ?.textContent.includes("1 total")), { timeout: 10000, what: "an origin line in the refusals chart" });
        assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll("#chart-refusals [data-series]")]
            .map((li) => li.dataset.series)), ["refusal:origin"], "only the reason that moved is drawn");

        // Every chart is an image with a name and a description that says the latest values.
        const described = await page.evaluate(() => document.querySelector("#chart-connections svg desc").textContent);
        assert.match(described, /connections 5/);

        // A reload keeps the hour (sessionStorage): the old points are drawn before any new poll.
        const before = await pointsDrawn(page, "chart-connections");
        await page.reload();
        await page.waitForFunction(() => document.querySelector("#chart-connections path.line") !== null, null, { timeout: 5000 });
        assert.ok(await pointsDrawn(page, "chart-connections") >= before, "the points from before the reload are still drawn");
        await waitFor(() => page.evaluate(() => document.body.dataset.reachable === "yes"), { timeout: 10000, what: "a poll after the reload" });

        assert.deepEqual(await violations(page), [], "axe-core at 1280x900");

        // A phone: one column, nothing wider than the screen.
        await page.setViewportSize({ width: 390, height: 844 });
        await waitFor(() => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth &&
            new Set([...document.querySelectorAll(".card")].map((c) => Math.round(c.getBoundingClientRect().left))).size === 1),
        { timeout: 5000, what: "one column without sideways scrolling at 390 px" });
        const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll("svg")]
            .map((s) => s.getBoundingClientRect().right)));
        assert.ok(widest <= 390, `every chart fits the screen (right edge ${widest})`);
        assert.deepEqual(await violations(page), [], "axe-core at 390x844");

        // signald goes away: the banner says so, and the charts show the gap.
        for (const room of rooms.splice(0))
            room.stop();
        await server.stop();
        await waitFor(() => page.isVisible("#unreachable"), { timeout: 10000, what: "the unreachable banner" });
        assert.match(await text(page, "unreachable-text"), /Last answer at \d\d:\d\d:\d\d; trying again every 1 s/);
        assert.equal(await text(page, "poll-text"), "Unreachable");
        await waitFor(() => page.evaluate(() => document.querySelectorAll("#chart-connections rect.down-span").length === 1),
            { timeout: 5000, what: "the outage drawn as a span" });

        // Back (a new process on the same port): the page recovers and marks the restart.
        server = await startSignald({ port });
        await waitFor(() => page.evaluate(() => document.body.dataset.reachable === "yes"), { timeout: 10000, what: "recovery" });
        assert.equal(await page.isVisible("#unreachable"), false);
        await waitFor(async () => await text(page, "now-connections") === "0" &&
            await page.locator("#chart-connections line.restart").count() === 1,
        { timeout: 5000, what: "zero connections and the restart marked" });
        assert.deepEqual(errors, []);
    } catch (err) {
        const dir = join(artifactsDir, "status");
        mkdirSync(dir, { recursive: true });
        await page.screenshot({ path: join(dir, "status.png"), fullPage: true }).catch(() => {});
        writeFileSync(join(dir, "signald.log"), server.stderr ?? "");
        throw err;
    } finally {
        for (const room of rooms)
            room.stop();
        await browser.close();
        await server.stop();
    }
});

// This signald has no TURN self-test of its own yet (another change adds
// signald_turn_check_ok{url} and signald_turn_check_seconds{url}); until it does, its samples are
// appended to the real /metrics answer on the way to the page, one server passing, one failing.
test("TURN checks get a line per server, and a failing one says so", { timeout: 60000 }, async () => {
    const server = await startSignald();
    const browser = await launchBrowser();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    let round = 0;
    try {
        await page.route("**/metrics", async (route) => {
            const response = await route.fetch();
            round += 1;
            const turn = [
                "# HELP signald_turn_check_ok 1 when the latest TURN self-test passed.",
                "# TYPE signald_turn_check_ok gauge",
                "signald_turn_check_ok{url=\"turn:turn.example.org:3478?transport=udp\"} 1",
                "signald_turn_check_ok{url=\"turns:turn.example.org:5349\"} 0",
                "# HELP signald_turn_check_seconds The latest TURN self-test's round trip.",
                "# TYPE signald_turn_check_seconds gauge",
                `signald_turn_check_seconds{url="turn:turn.example.org:3478?transport=udp"} ${0.01 + round / 1000}`,
                "signald_turn_check_seconds{url=\"turns:turn.example.org:5349\"} NaN",
                "",
            ].join("\n");
            await route.fulfill({ response, body: (await response.text()) + turn });
        });
        await page.goto(`${server.origin}/status?every=1`, { timeout: 15000 });
        const udp = '#chart-turn [data-series="turn:turn:turn.example.org:3478?transport=udp"]';
        const tls = '#chart-turn [data-series="turn:turns:turn.example.org:5349"]';
        await waitFor(() => page.evaluate(([u, t]) => document.querySelector(u)?.textContent.endsWith("ms · ok") &&
            document.querySelector(`${t} .legend-value`)?.textContent === "failing", [udp, tls]),
        { timeout: 10000, what: "one TURN server ok with its round trip, one failing" });
        assert.equal(await page.isVisible("#turn-none"), false);
        assert.equal(await page.locator(`${tls} .legend-value`).getAttribute("class"), "legend-value alert");
        assert.equal(await page.locator(`${udp} .legend-value`).getAttribute("class"), "legend-value");
        const ms = Number(await page.locator(`${udp} .legend-value`).getAttribute("data-value"));
        assert.ok(ms > 10 && ms < 100, `round trip in ms (${ms})`);
    } finally {
        await browser.close();
        await server.stop();
    }
});
