// Media can start at any time. Members who join without camera still get connected; starting the
// camera later renegotiates (negotiationneeded + perfect negotiation), even when several people
// click at the same moment and their offers cross.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, expectPlaying, snapshot, waitFor, withCall } from "./lib/harness.js";

const noAutostart = { autostart: "" };

async function connectWithoutMedia(call, room, name)
{
    const p = await call.join({ room, name, query: noAutostart });
    await p.page.click("#connect");
    await clientIdOf(p);
    return p;
}

// Every peer connection of `p` reaches "connected" (ICE + DTLS up, even with nothing to send).
async function expectConnected(p, count)
{
    await waitFor(async () => {
        const s = await snapshot(p);
        return s.remotes.length === count && s.remotes.every((r) => r.connection === "connected");
    }, { timeout: 30000, what: `${p.name} to have ${count} connected peer connection(s)` });
}

test("a member who starts the camera after joining ends up sending and receiving", { timeout: 150000 }, async () => {
    await withCall("late-media-one", async (call) => {
        // Ada is first in the room and has no media; Grace arrives with camera and mic.
        const ada = await connectWithoutMedia(call, "late", "Ada");
        const grace = await call.join({ room: "late", name: "Grace" });
        await expectConnected(ada, 1);
        // Ada already receives Grace while sending nothing.
        await expectPlaying(ada, [await clientIdOf(grace)], { sending: false });
        assert.equal(await ada.page.evaluate(() => window.call.media.started), false);

        await ada.page.click("#start-media");
        await expectFullMesh([ada, grace]);
    });
});

test("three members start media at the same moment; colliding offers resolve", { timeout: 150000 }, async () => {
    await withCall("late-media-glare", async (call) => {
        const people = [];
        for (const name of ["Ada", "Grace", "Linus"])
            people.push(await connectWithoutMedia(call, "glare", name));
        for (const p of people)
            await expectConnected(p, 2);

        await Promise.all(people.map((p) => p.page.click("#start-media")));
        await expectFullMesh(people);

        const collisions = people.flatMap((p) => p.consoleLines.filter((l) => l.includes("offers collided")));
        console.log(`offer collisions seen (timing-dependent, informational): ${collisions.length}`);

        // Perfect negotiation kept one transceiver per kind: no m-lines were added by the glare.
        for (const p of people) {
            const kinds = await p.page.evaluate(() =>
                [...window.call.peers.values()].map((peer) => peer.pc.getTransceivers().map((t) => t.receiver.track.kind).join(",")));
            assert.deepEqual(new Set(kinds), new Set(["audio,video"]), `${p.name} transceivers: ${kinds}`);
        }
    });
});
