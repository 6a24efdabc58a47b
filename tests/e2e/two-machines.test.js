// The README's walkthrough "a call between two machines over HTTPS with TURN", on three machines
// (lib/machines.js): a server at the README's own 203.0.113.10, named call.example.org, and two
// laptops on other networks that the internet keeps from reaching each other directly, as a
// firewall or an unfriendly NAT would. The server's coturn and signald are configured by running
// the walkthrough's own steps 4 and 5 on copies of the README's turnserver.conf and of the
// shipped config/signald.ini; only the certificate comes from a test CA instead of certbot. Each
// laptop runs its own Chromium, which finds call.example.org through the test's DNS server and
// trusts that one certificate, and opens the page as step 7 says. The last test puts Debian's
// nginx in front of signald with the README's "Behind nginx" site configuration.

import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { startTurnserver } from "./lib/coturn.js";
import { startDnsServer } from "./lib/dns.js";
import {
    clientIdOf, expectFullMesh, expectNeverConnected, iceState, launchBrowser, openParticipant, repoRoot,
    saveArtifacts, startServer, startSignald, waitFor, waitForGathered,
} from "./lib/harness.js";
import { startInternet } from "./lib/machines.js";
import { makeTestCertificates, trustKeyArgs } from "./lib/tls.js";

const serverName = "call.example.org";
const serverAddress = "203.0.113.10";
const origin = `https://${serverName}`;
const laptopNetworks = { home: "198.51.100", hotspot: "192.0.2" };

// The fenced block that follows the first line holding `marker` in the README, without the
// indentation of its fence (the walkthrough's blocks sit inside a numbered list).
function readmeBlock(marker)
{
    const lines = readFileSync(join(repoRoot, "README.md"), "utf8").split("\n");
    const at = lines.findIndex((line) => line.includes(marker));
    assert.ok(at >= 0, `README.md has no line with ${JSON.stringify(marker)}`);
    const open = lines.findIndex((line, i) => i > at && /^\s*```/.test(line));
    const indent = lines[open].match(/^\s*/)[0].length;
    const close = lines.findIndex((line, i) => i > open && /^\s*```\s*$/.test(line));
    return lines.slice(open + 1, close).map((line) => line.slice(indent)).join("\n") + "\n";
}

let internet, dns, server, laptops, certs, dir;

before(async () => {
    internet = await startInternet();
    // "A DNS name pointing at it": each laptop asks its router (the internet's end of its link).
    dns = await startDnsServer({ address: "0.0.0.0", records: { [serverName]: serverAddress } });
    server = await internet.addMachine("server", { address: serverAddress, gateway: "203.0.113.1" });
    laptops = {};
    for (const [name, network] of Object.entries(laptopNetworks)) {
        laptops[name] = await internet.addMachine(name,
            { address: `${network}.2`, gateway: `${network}.1`, nameserver: `${network}.1` });
    }
    internet.blockBetween(`${laptopNetworks.home}.0/24`, `${laptopNetworks.hotspot}.0/24`);
    certs = makeTestCertificates({ dnsNames: [serverName] });
    dir = mkdtempSync(join(tmpdir(), "signald-two-machines-"));
});

after(async () => {
    await dns?.stop();
    await internet?.stop();
    certs?.remove();
    if (dir)
        rmSync(dir, { recursive: true, force: true });
});

