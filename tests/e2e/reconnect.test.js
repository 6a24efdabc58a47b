// The signaling server goes away mid-call and comes back on the same port: every page shows that
// it is reconnecting, drops its peers, rejoins with a new clientId, and the call is set up again.

import assert from "node:assert/strict";
import { test } from "node:test";
import { expectFullMesh, remoteIds, startSignald, waitFor, withCall } from "./lib/harness.js";

const statusOf = (p) => p.page.evaluate(() => ({
    state: document.getElementById("status").dataset.state,
    text: document.getElementById("status-text").textContent,
    notice: document.getElementById("notice").hidden ? null : document.getElementById("notice-text").textContent,
}));

for (const [how, signal] of [["stopped (SIGTERM, close 1001)", "SIGTERM"], ["killed (SIGKILL, no close frame)", "SIGKILL"]]) {
    test(`signald ${how} and restarted on the same port: the call comes back`, { timeout: 150000 }, async () => {
        await withCall(`reconnect-${signal}`, async (call) => {
            const people = [];
            for (const name of ["Ada", "Grace", "Linus"])
                people.push(await call.join({ room: "reconnect", name }));
            const oldIds = await expectFullMesh(people);
            const { port } = call.server;

            if (signal === "SIGTERM") {
                await call.server.stop();
            } else {
                call.server.child.kill("SIGKILL");
                await call.server.exitedPromise;
            }

            // Every page notices, clears its peers and says it is reconnecting.
            for (const p of people) {
                await waitFor(async () => {
                    const s = await statusOf(p);
                    return ["reconnecting", "connecting"].includes(s.state) && s.notice?.includes("Reconnecting") &&
                        (await remoteIds(p)).length === 0;
                }, { timeout: 10000, what: `${p.name} to show it is reconnecting with no peers` });
            }

            call.server = await startSignald({ port });
            const newIds = await expectFullMesh(people, { timeout: 60000 });
            for (const id of newIds)
                assert.ok(!oldIds.includes(id), "a reconnected page is a new member with a new clientId");
            for (const p of people) {
                const s = await statusOf(p);
                assert.equal(s.state, "joined");
                assert.equal(s.notice, null, `${p.name}'s reconnecting notice is gone`);
            }
        });
    });
}
