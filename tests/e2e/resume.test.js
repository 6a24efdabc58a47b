// A signaling blip is invisible to the call. Three pages reach signald through a TCP proxy written
// here (one listening port per page, so one page's connections can be cut alone). The proxy cuts
// connections abruptly (TCP reset both ways, no close frame) and refuses new ones for a while;
// the pages resume their memberships, and throughout every remote tile keeps decoding frames, no
// clientId changes, nobody hears peer-left or peer-joined, no RTCPeerConnection is created or
// closed, and an ICE restart started while the proxy refuses completes once signaling is back.
// Then a newcomer sees a suspended member marked and is called by it once it is back, and last,
// a connection that takes a membership over (close 4001) stops that page for good.

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, openParticipant, sleep, waitFor, withCall } from "./lib/harness.js";
import { instrument, startSampler } from "./lib/call-watch.js";

// How long the proxy refuses every connection in the big cut (the 5 s), and the longest
// a remote tile may go without a new frame.
const refuse_ms = 5000;
const max_stall_ms = 1000;

// ---- The proxy --------------------------------------------------------------------------------

// Forwards each port it listens on to signald on 127.0.0.1:targetPort. cut(port) resets every
// connection through that port (or through all) on both sides; refuse(on, port) makes it accept
// and reset at once every new connection.
function tcpProxy(targetPort)
{
    const servers = new Map();    // port -> net.Server
    const links = new Set();      // { port, client, upstream }
    const refusing = new Set();   // ports
    const reset = (socket) => {
        if (!socket.destroyed)
            socket.resetAndDestroy();
    };
    return {
        async listen()
        {
            let port = 0;
            const server = net.createServer((client) => {
                if (refusing.has(port)) {
                    client.on("error", () => {});
                    reset(client);
                    return;
                }
                const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
                const link = { port, client, upstream };
                links.add(link);
                const end = () => {
                    links.delete(link);
                    client.destroy();
                    upstream.destroy();
                };
                for (const socket of [client, upstream]) {
                    socket.on("error", end);
                    socket.on("close", end);
                }
                client.pipe(upstream);
                upstream.pipe(client);
            });
            await new Promise((resolve, reject) => {
                server.once("error", reject);
                server.listen(0, "127.0.0.1", resolve);
            });
            port = server.address().port;
            servers.set(port, server);
            return port;
        },
        cut(port = null)
        {
            let count = 0;
            for (const link of [...links]) {
                if (port !== null && link.port !== port)
                    continue;
                links.delete(link);
                reset(link.client);
                reset(link.upstream);
                count += 1;
            }
            return count;
        },
        refuse(on, port = null)
        {
            for (const p of port === null ? servers.keys() : [port]) {
                if (on)
                    refusing.add(p);
                else
                    refusing.delete(p);
            }
        },
        async close()
        {
            this.cut();
            await Promise.all([...servers.values()].map((s) => new Promise((r) => s.close(r))));
        },
    };
}

const probe = (p) => p.page.evaluate(() => {
    const t = window.__callWatch;
    return {
        at: Date.now(),
        created: t.created,
        closed: t.closed,
        clientId: document.body.dataset.clientId ?? null,
        connection: document.body.dataset.connection,
        resuming: window.call.signaling.resuming,
        suspendedTiles: [...document.querySelectorAll("#remote-videos [data-tile-for]")]
            .filter((f) => f.dataset.suspended === "true")
            .map((f) => ({ id: f.dataset.tileFor, text: f.querySelector(".tile-suspended").textContent,
                visible: f.querySelector(".tile-suspended").checkVisibility() })),
        tiles: [...document.querySelectorAll("#remote-videos video[data-peer-id]")].map((v) => v.dataset.peerId).sort(),
    };
});

const socketsOf = (p) => p.page.evaluate(() => window.__callWatch.sockets);

// Ada's connection to Grace: its signaling state and the ICE ufrags on both ends.
const negotiation = (p, peerId) => p.page.evaluate((id) => {
    const { pc } = window.call.peers.get(id);
    const ufrag = (d) => (d ? /a=ice-ufrag:(\S+)/.exec(d.sdp)?.[1] ?? null : null);
    return { state: pc.signalingState, local: ufrag(pc.localDescription), remote: ufrag(pc.remoteDescription) };
}, peerId);

