// People leave and arrive mid-call: a closed tab or "Hang up all" disappears from everyone else's
// grid within 5 s, and a newcomer is connected to everyone again.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, remoteIds, waitFor, withCall } from "./lib/harness.js";

async function expectTileGone(people, goneId, withinMs)
{
    const started = Date.now();
    for (const p of people) {
        await waitFor(async () => !(await remoteIds(p)).includes(goneId), {
            timeout: Math.max(0, withinMs - (Date.now() - started)) + 1, interval: 100,
            what: `${p.name} to drop the tile of ${goneId}`,
        });
    }
    return Date.now() - started;
}

test("a closed page leaves every grid within 5 s, and a newcomer joins the full mesh", { timeout: 150000 }, async () => {
    await withCall("leave-close", async (call) => {
        const ada = await call.join({ room: "leave", name: "Ada" });
        const grace = await call.join({ room: "leave", name: "Grace" });
        const linus = await call.join({ room: "leave", name: "Linus" });
        await expectFullMesh([ada, grace, linus]);

        const linusId = await clientIdOf(linus);
        await linus.page.close();
        const took = await expectTileGone([ada, grace], linusId, 5000);
        console.log(`closed page's tile removed everywhere after ${took} ms`);
        assert.equal(await ada.page.evaluate(() => window.call.peers.size), 1, "its peer connection is closed too");

        const margaret = await call.join({ room: "leave", name: "Margaret" });
        await expectFullMesh([ada, grace, margaret]);
    });
});

test("Hang up all leaves the call: others drop the tile, own media and tiles are gone", { timeout: 150000 }, async () => {
    await withCall("leave-hangup", async (call) => {
        const ada = await call.join({ room: "hangup", name: "Ada" });
        const grace = await call.join({ room: "hangup", name: "Grace" });
        const linus = await call.join({ room: "hangup", name: "Linus" });
        await expectFullMesh([ada, grace, linus]);

        const graceId = await clientIdOf(grace);
        await grace.page.click("#hangup");
        await expectTileGone([ada, linus], graceId, 5000);

        const after = await grace.page.evaluate(() => ({
            tiles: document.querySelectorAll("#remote-videos video").length,
            clientId: document.body.dataset.clientId ?? null,
            liveTracks: [window.call.media.mic, window.call.media.camera].filter((t) => t && t.readyState === "live").length,
            connectEnabled: !document.querySelector("#connect").disabled,
        }));
        assert.deepEqual(after, { tiles: 0, clientId: null, liveTracks: 0, connectEnabled: true });

        // The two who stayed are still in a working call with each other.
        await expectFullMesh([ada, linus]);

        // Grace can come back with Connect and Start media.
        await grace.page.click("#connect");
        await grace.page.click("#start-media");
        await expectFullMesh([ada, grace, linus]);
    });
});
