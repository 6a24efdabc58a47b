// Shared helpers for the browser tests: start the real signald, launch Debian's Chromium with a
// fake camera and microphone, open participants, and wait (always with a deadline) for the call
// to reach a state. Every test starts its own signald and its own browser.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// playwright-core only drives a browser: it never downloads one. scripts/setup installs it with
// `npm ci` from the committed lockfile.
const { chromium } = await import("playwright-core").catch(() => {
    throw new Error("playwright-core is not installed: run scripts/setup (it runs `npm ci` in tests/e2e)");
});

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");

// Set by tests/e2e/CMakeLists.txt; the fallbacks are for running a file by hand.
export const signaldBinary = process.env.SIGNALD_BINARY ??
    ["build/test/signald", "build/release/signald", "build-e2e/signald"]
        .map((p) => join(repoRoot, p)).find((p) => existsSync(p));
export const webRoot = process.env.SIGNALD_WEB_ROOT ?? join(repoRoot, "web");
export const artifactsDir = process.env.SIGNALD_E2E_ARTIFACTS ?? join(repoRoot, "build", "e2e-artifacts");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

// Headless Chromium flags. The first group keeps Chromium from reaching for the network (this
// machine has none, and refused connections slow it down); the second gives it fake media
// devices that are granted without a prompt; the last lets WebRTC use 127.0.0.1, which it
// otherwise never offers as a candidate.
export const chromiumArgs = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    // Three fake cameras and microphones, so switching devices can be tested. (fake_device_1 is
    // a 16-bit depth camera whose frames WebRTC cannot encode; fake_device_2 is an MJPEG one.)
    "--use-fake-device-for-media-stream=device-count=3", "--use-fake-ui-for-media-stream",
    // getDisplayMedia works headless: the fake UI answers it with a synthetic screen (the
    // auto-select switch does the same where a real picker would otherwise appear).
    "--auto-select-desktop-capture-source=Entire screen",
    "--allow-loopback-in-peer-connection",
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` until it returns a truthy value, or throws after `timeout` ms with the last value
// seen, so a failure says what the state was rather than only "timed out".
export async function waitFor(probe, { timeout = 20000, interval = 250, what = "condition" } = {})
{
    const deadline = Date.now() + timeout;
    let last;
    let lastError;
    for (;;) {
        try {
            last = await probe();
            if (last)
                return last;
        } catch (err) {
            lastError = err;
        }
        if (Date.now() >= deadline)
            break;
        await sleep(interval);
    }
    const detail = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
    throw new Error(`timed out after ${timeout} ms waiting for ${what} (${detail})`);
}

// ---- signald ----------------------------------------------------------------------------------

// Starts signald on `port` (0: any free port; null: the port its --config names) and resolves
// once it prints its address. args: extra command-line arguments (e.g. --tls-cert and --tls-key,
// which make it https). machine: run it there (lib/machines.js) rather than here.
// The peer connections the server was told of (docs/protocol.md 5.8), from its /metrics:
// { paths: {"local/remote/protocol": count, ...} (non-zero ones), failures, total }.
export async function iceReports(server)
{
    const text = await (await fetch(`${server.origin}/metrics`)).text();
    const paths = {};
    let total = 0;
    for (const [, local, remote, protocol, count] of text.matchAll(
        /^signald_ice_paths_total\{local="(\w+)",remote="(\w+)",protocol="(\w+)"\} (\d+)$/gm)) {
        if (Number(count) > 0)
            paths[`${local}/${remote}/${protocol}`] = Number(count);
        total += Number(count);
    }
    const failures = Number(/^signald_ice_failures_total (\d+)$/m.exec(text)?.[1] ?? NaN);
    return { paths, failures, total };
}

export async function startSignald({ port = 0, args = [], machine = null } = {})
{
    if (!signaldBinary || !existsSync(signaldBinary))
        throw new Error(`signald binary not found (${signaldBinary}); build it or set SIGNALD_BINARY`);
    const portArgs = port === null ? [] : ["--port", String(port)];
    const argv = [...portArgs, "--web-root", webRoot, ...args];
    const [program, programArgs] = machine ? machine.command(signaldBinary, argv) : [signaldBinary, argv];
    const child = spawn(program, programArgs, { stdio: ["ignore", "pipe", "pipe"] });
    const server = { child, port: 0, stderr: "", exited: false };
    child.stderr.on("data", (d) => { server.stderr += d; });
    const exited = new Promise((r) => child.on("exit", (code, signal) => {
        server.exited = true;
        r({ code, signal });
    }));
    server.exitedPromise = exited;

    let stdout = "";
    const listening = new Promise((resolveListening, reject) => {
        child.stdout.on("data", (d) => {
            stdout += d;
            const match = /listening on (https?):\/\/([^/\s]+):(\d+)\//.exec(stdout);
            if (match) {
                server.scheme = match[1];
                resolveListening(Number(match[3]));
            }
        });
        exited.then(({ code }) => reject(new Error(`signald exited (${code}) before listening: ${server.stderr}`)));
    });
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("signald did not print its port within 10 s")), 10000);
    });
    try {
        server.port = await Promise.race([listening, timeout]);
    } catch (err) {
        child.kill("SIGKILL");
        throw err;
    } finally {
        clearTimeout(timer);
    }
    server.origin = `${server.scheme}://127.0.0.1:${server.port}`;
    server.stop = () => stopSignald(server);
    return server;
}

