// A room of 2, 3 and 4 pages becomes a full mesh: every page ends with one playing remote video
// per other page, on loopback-only candidate pairs, with every offer, answer and candidate
// directed to exactly one peer.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { artifactsDir, expectFullMesh, expectLoopbackPairs, iceReports, sleep, waitFor, withCall } from "./lib/harness.js";

// Records every message the page sends on its WebSocket (runs before the page's own scripts).
function recordSentMessages()
{
    window.__sent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        try { window.__sent.push(JSON.parse(data)); } catch { /* not JSON: the server will say so */ }
        return send.call(this, data);
    };
}

const names = ["Ada", "Grace", "Linus", "Margaret"];

for (const size of [2, 3, 4]) {
    test(`${size} pages in one room each see ${size - 1} playing remote videos`, { timeout: 120000 }, async () => {
        await withCall(`mesh-${size}`, async (call) => {
            const people = [];
            for (const name of names.slice(0, size))
                people.push(await call.join({ room: "mesh", name, initScript: recordSentMessages }));
            const ids = await expectFullMesh(people);
            assert.equal(new Set(ids).size, size, "every page has its own clientId");
            await expectLoopbackPairs(people);

            // Tiles are labelled with the peer's name and show the connection state.
            const labels = await people[0].page.$$eval("#remote-videos figure", (figures) =>
                figures.map((f) => f.querySelector(".tile-name").textContent).sort());
            assert.deepEqual(labels, names.slice(1, size).sort());

            for (const p of people) {
                const sent = await p.page.evaluate(() => window.__sent);
                const signals = sent.filter((m) => m.action === "signal");
                assert.ok(signals.some((m) => m.type === "offer" || m.type === "answer"), `${p.name} negotiated`);
                for (const m of signals) {
                    if (m.type !== "hangup")
                        assert.ok(ids.includes(m.to) && m.to !== (await p.page.evaluate(() => document.body.dataset.clientId)),
                            `${p.name} sent a ${m.type} without a valid "to": ${JSON.stringify(m).slice(0, 200)}`);
                }
            }

            // Each pair has one connection, and the one who was there first made the offer.
            const first = await people[0].page.evaluate(() => window.__sent.filter((m) => m.type === "offer").map((m) => m.to));
            assert.equal(new Set(first).size, size - 1, "the first member offered to every newcomer");

            // Each end reported its path once (docs/protocol.md 5.8): loopback host candidates
            // (the remote one peer-reflexive when its checks came before its candidate), over udp.
            const reports = await waitFor(async () => {
                const r = await iceReports(call.server);
                return r.total === size * (size - 1) && r;
            }, { timeout: 10000, what: `${size * (size - 1)} ICE path reports in /metrics` });
            for (const path of Object.keys(reports.paths))
                assert.match(path, /^host\/(host|prflx)\/udp$/, JSON.stringify(reports));
            assert.equal(reports.failures, 0);
            for (const p of people) {
                const reported = (await p.page.evaluate(() => window.__sent)).filter((m) => m.action === "report");
                assert.equal(reported.length, size - 1, `${p.name} reported each peer connection once`);
                for (const m of reported) {
                    assert.deepEqual(Object.keys(m).sort(), ["action", "ice", "local", "peer", "protocol", "remote", "roomId"]);
                    assert.ok(ids.includes(m.peer));
                }
            }

            if (size === 4) {
                await sleep(2500);   // one stats round, so the stats lines are filled in
                mkdirSync(artifactsDir, { recursive: true });
                await people[0].page.screenshot({ path: join(artifactsDir, "mesh-4-peers.png") });
            }
        });
    });
}