// Copies of /etc/turnserver.conf (the README's) and /etc/signald/signald.ini (the shipped one),
// configured by the walkthrough's steps 4 and 5 as written, in one shell as the README asks.
// sudo runs the command, except chown (no turnserver user is needed here) and systemctl and
// journalctl (there is no service manager: the test starts both servers itself).
function configureAsTheWalkthroughSays()
{
    const turnConf = join(dir, "turnserver.conf");
    const signaldIni = join(dir, "signald.ini");
    writeFileSync(turnConf, readmeBlock("reads `/etc/turnserver.conf`:")
        .replaceAll("/etc/coturn/certs/fullchain.pem", certs.cert)
        .replaceAll("/etc/coturn/certs/privkey.pem", certs.key));
    copyFileSync(join(repoRoot, "config/signald.ini"), signaldIni);
    const steps = [readmeBlock("4. **Configure coturn**"), readmeBlock("5. **Configure signald**")].join("")
        .replaceAll("/etc/turnserver.conf", turnConf)
        .replaceAll("/etc/signald/signald.ini", signaldIni);
    const shims = [
        'sudo() { case "$1" in chown) ;; *) "$@" ;; esac; }',
        "systemctl() { :; }",
        "journalctl() { :; }",
    ].join("\n");
    execFileSync("bash", ["-euo", "pipefail", "-c", `${shims}\n${steps}`], { stdio: "pipe", timeout: 10000 });
    return { turnConf, signaldIni };
}

