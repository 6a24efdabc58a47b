// A rolling restart of a two-node cluster ends no call. A real redis-server and two signald nodes
// (nodeA the leader, nodeB an edge) stand behind a load balancer written here: a TCP proxy on one
// port that spreads new connections over the live nodes round-robin and skips a node that
// refuses. Four pages load the call page through it and join one room, two on each node. Then
// each node in turn is stopped (SIGTERM: the leader hands its rooms over whole; the pages on the
// stopped node get close 1001 and resume through the proxy on the other node) and started again
// under the same --node-id on a new port. Throughout, every remote tile on every page keeps
// decoding frames, no clientId changes and nobody hears peer-left or peer-joined; at the end the
// same ids play the same full mesh.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
    expectFullMesh, launchBrowser, openParticipant, saveArtifacts, sleep, startServer, startSignald, waitFor,
} from "./lib/harness.js";
import { instrument, startSampler } from "./lib/call-watch.js";

// The longest a remote tile may go without a new frame. Media flows between the browsers, not
// through signald, so a stall could only come from the call being renegotiated or torn down; the
// margin over resume.test.js's 1 s is for four pages sharing two cores while nodes restart.
const max_stall_ms = 2000;
// How long the call runs untouched after each restart before the next node is stopped.
const hold_ms = 3000;

// ---- The load balancer ------------------------------------------------------------------------

// Listens on one port and forwards each new connection to one of the nodes (name -> port on
// 127.0.0.1), round-robin, trying the next one when a node refuses. WebSocket upgrades (the first
// bytes are `GET /ws `) and everything else (the page and its files) are counted round-robin
// apart, so the page loads, however many connections Chromium opens for them, do not decide which
// node each page's signaling lands on. links() tells which node each open WebSocket goes to.
function loadBalancer()
{
    const nodes = new Map();    // name -> port
    const links = new Set();    // { node, ws, client, upstream }
    const next = { ws: 0, http: 0 };
    const events = [];          // what it did, for the artifacts
    let server = null;
    const log = (line) => events.push(`${new Date().toISOString()} ${line}`);

    const forward = (client, first) => {
        const kind = first.toString("latin1").startsWith("GET /ws ") ? "ws" : "http";
        const names = [...nodes.keys()];
        const start = next[kind]++;
        const attempt = (tries) => {
            if (tries >= names.length) {
                log(`${kind}: every node refused; resetting the client`);
                client.resetAndDestroy();
                return;
            }
            const name = names[(start + tries) % names.length];
            const port = nodes.get(name);
            const upstream = net.connect({ host: "127.0.0.1", port });
            upstream.once("error", (err) => {
                log(`${kind}: ${name} (port ${port}) refused: ${err.code ?? err.message}`);
                upstream.destroy();
                if (!client.destroyed)
                    attempt(tries + 1);
            });
            upstream.once("connect", () => {
                upstream.removeAllListeners("error");
                if (kind === "ws")
                    log(`ws: to ${name} (port ${port})`);
                const link = { node: name, ws: kind === "ws", client, upstream };
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
                upstream.write(first);
                client.pipe(upstream);
                upstream.pipe(client);
                client.resume();
            });
        };
        attempt(0);
    };

    return {
        events,
        // Adds a node, or points its name at the port it listens on now.
        setNode(name, port)
        {
            nodes.set(name, port);
            log(`node ${name} is on port ${port}`);
        },
        async listen()
        {
            server = net.createServer((client) => {
                client.on("error", () => {});
                // Nothing goes upstream before the first bytes say what this connection is.
                client.once("data", (first) => {
                    client.pause();
                    forward(client, first);
                });
            });
            await new Promise((resolve, reject) => {
                server.once("error", reject);
                server.listen(0, "127.0.0.1", resolve);
            });
            return server.address().port;
        },
        // How many open WebSocket connections go to each node.
        wsPerNode()
        {
            const count = {};
            for (const link of links)
                if (link.ws)
                    count[link.node] = (count[link.node] ?? 0) + 1;
            return count;
        },
        async close()
        {
            for (const link of [...links]) {
                link.client.destroy();
                link.upstream.destroy();
            }
            if (server)
                await new Promise((r) => server.close(r));
        },
    };
}