// The page's resume messages say exactly how many messages the previous socket received after
// the `joined`/`resumed` that gave it its token.
function checkResumeCounts(name, sockets)
{
    let previous = null;
    let resumes = 0;
    for (const socket of sockets) {
        const first = socket.sent[0]?.msg;
        if (first?.action === "resume") {
            assert.ok(previous, `${name}: a resume needs an earlier membership`);
            const since = previous.received.findLastIndex((r) => ["joined", "resumed"].includes(r.msg.action));
            assert.equal(first.received, previous.received.length - since - 1,
                `${name}: resume.received counts the messages after ${previous.received[since].msg.action}`);
            resumes += 1;
        }
        if (socket.received.some((r) => ["joined", "resumed"].includes(r.msg.action)))
            previous = socket;
    }
    return resumes;
}

test("signaling cut and refused for 5 s: the three-party call does not notice", { timeout: 120000 }, async (t) => {
    await withCall("resume", async (call) => {
        const proxy = tcpProxy(call.server.port);
        try {
            const people = [];
            for (const name of ["Ada", "Grace", "Linus"]) {
                const port = await proxy.listen();
                const p = await openParticipant(call.browser, `http://127.0.0.1:${port}`,
                    { room: "resume", name, initScript: instrument });
                p.port = port;
                call.participants.push(p);
                people.push(p);
            }
            const [ada, grace, linus] = people;
            const ids = await expectFullMesh(people);
            const [, graceId, linusId] = ids;
            for (const p of people) {
                assert.equal(await p.page.evaluate(() => window.call.signaling.url), `ws://127.0.0.1:${p.port}/ws`,
                    `${p.name}'s signaling goes through the proxy`);
            }
            const baseline = [];
            for (const p of people) {
                await p.page.evaluate(startSampler);
                baseline.push(await probe(p));
            }
            for (const b of baseline)
                assert.deepEqual([b.created, b.closed], [2, 0], "two peer connections each, none closed");

            // One member's socket breaks: the others keep its tile, marked, until it is back.
            proxy.refuse(true, linus.port);
            assert.ok(proxy.cut(linus.port) >= 1, "Linus's signaling connection was cut");
            for (const p of [ada, grace]) {
                await waitFor(async () => {
                    const s = await probe(p);
                    return s.suspendedTiles.length === 1 && s.suspendedTiles[0].id === linusId &&
                        s.suspendedTiles[0].text === "reconnecting…" && s.suspendedTiles[0].visible;
                }, { timeout: 10000, interval: 100, what: `${p.name} to mark Linus's tile "reconnecting…"` });
            }
            const linusGap = await probe(linus);
            assert.equal(linusGap.connection, "reconnecting");
            assert.equal(linusGap.clientId, linusId, "Linus keeps his clientId while reconnecting");
            assert.equal(linusGap.resuming, true);
            proxy.refuse(false, linus.port);
            for (const p of people) {
                await waitFor(async () => {
                    const s = await probe(p);
                    return s.connection === "joined" && s.suspendedTiles.length === 0;
                }, { timeout: 10000, interval: 100, what: `${p.name} to be joined with no tile marked` });
            }

            // Every connection cut, every new one refused for 5 s.
            proxy.refuse(true);
            const cutAt = Date.now();
            assert.ok(proxy.cut() >= 3, "every signaling connection was cut");
            for (const p of people) {
                await waitFor(async () => (await probe(p)).resuming, { timeout: 5000, interval: 50,
                    what: `${p.name} to notice the cut` });
            }

            // An ICE restart while signaling is down: Ada's offer is made and waits for the socket.
            const before = await negotiation(ada, graceId);
            assert.equal(before.state, "stable");
            await ada.page.evaluate((id) => window.call.peers.get(id).restartIce(), graceId);
            await waitFor(async () => {
                const n = await negotiation(ada, graceId);
                return n.state === "have-local-offer" && n.local !== before.local;
            }, { timeout: 5000, interval: 50, what: "Ada's ICE-restart offer to be made" });
            const gapSockets = await socketsOf(ada);
            assert.ok(!gapSockets.some((s) => s.sent.some((e) => e.at >= cutAt && e.msg.type === "offer")),
                "the offer is not sent while signaling is down");

            await sleep(Math.max(0, cutAt + refuse_ms - Date.now()));
            for (const p of people) {
                const s = await probe(p);
                assert.equal(s.resuming, true, `${p.name} is still resuming when the proxy lets connections through`);
                assert.equal(s.tiles.length, 2, `${p.name} keeps both tiles through the gap`);
            }
            proxy.refuse(false);
            const openedAt = Date.now();

            for (const p of people) {
                await waitFor(async () => {
                    const s = await probe(p);
                    return s.connection === "joined" && !s.resuming && s.suspendedTiles.length === 0;
                }, { timeout: 15000, interval: 100, what: `${p.name} to resume and see nobody suspended` });
            }
            await waitFor(async () => {
                const n = await negotiation(ada, graceId);
                return n.state === "stable" && n.local !== before.local && n.remote !== before.remote;
            }, { timeout: 15000, interval: 100, what: "the ICE restart to complete (stable, new ufrags at both ends)" });
            assert.deepEqual(await expectFullMesh(people, { timeout: 20000 }), ids, "the same clientIds play the same mesh");

            // Every check over the whole time.
            for (const [i, p] of people.entries()) {
                const stats = await p.page.evaluate(() => {
                    const t = window.__callWatch;
                    clearInterval(t.sampler);
                    return { maxGap: t.maxGap, clientIds: t.clientIds, created: t.created, closed: t.closed };
                });
                assert.deepEqual(stats.clientIds, [ids[i]], `${p.name}'s clientId never changed or disappeared`);
                assert.deepEqual([stats.created, stats.closed], [2, 0], `${p.name}: no peer connection created or closed`);
                assert.equal(Object.keys(stats.maxGap).length, 2, `${p.name} sampled both remote tiles`);
                t.diagnostic(`${p.name}: longest time a remote tile stood still: ` +
                    Object.values(stats.maxGap).map((g) => `${Math.round(g)} ms`).join(", "));
                for (const [peerId, gap] of Object.entries(stats.maxGap))
                    assert.ok(gap <= max_stall_ms, `${p.name}'s tile of ${peerId} stood still for ${Math.round(gap)} ms`);

                // Nothing about members coming or going since the mesh was up: not to us, not as
                // a new member (joined).
                const sockets = await socketsOf(p);
                const heard = sockets.flatMap((s) => s.received).filter((r) => r.at >= baseline[i].at);
                const membership = heard.filter((r) => ["peer-left", "peer-joined", "joined"].includes(r.msg.action));
                assert.deepEqual(membership, [], `${p.name} heard no member come or go`);
                assert.ok(heard.some((r) => r.msg.action === "resumed"), `${p.name} heard resumed`);

                // How it came back: the first attempt within 1 s of each cut, then no more often
                // than every 3 s, each new connection's first message a resume with the right count.
                assert.ok(checkResumeCounts(p.name, sockets) >= (p === linus ? 2 : 1), `${p.name} resumed`);
                const attempts = sockets.filter((s) => s.createdAt >= cutAt).map((s) => s.createdAt);
                const broke = sockets.find((s) => s.closedAt !== null && s.closedAt >= cutAt - 100);
                assert.equal(broke.code, 1006, `${p.name}'s socket broke without a close frame`);
                assert.ok(attempts[0] - broke.closedAt <= 1000, `${p.name} first tried ${attempts[0] - broke.closedAt} ms after the cut`);
                for (let k = 1; k < attempts.length; ++k)
                    assert.ok(attempts[k] - attempts[k - 1] >= 3000, `${p.name}'s attempts ${k - 1} and ${k} ${attempts[k] - attempts[k - 1]} ms apart`);
                t.diagnostic(`${p.name}: attempts ${attempts.map((a) => a - broke.closedAt).join(", ")} ms after the cut`);
                assert.ok(attempts.at(-1) - openedAt <= 5000, `${p.name} came back within 5 s of the proxy opening`);
            }

            // The ICE restart went over the resumed signaling: Ada's offer left on the new socket
            // after `resumed`, and Grace's answer came back on it.
            const adaSockets = await socketsOf(ada);
            const resumedSocket = adaSockets.find((s) => s.createdAt >= cutAt && s.received[0]?.msg.action === "resumed");
            assert.ok(resumedSocket, "Ada resumed after the big cut");
            assert.ok(resumedSocket.sent.some((e) => e.msg.type === "offer" && e.msg.to === graceId), "the offer went out after resumed");
            assert.ok(resumedSocket.received.some((r) => r.msg.type === "answer" && r.msg.from === graceId), "Grace's answer came back");

            // A newcomer while Linus is away: `joined` lists him as suspended, her tile for him says
            // so, and he calls her once he is back (his replay brings her peer-joined).
            proxy.refuse(true, linus.port);
            assert.ok(proxy.cut(linus.port) >= 1);
            await waitFor(async () => (await probe(ada)).suspendedTiles.length === 1,
                { timeout: 10000, interval: 100, what: "Ada to mark Linus's tile again" });
            const hedy = await openParticipant(call.browser, `http://127.0.0.1:${await proxy.listen()}`,
                { room: "resume", name: "Hedy", initScript: instrument });
            call.participants.push(hedy);
            await waitFor(async () => {
                const s = await probe(hedy);
                return s.tiles.length === 3 && s.suspendedTiles.length === 1 && s.suspendedTiles[0].id === linusId &&
                    s.suspendedTiles[0].text === "reconnecting…" && s.suspendedTiles[0].visible;
            }, { timeout: 15000, interval: 100, what: "Hedy to show Linus's tile marked \"reconnecting…\"" });
            const hedyJoined = (await socketsOf(hedy))[0].received.find((r) => r.msg.action === "joined").msg;
            // A suspended member keeps its presence state (protocol.md 5.7): Hedy sees Linus as he left it.
            assert.deepEqual(hedyJoined.peers.find((m) => m.clientId === linusId), {
                clientId: linusId, name: "Linus", suspended: true,
                state: { muted: false, video: true, sharing: false, hand: false, name: "Linus" },
            });
            proxy.refuse(false, linus.port);
            const hedyId = await clientIdOf(hedy);
            assert.deepEqual(await expectFullMesh([ada, grace, linus, hedy], { timeout: 30000 }), [...ids, hedyId]);
            assert.deepEqual((await probe(hedy)).suspendedTiles, [], "Hedy's mark on Linus is gone");

            // Takeover: another connection presents Linus's current token (as the successor of a
            // half-open connection would). The server closes Linus's socket with 4001; his page
            // says the call continued elsewhere and does not reconnect.
            const takeover = await linus.page.evaluate(() => {
                const sockets = window.__callWatch.sockets;
                const isToken = (r) => ["joined", "resumed"].includes(r.msg.action);
                const socket = sockets.findLast((s) => s.received.some(isToken));
                const k = socket.received.findLastIndex(isToken);
                return { token: socket.received[k].msg.resumeToken, received: socket.received.length - k - 1,
                    sockets: sockets.length };
            });
            const other = await call.browser.newPage();
            await other.goto(`${call.server.origin}/favicon.svg`);
            const answer = await other.evaluate(({ url, token, received }) => new Promise((resolve, reject) => {
                const ws = new WebSocket(url);
                window.takeover = ws;
                ws.onopen = () => ws.send(JSON.stringify({ action: "resume", token, received }));
                ws.onmessage = (e) => resolve(JSON.parse(e.data));
                ws.onclose = (e) => reject(new Error(`closed ${e.code}`));
            }), { url: `ws://127.0.0.1:${call.server.port}/ws`, ...takeover });
            assert.equal(answer.action, "resumed");
            assert.equal(answer.clientId, linusId);
            await waitFor(async () => {
                const s = await linus.page.evaluate(() => ({
                    active: window.call.signaling.active,
                    notice: document.getElementById("notice").hidden ? null : document.getElementById("notice-text").textContent,
                    code: window.__callWatch.sockets.at(-1).code,
                }));
                return !s.active && s.code === 4001 && s.notice?.includes("continued elsewhere");
            }, { timeout: 5000, interval: 100, what: "Linus's page to say the call continued elsewhere" });
            // Longer than the first resume attempt may take (1 s): no attempt comes.
            await sleep(1500);
            assert.equal(await linus.page.evaluate(() => window.__callWatch.sockets.length), takeover.sockets,
                "no reconnect after 4001");
            await other.close();
        } finally {
            await proxy.close();
        }
    });
});
