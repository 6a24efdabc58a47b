// TURN with the real thing: Debian's coturn runs on loopback with a static auth secret, signald
// hands out credentials made from the same secret (--turn-secret), and two pages with ?relay=1
// (relay candidates only) call each other through it, also when the caller's joined credential has
// expired (peer-joined brings a fresh one). With the wrong secret coturn refuses every allocation,
// so no relay candidate exists and the call never connects.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startCoturn } from "./lib/coturn.js";
import {
    artifactsDir, clientIdOf, expectFullMesh, expectNeverConnected, iceReports, iceState, snapshot, waitFor, waitForGathered,
    withCall,
} from "./lib/harness.js";

const secret = "e2e-static-auth-secret";

// Runs body with a fresh coturn; on failure keeps its log beside the other artifacts.
async function withCoturn(name, body)
{
    const turn = await startCoturn({ secret });
    try {
        await body(turn);
    } catch (err) {
        const dir = join(artifactsDir, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, "coturn.log"), turn.log());
        throw err;
    } finally {
        await turn.stop();
    }
}

// Each page's one peer connection runs over coturn: relay candidates only, a relay/relay selected
// pair on 127.0.0.1, credentials "<expiry>:<its own clientId>" that coturn granted an allocation
// to, and video that keeps decoding.
async function expectRelayedCall(people, ids, turn)
{
    for (const [index, p] of people.entries()) {
        let state = [];
        const relayed = await waitFor(async () => {
            state = await iceState(p);
            return state.length === 1 && state.every((s) => s.localType === "relay" && s.remoteType === "relay");
        }, { timeout: 10000, what: `${p.name}'s selected pair to be relay/relay` }).catch(() => false);
        assert.ok(relayed, `${p.name}: selected candidate pair is not relay at both ends: ${JSON.stringify(state)}`);
        const [s] = state;
        assert.equal(s.policy, "relay");
        assert.equal(s.connection, "connected");
        assert.deepEqual(s.localTypes, ["relay"], "only relay candidates were gathered");
        assert.equal(s.localAddress, "127.0.0.1", "the relay address is coturn's --relay-ip");
        assert.equal(s.turnUsernames.length, 1);
        assert.match(s.turnUsernames[0], new RegExp(`^\\d+:${ids[index]}$`));
        assert.ok(turn.log().includes(`user <${s.turnUsernames[0]}>: incoming packet ALLOCATE processed, success`),
            `coturn allocated nothing for ${s.turnUsernames[0]}:\n${turn.log().slice(-3000)}`);
    }
    for (const p of people) {
        const before = await snapshot(p);
        await waitFor(async () => {
            const now = await snapshot(p);
            return now.remotes[0].framesDecoded > before.remotes[0].framesDecoded + 10;
        }, { timeout: 10000, what: `${p.name}'s framesDecoded to grow by more than 10 over the relay` });
    }
}

test("two ?relay=1 pages call through coturn: relay candidates at both ends, video decodes", { timeout: 120000 }, async () => {
    await withCoturn("relay", async (turn) => {
        await withCall("relay", async (call) => {
            const people = [
                await call.join({ room: "relay", name: "Ada", query: { relay: "1" } }),
                await call.join({ room: "relay", name: "Grace", query: { relay: "1" } }),
            ];
            const ids = await expectFullMesh(people);
            await expectRelayedCall(people, ids, turn);
            // The operator sees that this call needed TURN: both ends reported relay/relay, and
            // the log says so for each pair.
            await waitFor(async () => (await iceReports(call.server)).paths["relay/relay/udp"] === 2,
                { timeout: 10000, what: "two relay/relay/udp reports in /metrics" });
            for (const [index, id] of ids.entries())
                assert.ok(call.server.stderr.includes(`${id} reports ICE path to ${ids[1 - index]} in relay: local relay, remote relay, udp`),
                    call.server.stderr.slice(-3000));
        }, { signaldArgs: ["--ice-server", turn.url, "--turn-secret", secret] });
    });
});

// Runs in the page before its scripts: keeps the TURN username of the last `joined` received.
function recordJoinedTurnUsername()
{
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args)
        {
            super(...args);
            this.addEventListener("message", (event) => {
                const msg = JSON.parse(event.data);
                if (msg.action === "joined")
                    window.__joinedTurnUsername = msg.iceServers?.find((s) => s.username)?.username;
            });
        }
    };
}

// The member calls the newcomer with the credential from its peer-joined: the one from its own
// joined has expired by then, and coturn would refuse it (401), leaving this call without a relay.
test("a member calls a newcomer through coturn after its own joined credential expired", { timeout: 120000 }, async () => {
    await withCoturn("relay-late-newcomer", async (turn) => {
        await withCall("relay-late-newcomer", async (call) => {
            const first = await call.join({ room: "relay", name: "Ada", query: { relay: "1" }, initScript: recordJoinedTurnUsername });
            await clientIdOf(first);
            const expiry = Number((await first.page.evaluate(() => window.__joinedTurnUsername)).split(":")[0]);
            await waitFor(() => Date.now() / 1000 > expiry + 1,
                { timeout: 15000, interval: 200, what: "Ada's joined credential to expire" });

            const second = await call.join({ room: "relay", name: "Grace", query: { relay: "1" } });
            const ids = await expectFullMesh([first, second]);
            await expectRelayedCall([first, second], ids, turn);
        // 8 s: the newcomer's own credential must still be good when it answers, even on a loaded
        // machine, while Ada's runs out within the test.
        }, { signaldArgs: ["--ice-server", turn.url, "--turn-secret", secret, "--turn-ttl", "8"] });
    });
});

test("with the wrong secret coturn refuses the allocation: no relay candidate, never connected", { timeout: 120000 }, async () => {
    await withCoturn("relay-wrong-secret", async (turn) => {
        await withCall("relay-wrong-secret", async (call) => {
            const people = [
                await call.join({ room: "relay", name: "Ada", query: { relay: "1" } }),
                await call.join({ room: "relay", name: "Grace", query: { relay: "1" } }),
            ];
            for (const p of people)
                await clientIdOf(p);

            // Both pages have their peer connection and have finished gathering: the TURN server
            // answered, and there was nothing to gather.
            await waitForGathered(people);
            // Each page asked coturn with the credential signald made for it, and was refused: 401
            // to that very username (the first, anonymous request of a session is refused too, as
            // always: that one carries no user).
            for (const p of people) {
                const [s] = await iceState(p);
                assert.equal(s.turnUsernames.length, 1, `${p.name} got no TURN credential`);
                const refusal = `user <${s.turnUsernames[0]}>: incoming packet message processed, error 401`;
                await waitFor(() => turn.log().includes(refusal),
                    { timeout: 10000, what: `coturn to refuse ${s.turnUsernames[0]} with 401` });
            }
            assert.ok(!/ALLOCATE processed, success/.test(turn.log()), "coturn granted an allocation");

            // For five more seconds, sampled: no relay candidate, no connection.
            await expectNeverConnected(people, {
                duration: 5000,
                check: (s, p) => {
                    assert.equal(s.policy, "relay");
                    assert.deepEqual(s.localTypes, [], `${p.name} gathered candidates: ${JSON.stringify(s)}`);
                },
            });
        }, { signaldArgs: ["--ice-server", turn.url, "--turn-secret", "not-the-secret"] });
    });
});