// ---- Redis and the nodes ----------------------------------------------------------------------

async function startRedis(dir)
{
    const socket = join(dir, "redis.sock");
    const redis = await startServer({
        name: "redis-server",
        program: "redis-server",
        args: ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "",
            "--appendonly", "no", "--dir", dir, "--daemonize", "no"],
        ready: (output) => /ready to accept connections/i.test(output),
    });
    redis.url = `unix://${socket}`;
    return redis;
}

// Starts one node on a port of its own and waits until it knows the leader (the first node
// started alone leads at once; a later one names the leader it follows).
async function startNode(redis, nodeId)
{
    const node = await startSignald({ args: ["--redis", redis.url, "--node-id", nodeId, "--node-timeout", "2"] });
    node.nodeId = nodeId;
    try {
        await waitFor(() => node.stderr.includes("cluster: the leader is "),
            { timeout: 10000, interval: 50, what: `${nodeId} to name the leader` });
    } catch (err) {
        await node.stop();
        err.message += `\n${nodeId} stderr:\n${node.stderr.slice(-2000)}`;
        throw err;
    }
    return node;
}

// SIGTERM by PID; a draining node exits within a few seconds (the hand-over waits at most 2 s
// for the other nodes). Resolves with how it exited.
async function stopNode(node)
{
    node.child.kill("SIGTERM");
    const exit = await Promise.race([node.exitedPromise, sleep(10000).then(() => null)]);
    if (exit === null) {
        node.child.kill("SIGKILL");
        await node.exitedPromise;
        throw new Error(`${node.nodeId} did not exit within 10 s of SIGTERM`);
    }
    return exit;
}

const probe = (p) => p.page.evaluate(() => ({
    clientId: document.body.dataset.clientId ?? null,
    connection: document.body.dataset.connection,
    resuming: window.call.signaling.resuming,
    sockets: window.__callWatch.sockets.length,
    lastCode: window.__callWatch.sockets.at(-1)?.code ?? null,
    suspendedTiles: [...document.querySelectorAll("#remote-videos [data-tile-for]")]
        .filter((f) => f.dataset.suspended === "true").map((f) => f.dataset.tileFor),
}));

const socketsOf = (p) => p.page.evaluate(() => window.__callWatch.sockets);

// The page's resume messages say exactly how many messages the previous socket received after
// the `joined`/`resumed` that gave it its token. Returns how many resumes there were.
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

// ---- The test ---------------------------------------------------------------------------------

