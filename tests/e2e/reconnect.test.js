// The signaling server goes away mid-call and comes back on the same port: every page shows that
// it is reconnecting and in the end rejoins with a new clientId, and the call is set up again.
// Stopped (SIGTERM: close 1001) or killed (SIGKILL: no close frame), a page first tries to resume
// and keeps its clientId and its calls meanwhile (a stopping node of a cluster keeps its place
// for it, docs/cluster.md); this restarted single server knows no token, so the resume fails
// (resume-failed) and the page rejoins. With --resume-grace 0 (no resumeToken) it is handled as
// before the resume existed: peers dropped at once. tests/e2e/resume.test.js covers a resume that
// succeeds.

import assert from "node:assert/strict";
import { test } from "node:test";
import { expectFullMesh, remoteIds, startSignald, waitFor, withCall } from "./lib/harness.js";

const statusOf = (p) => p.page.evaluate(() => ({
    state: document.getElementById("status").dataset.state,
    text: document.getElementById("status-text").textContent,
    notice: document.getElementById("notice").hidden ? null : document.getElementById("notice-text").textContent,
    clientId: document.body.dataset.clientId ?? null,
    resuming: window.call.signaling.resuming,
    log: document.getElementById("log").textContent,
}));

const cases = [
    ["stopped (SIGTERM, close 1001)", "SIGTERM", []],
    ["killed (SIGKILL, no close frame)", "SIGKILL", []],
    ["killed (SIGKILL) with --resume-grace 0", "SIGKILL", ["--resume-grace", "0"]],
];
for (const [how, signal, args] of cases) {
    const resumes = args.length === 0;
    test(`signald ${how} and restarted on the same port: the call comes back`, { timeout: 150000 }, async () => {
        await withCall(`reconnect-${signal}${args.length ? "-no-resume" : ""}`, async (call) => {
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

            // Every page notices and says it is reconnecting. Holding a token, it keeps its peers
            // and its clientId while it tries to resume; without one it clears them.
            for (const [i, p] of people.entries()) {
                const others = oldIds.filter((_, k) => k !== i).sort();
                await waitFor(async () => {
                    const s = await statusOf(p);
                    if (!["reconnecting", "connecting"].includes(s.state) || !s.notice?.includes("Reconnecting"))
                        return false;
                    const remotes = await remoteIds(p);
                    if (!resumes)
                        return remotes.length === 0 && s.clientId === null && !s.resuming;
                    return JSON.stringify(remotes) === JSON.stringify(others) && s.clientId === oldIds[i] && s.resuming;
                }, { timeout: 10000, what: resumes ? `${p.name} to show it is reconnecting, resuming, with its clientId and peers kept`
                    : `${p.name} to show it is reconnecting with no peers` });
            }

            call.server = await startSignald({ port, args });
            // A resuming page still shows its old clientId (it may yet get its place back), so
            // wait for the new one before reading the mesh.
            for (const [i, p] of people.entries()) {
                await waitFor(async () => {
                    const s = await statusOf(p);
                    return s.state === "joined" && s.clientId !== null && s.clientId !== oldIds[i];
                }, { timeout: 30000, what: `${p.name} to join again with a new clientId` });
            }
            const newIds = await expectFullMesh(people, { timeout: 60000 });
            for (const id of newIds)
                assert.ok(!oldIds.includes(id), "a reconnected page is a new member with a new clientId");
            for (const p of people) {
                const s = await statusOf(p);
                assert.equal(s.state, "joined");
                assert.equal(s.notice, null, `${p.name}'s reconnecting notice is gone`);
                if (resumes)
                    assert.match(s.log, /resume refused \(resume-failed\)/, `${p.name} tried to resume and was refused`);
                else
                    assert.doesNotMatch(s.log, /resum/, `${p.name} never tried to resume`);
            }
        }, { serverArgs: args });
    });
}