// nginx on `machine`, on 443 with the site configuration `site` (the README's), in the foreground
// with everything it writes in dir. Resolves once it serves; returns { log(), stop() }.
async function startNginx(machine, site, dir)
{
    const sitePath = join(dir, "site.conf");
    const conf = join(dir, "nginx.conf");
    writeFileSync(sitePath, site);
    // The main configuration Debian's /etc/nginx/nginx.conf would be, trimmed to what the site
    // needs; its paths are the test's own.
    writeFileSync(conf, [
        "user root;",
        "worker_processes 1;",
        `pid ${join(dir, "nginx.pid")};`,
        "error_log stderr notice;",
        "events { worker_connections 256; }",
        "http {",
        `    access_log ${join(dir, "access.log")};`,
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${join(dir, t)};`),
        `    include ${sitePath};`,
        "}",
        "",
    ].join("\n"));
    return startServer({
        name: "nginx", program: "/usr/sbin/nginx", machine,
        args: ["-e", "stderr", "-p", dir, "-c", conf, "-g", "daemon off;"],
        ready: (output) => output.includes("start worker process"),
    });
}

// On the server, coturn (with turnConf; without, none), nginx (with nginxSite; without, none) and
// signald (with signaldIni, then signaldArgs); on the laptops, a browser each: all stopped when
// body ends. On failure the logs and screenshots stay.
async function withDeployment(name, { signaldIni, signaldArgs, turnConf = null, nginxSite = null }, body)
{
    const running = { turn: null, nginx: null, signald: null, browsers: {} };
    const call = { participants: [], server: { stderr: "" } };
    try {
        if (turnConf) {
            running.turn = await startTurnserver({
                machine: server, address: serverAddress, port: 3478, args: ["-c", turnConf],
            });
        }
        running.signald = await startSignald({ machine: server, port: null, args: ["--config", signaldIni, ...signaldArgs] });
        call.server = running.signald;
        if (nginxSite) {
            const nginxDir = join(dir, `${name}-nginx`);
            mkdirSync(nginxDir);
            running.nginx = await startNginx(server, nginxSite, nginxDir);
        }
        // One browser per laptop, started when someone there first opens the page.
        call.join = async (laptop, options) => {
            running.browsers[laptop] ??= await launchBrowser({
                machine: laptops[laptop], extraArgs: trustKeyArgs(certs.spkiSha256),
            });
            const participant = await openParticipant(running.browsers[laptop], origin, options);
            call.participants.push(participant);
            return participant;
        };
        // Ada on the home laptop and Grace on the hotspot, in the same room.
        call.joinBoth = async (room, query = {}) => [
            await call.join("home", { room, name: "Ada", query }),
            await call.join("hotspot", { room, name: "Grace", query }),
        ];
        await body(call, running);
        for (const p of call.participants)
            assert.deepEqual(p.errors, [], `${p.name}: uncaught page errors`);
    } catch (err) {
        const logs = {};
        if (running.turn)
            logs["coturn.log"] = running.turn.log();
        if (running.nginx)
            logs["nginx.log"] = running.nginx.log();
        await saveArtifacts(name, call, logs).catch(() => {});
        throw err;
    } finally {
        for (const browser of Object.values(running.browsers))
            await browser.close().catch(() => {});
        await running.nginx?.stop();
        await running.signald?.stop();
        await running.turn?.stop();
    }
}

// After --config, as the walkthrough's systemd drop-in runs signald: the certificate and key.
const tlsArgs = () => ["--tls-cert", certs.cert, "--tls-key", certs.key];

// `curl -sS URL` on a laptop, trusting the test CA; resolves to { status, body }. Not execFileSync:
// this process is the laptops' DNS server, and must keep answering.
async function curlOn(laptop, path)
{
    const [program, args] = laptop.command("curl",
        ["-sS", "--cacert", certs.caCert, "-w", "\n%{http_code}", `${origin}${path}`]);
    const { stdout } = await promisify(execFile)(program, args, { timeout: 10000 });
    const at = stdout.lastIndexOf("\n");
    return { body: stdout.slice(0, at), status: Number(stdout.slice(at + 1)) };
}

// The laptops cannot reach each other, so a call between them goes through coturn at one end at
// least: a relay candidate reaches the other laptop's own address, or another relay candidate.
function expectThroughCoturn(participant, state)
{
    assert.ok([state.localType, state.remoteType].includes("relay"),
        `${participant.name}'s path is not through coturn: ${JSON.stringify(state)}`);
}

// The line the page logs once ICE has chosen: "<peer>: media flows <type> <address>:<port> ⇄ ...".
const mediaPathOf = async (participant) =>
    (await participant.page.textContent("#log")).match(/media flows .*/g) ?? [];

test("the README's steps configure coturn and signald, and a laptop reaches https://call.example.org", { timeout: 60000 }, async () => {
    const { signaldIni, turnConf } = configureAsTheWalkthroughSays();
    const ini = readFileSync(signaldIni, "utf8");
    assert.match(ini, /^port = 443$/m);
    assert.match(ini, /^bind = 0\.0\.0\.0$/m);
    const secret = ini.match(/^turn-secret = ([0-9a-f]{64})$/m)?.[1];
    assert.ok(secret, "step 5 wrote the secret of step 4 (openssl rand -hex 32)");
    assert.ok(readFileSync(turnConf, "utf8").includes(`\nstatic-auth-secret=${secret}\n`), "coturn has the same secret");
    assert.equal(ini.match(/^ice-server = /gm)?.length, 4);

    await withDeployment("two-machines-healthz", { signaldIni, turnConf, signaldArgs: tlsArgs() }, async (call, running) => {
        assert.deepEqual([running.signald.scheme, running.signald.port], ["https", 443]);
        // Step 6's check, from the other side of the internet.
        for (const laptop of Object.values(laptops))
            assert.deepEqual(await curlOn(laptop, "/healthz"), { status: 200, body: "ok\n" });
    });
});

test("without TURN the laptops cannot reach each other: signaling works, media never connects", { timeout: 90000 }, async () => {
    // Steps 4 and 5 left out: signald as installed, on 443 for everyone, with no ICE servers.
    const signaldIni = join(dir, "signald-no-turn.ini");
    writeFileSync(signaldIni, readFileSync(join(repoRoot, "config/signald.ini"), "utf8")
        .replace(/^port = .*$/m, "port = 443").replace(/^bind = .*$/m, "bind = 0.0.0.0"));
    await withDeployment("two-machines-no-turn", { signaldIni, signaldArgs: tlsArgs() }, async (call) => {
        const people = await call.joinBoth("no-turn");
        for (const p of people)
            await clientIdOf(p);
        // Both have the other's offer or answer and all of their own candidates: only the path is
        // missing.
        await waitForGathered(people);
        for (const p of people)
            assert.match(await p.page.textContent("#log"), /remote (offer|answer)/);
        await expectNeverConnected(people, {
            duration: 8000,
            check: (s, p) => assert.deepEqual(s.localTypes, ["host"], `${p.name} has only its own addresses`),
        });
    });
});

test("with the walkthrough's coturn, the laptops call each other through it, and with ?relay=1 too", { timeout: 180000 }, async () => {
    const { signaldIni, turnConf } = configureAsTheWalkthroughSays();
    await withDeployment("two-machines-turn", { signaldIni, turnConf, signaldArgs: tlsArgs() }, async (call, running) => {
        // Steps 7 and 8: the page at https://call.example.org/, one person on each laptop.
        const people = await call.joinBoth("pick-a-long-room-name");
        const ids = await expectFullMesh(people);
        for (const [index, p] of people.entries()) {
            const [s] = await iceState(p);
            assert.equal(await p.page.evaluate(() => window.isSecureContext), true);
            expectThroughCoturn(p, s);
            assert.match(s.turnUsernames[0] ?? "", new RegExp(`^\\d+:${ids[index]}$`));
            const allocated = `user <${s.turnUsernames[0]}>: incoming packet ALLOCATE processed, success`;
            await waitFor(() => running.turn.log().includes(allocated),
                { timeout: 10000, what: `coturn to allocate a relay for ${p.name}` });
        }
        for (const p of people)
            await p.context.close();

        // Step 9: the same room with &relay=1 on both laptops: relay candidates only, and the page
        // logs "media flows relay 203.0.113.10:..." on both sides.
        const relayed = await call.joinBoth("pick-a-long-room-name", { relay: "1" });
        await expectFullMesh(relayed);
        for (const p of relayed) {
            const [s] = await iceState(p);
            assert.equal(s.policy, "relay");
            assert.deepEqual(s.localTypes, ["relay"]);
            assert.deepEqual([s.localType, s.localAddress, s.remoteType, s.remoteAddress],
                ["relay", serverAddress, "relay", serverAddress]);
            const paths = await waitFor(async () => {
                const logged = await mediaPathOf(p);
                return logged.length > 0 && logged;
            }, { timeout: 10000, what: `${p.name}'s log to say where media flows` });
            assert.match(paths.at(-1), new RegExp(`^media flows relay ${serverAddress.replaceAll(".", "\\.")}:\\d+ ⇄ relay `));
        }
    });
});

test("behind nginx as the README says: the call goes through it, clients keep their addresses, /metrics and /status stay in", { timeout: 180000 }, async () => {
    const { signaldIni, turnConf } = configureAsTheWalkthroughSays();
    const site = readmeBlock("### Behind nginx")
        .replaceAll(`/etc/letsencrypt/live/${serverName}/fullchain.pem`, certs.cert)
        .replaceAll(`/etc/letsencrypt/live/${serverName}/privkey.pem`, certs.key);
    // nginx has 443 and TLS; signald keeps its default loopback port, without TLS flags, believes
    // nginx about who the client is, and answers to the public name nginx passes on as Host.
    const signaldArgs = ["--port", "8787", "--bind", "127.0.0.1", "--trusted-proxy", "127.0.0.1",
        "--allowed-host", serverName];
    await withDeployment("two-machines-nginx", { signaldIni, turnConf, nginxSite: site, signaldArgs }, async (call, running) => {
        assert.deepEqual([running.signald.scheme, running.signald.port], ["http", 8787]);
        const people = await call.joinBoth("behind-nginx");
        const ids = await expectFullMesh(people);
        for (const [index, p] of people.entries()) {
            const [s] = await iceState(p);
            expectThroughCoturn(p, s);
            // Each WebSocket came through nginx on loopback, and signald logs the laptop it is for.
            const laptop = Object.values(laptops)[index];
            assert.match(running.signald.stderr,
                new RegExp(`${ids[index]} connected from ${laptop.address.replaceAll(".", "\\.")} via 127\\.0\\.0\\.1:\\d+\\n`));
        }
        for (const laptop of Object.values(laptops)) {
            assert.deepEqual(await curlOn(laptop, "/healthz"), { status: 200, body: "ok\n" });
            for (const path of ["/metrics", "/status", "/status.html", "/status?every=1"])
                assert.equal((await curlOn(laptop, path)).status, 403, `nginx keeps ${path} from the internet`);
        }
    });
});