test("rolling restart of both nodes behind a load balancer: the four-party call does not notice",
    { timeout: 180000 }, async (t) => {
        const dir = mkdtempSync(join(tmpdir(), "signald-cluster-e2e-"));
        const call = { participants: [], server: { stderr: "" } };
        const nodeLogs = {};    // file name -> the stderr of every node process, also stopped ones
        const nodes = {};       // nodeId -> the running process
        let redis = null;
        let browser = null;
        const lb = loadBalancer();
        let generation = 0;
        const start = async (nodeId) => {
            const node = await startNode(redis, nodeId);
            node.logName = `${nodeId}-${++generation}.log`;
            nodes[nodeId] = node;
            lb.setNode(nodeId, node.port);
            return node;
        };
        try {
            redis = await startRedis(dir);
            await start("nodeA");
            assert.match(nodes.nodeA.stderr, /cluster: the leader is nodeA /, "nodeA, started alone, leads");
            await start("nodeB");
            assert.match(nodes.nodeB.stderr, /cluster: the leader is nodeA /, "nodeB follows nodeA");
            const origin = `http://127.0.0.1:${await lb.listen()}`;

            browser = await launchBrowser();
            const people = [];
            for (const name of ["Ada", "Grace", "Linus", "Hedy"]) {
                const p = await openParticipant(browser, origin, { room: "cluster", name, initScript: instrument });
                call.participants.push(p);
                people.push(p);
            }
            const ids = await expectFullMesh(people, { timeout: 60000 });
            for (const p of people) {
                assert.equal(await p.page.evaluate(() => window.call.signaling.url), `${origin.replace("http", "ws")}/ws`,
                    `${p.name}'s signaling goes through the load balancer`);
            }
            assert.deepEqual(lb.wsPerNode(), { nodeA: 2, nodeB: 2 }, "two pages on each node");
            const meshAt = Date.now();
            const connections = [];
            for (const p of people) {
                await p.page.evaluate(startSampler);
                connections.push(await p.page.evaluate(() => [window.__callWatch.created, window.__callWatch.closed]));
            }
            t.diagnostic(`mesh up; clientIds ${ids.join(", ")}`);

            // nodeA (the leader) first, then nodeB (the leader by then: nodeA handed it the rooms).
            for (const nodeId of ["nodeA", "nodeB"]) {
                const old = nodes[nodeId];
                const other = nodeId === "nodeA" ? "nodeB" : "nodeA";
                const onIt = lb.wsPerNode()[nodeId] ?? 0;
                assert.ok(onIt > 0, `some page is on ${nodeId}`);
                const before = await Promise.all(people.map(probe));
                const stoppedAt = Date.now();
                const exit = await stopNode(old);
                nodeLogs[old.logName] = old.stderr;
                t.diagnostic(`${nodeId} stopped in ${Date.now() - stoppedAt} ms (${JSON.stringify(exit)})`);
                assert.equal(exit.code, 0, `${nodeId} exits cleanly: ${old.stderr.slice(-1500)}`);
                assert.match(old.stderr, new RegExp(`cluster: handed \\d+ rooms over to ${other}`),
                    `${nodeId} hands the rooms over to ${other}`);

                // The pages it served got 1001 and resume on the other node, through the proxy.
                const lostSocket = async () => {
                    const moved = [];
                    for (const [i, p] of people.entries()) {
                        const now = await probe(p);
                        if (now.sockets > before[i].sockets || now.lastCode !== null)
                            moved.push(p);
                    }
                    return moved;
                };
                await waitFor(async () => (await lostSocket()).length >= onIt,
                    { timeout: 5000, interval: 50, what: `the ${onIt} pages on ${nodeId} to lose their socket` });
                const moved = await lostSocket();
                assert.equal(moved.length, onIt, `only the ${onIt} pages on ${nodeId} lost their socket`);
                for (const p of people) {
                    await waitFor(async () => {
                        const s = await probe(p);
                        return s.connection === "joined" && !s.resuming && s.suspendedTiles.length === 0;
                    }, { timeout: 15000, interval: 100, what: `${p.name} to be joined with nobody suspended` });
                }
                assert.deepEqual(lb.wsPerNode(), { [other]: 4 }, `every page on ${other}`);
                for (const p of moved) {
                    const sockets = await socketsOf(p);
                    const broke = sockets.find((s) => s.closedAt !== null && s.closedAt >= stoppedAt);
                    assert.equal(broke?.code, 1001, `${p.name}'s socket on ${nodeId} closed with 1001`);
                    t.diagnostic(`${p.name} resumed ${sockets.at(-1).createdAt - broke.closedAt} ms after its 1001`);
                }

                // It comes back under the same id, on a new port.
                await start(nodeId);
                assert.notEqual(nodes[nodeId].port, old.port);
                assert.match(nodes[nodeId].stderr, new RegExp(`cluster: the leader is ${other} `),
                    `${nodeId} comes back and follows ${other}`);
                await sleep(hold_ms);
            }

            assert.deepEqual(await expectFullMesh(people, { timeout: 30000 }), ids, "the same clientIds play the same mesh");

            // Every check over the whole time.
            for (const p of people) {
                const stats = await p.page.evaluate(() => {
                    const t = window.__callWatch;
                    clearInterval(t.sampler);
                    return { maxGap: t.maxGap, maxGapEnd: t.maxGapEnd, clientIds: t.clientIds,
                        created: t.created, closed: t.closed };
                });
                const i = people.indexOf(p);
                assert.deepEqual(stats.clientIds, [ids[i]], `${p.name}'s clientId never changed or disappeared`);
                assert.deepEqual([stats.created, stats.closed], connections[i],
                    `${p.name}: no peer connection created or closed since the mesh was up`);
                assert.equal(Object.keys(stats.maxGap).length, 3, `${p.name} sampled all three remote tiles`);
                t.diagnostic(`${p.name}: longest time a remote tile stood still: ` +
                    Object.values(stats.maxGap).map((g) => `${Math.round(g)} ms`).join(", "));
                for (const [peerId, gap] of Object.entries(stats.maxGap)) {
                    assert.ok(gap <= max_stall_ms, `${p.name}'s tile of ${peerId} stood still for ${Math.round(gap)} ms ` +
                        `(until ${new Date(stats.maxGapEnd[peerId]).toISOString()})`);
                }

                const sockets = await socketsOf(p);
                const heard = sockets.flatMap((s) => s.received).filter((r) => r.at >= meshAt);
                const membership = heard.filter((r) => ["peer-left", "peer-joined", "joined"].includes(r.msg.action));
                assert.deepEqual(membership, [], `${p.name} heard no member come or go`);
                assert.ok(checkResumeCounts(p.name, sockets) >= 1, `${p.name} resumed at least once`);
                // A resume that reached a node while the rooms were moving is answered
                // `unavailable`; the page tries again (web/js/signaling.js).
                const unavailable = heard.filter((r) => r.msg.action === "error" && r.msg.code === "unavailable").length;
                if (unavailable)
                    t.diagnostic(`${p.name}: ${unavailable} resume(s) answered unavailable and tried again`);
                // How each socket ended: 1001 (its node stopped), 1012 (a node that took the
                // connection while the rooms moved restarts it), closed by the page after
                // `unavailable`, or closed by the page when a resume got no answer in 5 s (a
                // resume that reached the old leader just as it handed the rooms over; the page
                // tries again: docs/cluster.md section 7 names this race). Each is a cue to
                // resume; nothing else happened.
                const unavailableOn = (s) => s.received.some((r) => r.msg.action === "error" && r.msg.code === "unavailable");
                const unanswered = (s) => s.code === 1000 && s.sent.some((r) => r.msg.action === "resume") &&
                    !s.received.length && s.closedAt - s.createdAt >= 4500;
                const ends = sockets.filter((s) => s.closedAt !== null)
                    .map((s) => (unavailableOn(s) ? `unavailable/${s.code}` : unanswered(s) ? `unanswered/${s.code}` : String(s.code)));
                t.diagnostic(`${p.name}: sockets ended ${ends.join(", ")}`);
                for (const s of sockets.filter((x) => x.closedAt !== null)) {
                    assert.ok([1001, 1012].includes(s.code) || unavailableOn(s) || unanswered(s),
                        `${p.name}'s sockets end with 1001, 1012, after unavailable or an unanswered resume: ${ends.join(", ")}`);
                }
            }
            for (const p of people)
                assert.deepEqual(p.errors, [], `${p.name}: no uncaught page error`);
        } catch (err) {
            for (const node of Object.values(nodes))
                nodeLogs[node.logName] = node.stderr;
            call.server.stderr = Object.entries(nodeLogs).map(([f, s]) => `==== ${f}\n${s}`).join("\n");
            await saveArtifacts("cluster", call,
                { ...nodeLogs, "redis.log": redis?.log() ?? "", "load-balancer.log": lb.events.join("\n") }).catch(() => {});
            throw err;
        } finally {
            await browser?.close().catch(() => {});
            await lb.close();
            for (const node of Object.values(nodes))
                await node.stop();
            await redis?.stop();
            rmSync(dir, { recursive: true, force: true });
        }
    });
