// Two rooms on one server at the same time stay separate: each page sees only its own room.

import assert from "node:assert/strict";
import { test } from "node:test";
import { expectFullMesh, remoteIds, sleep, withCall } from "./lib/harness.js";

test("two rooms at once: two separate meshes, no tile crosses over", { timeout: 150000 }, async () => {
    await withCall("rooms", async (call) => {
        // Interleave the joins so that a mix-up would have every chance to show.
        const red = [], blue = [];
        for (const [room, list, name] of [["red", red, "Ada"], ["blue", blue, "Bob"], ["red", red, "Cleo"],
            ["blue", blue, "Dan"], ["blue", blue, "Eve"]])
            list.push(await call.join({ room, name }));

        const redIds = await expectFullMesh(red);
        const blueIds = await expectFullMesh(blue);
        await sleep(1000);   // anything misrouted would have arrived by now
        for (const p of red)
            assert.ok((await remoteIds(p)).every((id) => redIds.includes(id)), `${p.name} sees only room red`);
        for (const p of blue)
            assert.ok((await remoteIds(p)).every((id) => blueIds.includes(id)), `${p.name} sees only room blue`);
        assert.equal(await red[0].page.textContent("#room-label"), "room “red”");
    });
});
