// The page over HTTPS: signald serves it with a certificate from a CA the test makes, Chromium
// trusts exactly that server key (--ignore-certificate-errors-spki-list), and a two-tab call
// runs over wss://. Plain http:// on the same port is redirected to https://.

import assert from "node:assert/strict";
import { test } from "node:test";
import { expectFullMesh, expectLoopbackPairs, startSignald, withCall } from "./lib/harness.js";
import { makeTestCertificates, trustKeyArgs } from "./lib/tls.js";

// Records the URL of every WebSocket the page opens (runs before the page's own scripts).
function recordSockets()
{
    window.__sockets = [];
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args)
        {
            super(...args);
            window.__sockets.push(this.url);
        }
    };
}

async function withTlsCall(name, body)
{
    const certs = makeTestCertificates();
    try {
        await withCall(name, body, {
            serverArgs: ["--tls-cert", certs.cert, "--tls-key", certs.key],
            browserArgs: trustKeyArgs(certs.spkiSha256),
        });
    } finally {
        certs.remove();
    }
}

test("two tabs call each other over https and wss", { timeout: 120000 }, async () => {
    await withTlsCall("tls-call", async (call) => {
        const { port, origin } = call.server;
        assert.equal(origin, `https://127.0.0.1:${port}`, "signald said https");
        const people = [];
        for (const name of ["Ada", "Grace"])
            people.push(await call.join({ room: "tls", name, initScript: recordSockets }));
        await expectFullMesh(people);
        await expectLoopbackPairs(people);
        for (const p of people) {
            const seen = await p.page.evaluate(() => ({
                protocol: location.protocol, secure: window.isSecureContext, sockets: window.__sockets,
            }));
            assert.deepEqual(seen, { protocol: "https:", secure: true, sockets: [`wss://127.0.0.1:${port}/ws`] },
                `${p.name}'s page and WebSocket`);
        }
    });
});

test("http:// on the TLS port is redirected to the same URL over https", { timeout: 60000 }, async () => {
    await withTlsCall("tls-redirect", async (call) => {
        const { port } = call.server;
        const p = await call.join({ room: "plain", name: "Ada", query: { autostart: "" } });
        const response = await p.page.goto(`http://127.0.0.1:${port}/?room=plain`, { timeout: 15000 });
        assert.equal(p.page.url(), `https://127.0.0.1:${port}/?room=plain`);
        assert.equal(response.status(), 200);
        const hop = await response.request().redirectedFrom()?.response();
        assert.equal(hop?.status(), 308, "signald itself redirected (not the browser upgrading)");
        assert.equal(hop.headers().location, `https://127.0.0.1:${port}/?room=plain`);
        assert.equal(await p.page.evaluate(() => window.isSecureContext), true);
    });
});

test("Chromium trusts only the test server's key: another certificate is refused", { timeout: 60000 }, async () => {
    await withTlsCall("tls-other-key", async (call) => {
        const other = await startSignald({ args: ["--tls-self-signed"] });
        try {
            const context = await call.browser.newContext();
            const refused = await context.newPage();
            await assert.rejects(refused.goto(`${other.origin}/`, { timeout: 15000 }), /ERR_CERT_AUTHORITY_INVALID/);
            // ... while the trusted one still loads in the same browser. (A new page: the refused
            // one is still busy showing its error page.)
            const ok = await (await context.newPage()).goto(`${call.server.origin}/`, { timeout: 15000 });
            assert.equal(ok.status(), 200);
            await context.close();
        } finally {
            await other.stop();
        }
    });
});