// SIGTERM by PID (signald closes every socket with 1001 and exits within 2 s), SIGKILL after 5 s.
export async function stopSignald(server)
{
    if (server.exited)
        return;
    server.child.kill("SIGTERM");
    const killed = await Promise.race([server.exitedPromise.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
        server.child.kill("SIGKILL");
        await server.exitedPromise;
    }
}

// ---- Other servers ----------------------------------------------------------------------------

// Starts a server other than signald (coturn, nginx) on `machine` (lib/machines.js; default:
// here), in the foreground, with everything it prints kept in memory, and resolves once ready()
// says it serves. Returns { log(), stop() }: log() is all it printed so far; stop() is SIGTERM by
// PID, SIGKILL after 5 s. If it exits or is not ready within 10 s, it is stopped and the error
// carries the end of its output.
export async function startServer({ name, program, args, machine = null, ready })
{
    const [command, argv] = machine ? machine.command(program, args) : [program, args];
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let ended = false;
    child.stdout.on("data", (d) => { output += d; });
    child.stderr.on("data", (d) => { output += d; });
    const exited = new Promise((resolve) => child.on("exit", () => { ended = true; resolve(); }));
    const server = {
        log: () => output,
        stop: async () => {
            if (ended)
                return;
            child.kill("SIGTERM");
            if (!await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) {
                child.kill("SIGKILL");
                await exited;
            }
        },
    };
    try {
        await waitFor(async () => {
            if (ended)
                throw new Error(`${name} exited at start`);
            return ready(output);
        }, { timeout: 10000, interval: 100, what: `${name} to be ready` });
    } catch (err) {
        await server.stop();
        err.message += `\n${name} output:\n${output.slice(-2000)}`;
        throw err;
    }
    return server;
}

// ---- Chromium ---------------------------------------------------------------------------------

// extraArgs: more Chromium switches (e.g. which certificate key to trust). machine: run the
// browser there (lib/machines.js) rather than here.
export async function launchBrowser({ extraArgs = [], machine = null } = {})
{
    if (process.env.SIGNALD_E2E_IN_NETNS !== "1")
        console.warn("warning: not inside tests/e2e/netns-run.sh; WebRTC may pick a non-loopback interface");
    if (!existsSync(chromiumPath))
        throw new Error(`${chromiumPath} not found: install Debian's chromium (scripts/setup does)`);
    // launch() gives every browser a fresh temporary --user-data-dir and removes it on close.
    return chromium.launch({
        executablePath: machine ? machine.wrapper(chromiumPath) : chromiumPath,
        headless: true, args: [...chromiumArgs, ...extraArgs], timeout: 30000,
    });
}

// One person: a separate browser context (own cookies, own permissions) with one page.
// query: extra URL parameters; by default autostart=1 and 240p video, which keeps a six-way mesh
// (30 encoders and 30 decoders) within two cores. link: an address to open exactly as given (an
// invite link), instead of one made from origin, room, name and query; nothing starts by itself.
export async function openParticipant(browser, origin, { room, name, query = {}, viewport, initScript, link } = {})
{
    const context = await browser.newContext({ viewport: viewport ?? { width: 1100, height: 720 } });
    if (initScript)
        await context.addInitScript(initScript);
    const page = await context.newPage();
    const participant = { name, page, context, errors: [], consoleLines: [] };
    page.on("pageerror", (err) => participant.errors.push(String(err)));
    page.on("console", (msg) => {
        participant.consoleLines.push(`[${msg.type()}] ${msg.text()}`);
        if (participant.consoleLines.length > 400)
            participant.consoleLines.shift();
    });
    if (link) {
        await gotoPage(page, link);
        return participant;
    }
    const params = new URLSearchParams({ room, res: "240", autostart: "1", ...query });
    if (name)
        params.set("name", name);
    for (const [key, value] of [...params])
        if (value === null || value === undefined || value === "")
            params.delete(key);
    await gotoPage(page, `${origin}/?${params}`);
    return participant;
}

// page.goto, again when Chromium dropped the navigation because the machine's network changed
// under it (net::ERR_NETWORK_CHANGED: a test that has just made network namespaces, links or
// firewall rules can trip its change notifier). Nothing was loaded then; any other error stands.
async function gotoPage(page, url)
{
    for (let attempt = 1; ; attempt += 1) {
        try {
            return await page.goto(url, { timeout: 15000 });
        } catch (error) {
            if (attempt >= 3 || !String(error?.message).includes("net::ERR_NETWORK_CHANGED"))
                throw error;
        }
    }
}

export async function clientIdOf(participant, timeout = 15000)
{
    return waitFor(() => participant.page.evaluate(() => document.body.dataset.clientId), {
        timeout, what: `${participant.name} to join (body[data-client-id])`,
    });
}

// What one page sees: its id and, for every remote <video>, the element and WebRTC numbers.
export async function snapshot(participant)
{
    return participant.page.evaluate(async () => {
        const remotes = [];
        for (const video of document.querySelectorAll("#remote-videos video[data-peer-id]")) {
            const peerId = video.dataset.peerId;
            const peer = window.call.peers.get(peerId);
            let framesDecoded = 0, framesSent = 0, audioIn = 0, audioOut = 0;
            if (peer) {
                const report = await peer.pc.getStats();
                for (const s of report.values()) {
                    if (s.type === "inbound-rtp" && s.kind === "video") framesDecoded += s.framesDecoded ?? 0;
                    if (s.type === "outbound-rtp" && s.kind === "video") framesSent += s.framesSent ?? 0;
                    if (s.type === "inbound-rtp" && s.kind === "audio") audioIn += s.bytesReceived ?? 0;
                    if (s.type === "outbound-rtp" && s.kind === "audio") audioOut += s.bytesSent ?? 0;
                }
            }
            remotes.push({
                peerId,
                videoWidth: video.videoWidth,
                videoHeight: video.videoHeight,
                currentTime: video.currentTime,
                connection: peer?.pc.connectionState ?? "none",
                framesDecoded, framesSent, audioIn, audioOut,
            });
        }
        return { clientId: document.body.dataset.clientId ?? null, remotes };
    });
}

// Waits until `participant` has exactly one remote video per id in `expected` and each of those
// videos really plays: the element is sized, frames are decoded and currentTime advances between
// two samples. sending: our own video and audio also go out to each of them. receiveAudio: their
// audio reaches us.
export async function expectPlaying(participant, expected, { timeout = 45000, sending = true, receiveAudio = true } = {})
{
    expected = [...expected].sort();
    let before = null;
    const ready = (r) => r.connection === "connected" && r.videoWidth > 0 &&
        (!sending || (r.framesSent > 0 && r.audioOut > 0)) && (!receiveAudio || r.audioIn > 0);
    try {
        await waitFor(async () => {
            const now = await snapshot(participant);
            const seen = now.remotes.map((r) => r.peerId).sort();
            if (JSON.stringify(seen) !== JSON.stringify(expected) || !now.remotes.every(ready)) {
                before = null;
                return false;
            }
            const advancing = before !== null && now.remotes.every((r) => {
                const b = before.remotes.find((x) => x.peerId === r.peerId);
                return b && r.framesDecoded > b.framesDecoded && r.currentTime > b.currentTime &&
                    (!sending || r.framesSent > b.framesSent);
            });
            before = now;
            return advancing;
        }, {
            timeout, interval: 600,
            what: `${participant.name} to see ${expected.length} playing remote video(s) from ${expected.join(", ") || "nobody"}`,
        });
    } catch (err) {
        err.message += `; ${participant.name} sees ${JSON.stringify((await snapshot(participant).catch(() => null))?.remotes)}`;
        throw err;
    }
}

// Every participant plays every other one's video: a full mesh. Returns their clientIds.
export async function expectFullMesh(participants, { timeout = 45000, ...options } = {})
{
    const ids = [];
    for (const p of participants)
        ids.push(await clientIdOf(p));
    const deadline = Date.now() + timeout;
    for (const [index, p] of participants.entries()) {
        await expectPlaying(p, ids.filter((_, i) => i !== index),
            { ...options, timeout: Math.max(1000, deadline - Date.now()) });
    }
    return ids;
}

// For every peer connection of the page: its connection and gathering states, the ICE policy
// and TURN usernames it was configured with, the types of every local candidate it gathered,
// and the candidate pair it uses: that pair's state, and each end's type and address.
export async function iceState(participant)
{
    return participant.page.evaluate(async () => {
        const peers = [];
        for (const [peerId, peer] of window.call.peers) {
            const report = await peer.pc.getStats();
            let pair = null;
            for (const s of report.values())
                if (s.type === "transport" && s.selectedCandidatePairId)
                    pair = report.get(s.selectedCandidatePairId);
            if (!pair)
                for (const s of report.values())
                    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded")
                        pair = s;
            const local = pair && report.get(pair.localCandidateId);
            const remote = pair && report.get(pair.remoteCandidateId);
            const localTypes = [...report.values()].filter((s) => s.type === "local-candidate").map((s) => s.candidateType);
            const { iceServers, iceTransportPolicy } = peer.pc.getConfiguration();
            peers.push({
                peerId,
                connection: peer.pc.connectionState,
                gathering: peer.pc.iceGatheringState,
                policy: iceTransportPolicy,
                turnUsernames: iceServers.filter((s) => s.username).map((s) => s.username),
                localTypes: [...new Set(localTypes)].sort(),
                pairState: pair?.state ?? null,
                localType: local?.candidateType ?? null,
                remoteType: remote?.candidateType ?? null,
                localAddress: local?.address ?? local?.ip ?? null,
                remoteAddress: remote?.address ?? remote?.ip ?? null,
            });
        }
        return peers;
    });
}

// Waits until each participant has its one peer connection and has gathered every candidate it
// will: from then on, whether a path exists is up to the network.
export async function waitForGathered(participants, { timeout = 30000 } = {})
{
    for (const p of participants) {
        await waitFor(async () => {
            const state = await iceState(p);
            return state.length === 1 && state[0].gathering === "complete";
        }, { timeout, what: `${p.name} to finish gathering candidates` });
    }
}

// For `duration` ms, sampled twice a second: no participant's peer connection connects, and
// check(state, participant) (assertions on its iceState entry) holds every time.
export async function expectNeverConnected(participants, { duration, check = () => {} })
{
    const deadline = Date.now() + duration;
    while (Date.now() < deadline) {
        for (const p of participants) {
            const [s] = await iceState(p);
            assert.notEqual(s.connection, "connected", `${p.name} connected: ${JSON.stringify(s)}`);
            assert.equal(s.localType, null, `${p.name} has a candidate pair: ${JSON.stringify(s)}`);
            check(s, p);
        }
        await sleep(500);
    }
}

// The addresses at both ends of the candidate pair each peer connection uses.
export async function selectedPairs(participant)
{
    return (await iceState(participant)).map((s) =>
        ({ peerId: s.peerId, state: s.pairState, local: s.localAddress, remote: s.remoteAddress }));
}

export const loopback = new Set(["127.0.0.1", "::1"]);

// A remote candidate learned from an incoming check (peer-reflexive) shows no address in stats
// until the peer's own candidate message for it arrives; allow a few seconds for that.
export async function expectLoopbackPairs(participants, { timeout = 10000 } = {})
{
    for (const p of participants) {
        let pairs = [];
        const ok = await waitFor(async () => {
            pairs = await selectedPairs(p);
            return pairs.every((pair) => loopback.has(pair.local) && loopback.has(pair.remote));
        }, { timeout, what: "loopback pairs" }).catch(() => false);
        if (!ok)
            throw new Error(`${p.name}: selected candidate pairs are not all loopback: ${JSON.stringify(pairs)}`);
    }
}

export async function remoteIds(participant)
{
    return participant.page.evaluate(() =>
        [...document.querySelectorAll("#remote-videos video[data-peer-id]")].map((v) => v.dataset.peerId).sort());
}

// ---- Test scaffolding -------------------------------------------------------------------------

// Runs `body` with a fresh signald and browser; on failure saves a screenshot of every open page,
// its console and the server log under artifactsDir/<name>/ before rethrowing. serverArgs (also
// accepted as signaldArgs) and browserArgs go to startSignald and launchBrowser.
export async function withCall(name, body, { serverArgs = [], signaldArgs = [], browserArgs = [] } = {})
{
    const server = await startSignald({ args: [...serverArgs, ...signaldArgs] });
    const browser = await launchBrowser({ extraArgs: browserArgs });
    const call = { server, browser, participants: [] };
    call.join = async (options) => {
        const p = await openParticipant(browser, call.server.origin, options);
        call.participants.push(p);
        return p;
    };
    try {
        await body(call);
        for (const p of call.participants) {
            if (p.errors.length)
                throw new Error(`${p.name}: uncaught page error(s): ${p.errors.join(" | ")}`);
        }
    } catch (err) {
        await saveArtifacts(name, call).catch(() => {});
        throw err;
    } finally {
        await browser.close().catch(() => {});
        await call.server.stop();
    }
}

// A screenshot and the console of each participant's page and the server's log, plus each of
// logs (file name → text), under artifactsDir/<name>/.
export async function saveArtifacts(name, call, logs = {})
{
    const dir = join(artifactsDir, name.replace(/[^a-z0-9-]+/gi, "-"));
    mkdirSync(dir, { recursive: true });
    for (const [i, p] of call.participants.entries()) {
        const base = join(dir, `${i}-${p.name ?? "anon"}`);
        if (!p.page.isClosed())
            await p.page.screenshot({ path: `${base}.png`, timeout: 5000 }).catch(() => {});
        writeFileSync(`${base}.console.txt`, p.consoleLines.join("\n"));
    }
    writeFileSync(join(dir, "signald.log"), call.server.stderr);
    for (const [file, text] of Object.entries(logs))
        writeFileSync(join(dir, file), text);
    console.error(`artifacts saved in ${dir}`);
}
