// A private room (--auth-secret-file, protocol.md 7.3 and 7.4) as people use it: invite links
// made by the real `signald invite` open a call; an expired one is explained; only the moderator
// sees the kick buttons and the lock toggle, and only its copied link keeps the token; the
// moderator removes a member, whose page says so, stays out and cannot rejoin while banned; the
// moderator locks the room: everyone in it sees the badge, a newcomer with a member's invite is
// told to ask a moderator, and the copied moderator link still gets in; unlocked, the newcomer
// joins.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { clientIdOf, expectFullMesh, signaldBinary, sleep, waitFor, withCall } from "./lib/harness.js";

const room = "board meeting";
const kick_ban_s = 300;

// `signald invite` prints the page's address with ?room= and ?token=.
function invite(secretFile, origin, args)
{
    return execFileSync(signaldBinary,
        ["invite", "--auth-secret-file", secretFile, "--room", room, "--url", `${origin}/`, ...args],
        { encoding: "utf8", timeout: 5000 }).trim();
}

// An HS256 token minted here, to make one the server would accept but for its expiry.
function expiredInvite(secret, origin)
{
    const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({ room, exp: Math.floor(Date.now() / 1000) - 120 })}`;
    const signature = createHmac("sha256", secret).update(body).digest("base64url");
    return `${origin}/?${new URLSearchParams({ room, token: `${body}.${signature}` })}`;
}

// Run in the page before its scripts: count the WebSockets it opens.
function countSockets()
{
    const Native = window.WebSocket;
    window.socketsOpened = 0;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            window.socketsOpened += 1;
        }
    };
}

// What a page shows: its notice (and the notice's cause), toast, status and room-locked badge.
const view = (p) => p.page.evaluate(() => {
    const notice = document.getElementById("notice");
    return {
        clientId: document.body.dataset.clientId ?? null,
        connection: document.body.dataset.connection,
        notice: notice.hidden ? null : document.getElementById("notice-text").textContent,
        noticeKind: notice.hidden ? null : notice.dataset.kind,
        toast: document.getElementById("toast").textContent,
        locked: !document.getElementById("room-locked").hidden,
        active: window.call.signaling.active,
        sockets: window.socketsOpened,
    };
});

// Waits until the page's notice has this cause and reads as `pattern`; returns the view.
async function expectNotice(p, kind, pattern, timeout = 10000)
{
    let seen = null;
    await waitFor(async () => {
        seen = await view(p);
        return seen.noticeKind === kind && pattern.test(seen.notice);
    }, { timeout, what: `${p.name}'s ${kind} notice to match ${pattern}` }).catch((err) => {
        err.message += `; ${p.name} shows ${JSON.stringify(seen)}`;
        throw err;
    });
    return seen;
}

// A person opens the link and presses Connect (and, to be seen, Start camera & mic).
async function openLink(call, link, name, { media = true } = {})
{
    const p = await call.join({ name, link, initScript: countSockets });
    await p.page.click("#connect");
    if (media)
        await p.page.click("#start-media");
    return p;
}

test("invite links, an expired one, a kick that sticks, and a lock", { timeout: 180000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "signald-moderation-e2e-"));
    const secret = randomBytes(24).toString("hex");   // 48 bytes of text: over the 32 required
    const secretFile = join(dir, "room-secrets");
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    try {
        await withCall("moderation", async (call) => {
            const { origin } = call.server;
            const adaLink = invite(secretFile, origin, ["--name", "Ada", "--sub", "ada", "--role", "moderator"]);
            const graceLink = invite(secretFile, origin, ["--name", "Grace", "--sub", "grace"]);
            assert.match(adaLink, /^http:\/\/127\.0\.0\.1:\d+\/\?room=board%20meeting&token=[\w-]+\.[\w-]+\.[\w-]+$/);

            // ---- The invite links open a call; only the moderator has the moderator's controls.
            const ada = await openLink(call, adaLink, "Ada");
            const grace = await openLink(call, graceLink, "Grace");
            const [, graceId] = await expectFullMesh([ada, grace]);
            assert.equal(await ada.page.inputValue("#name"), "Ada", "the token's name is the one shown");

            const kickGrace = ada.page.locator(`[data-kick="${graceId}"]`);
            assert.equal(await kickGrace.isVisible(), true, "Ada has a kick button on Grace's tile");
            assert.equal(await kickGrace.getAttribute("aria-label"), "Remove Grace from the call");
            assert.equal(await ada.page.getByRole("button", { name: "Remove Grace from the call" }).count(), 1);
            assert.equal(await ada.page.isVisible("#lock-toggle"), true);
            assert.equal(await ada.page.isEnabled("#lock-toggle"), true);
            assert.equal(await ada.page.getAttribute("#lock-toggle", "aria-pressed"), "false");
            assert.equal(await grace.page.locator("[data-kick]:visible").count(), 0, "Grace has no kick buttons");
            assert.equal(await grace.page.isVisible("#lock-toggle"), false, "Grace has no lock toggle");
            assert.equal((await view(ada)).locked, false);

            // "Copy invite link" keeps the token for the moderator only, and says what it hands on.
            for (const p of [ada, grace])
                await p.context.grantPermissions(["clipboard-read", "clipboard-write", "camera", "microphone"], { origin });
            assert.match(await ada.page.getAttribute("#copy-invite", "title"), /Anyone with this link joins as a moderator/);
            assert.equal((await ada.page.innerText("#copy-invite")).trim(), "Copy moderator link");
            await ada.page.click("#copy-invite");
            const copied = (p) => p.page.evaluate(() => navigator.clipboard.readText());
            const adaToken = new URL(adaLink).searchParams.get("token");
            await waitFor(async () => new URL(await copied(ada)).searchParams.get("token") === adaToken,
                { timeout: 5000, what: "Ada's copied link to keep her moderator token" });
            const moderatorLink = await copied(ada);
            assert.doesNotMatch(await ada.page.textContent("#log"), new RegExp(adaToken.split(".")[2]), "the log never shows a token");
            await grace.page.click("#copy-invite");
            await waitFor(async () => (await copied(grace)) === `${origin}/?room=board+meeting`,
                { timeout: 5000, what: "Grace's copied link to have the room and no token" });
            assert.equal((await grace.page.innerText("#copy-invite")).trim(), "Copy invite link");

            // ---- An expired invite is explained, and nothing joins.
            const late = await openLink(call, expiredInvite(secret, origin), "Late", { media: false });
            const lateView = await expectNotice(late, "join", /Your invite link has expired\. Ask for a new one\./);
            assert.equal(lateView.clientId, null);
            assert.equal(lateView.active, false, "no retry after a refusal");
            await late.context.close();

            // ---- The kick button takes two presses; Escape disarms it.
            await kickGrace.click();
            assert.equal(await kickGrace.getAttribute("data-armed"), "true");
            assert.match(await kickGrace.getAttribute("aria-label"), /^Remove Grace from the call\? Press again/);
            assert.equal(await kickGrace.textContent(), "Remove?");
            await ada.page.keyboard.press("Escape");
            assert.equal(await kickGrace.getAttribute("data-armed"), null);
            assert.equal((await view(grace)).clientId, graceId, "one press removes nobody");

            // ---- Ada removes Grace: Grace's page says so and stays out; Ada's loses the tile.
            const kickedAt = Date.now();
            await kickGrace.click();
            await sleep(500);   // a second press within 0.4 s is a double click, not a decision
            await kickGrace.click();
            const graceView = await expectNotice(grace, "removed", /^A moderator removed you from this call\./);
            assert.equal(graceView.clientId, null);
            assert.equal(graceView.connection, "idle");
            assert.equal(graceView.active, false, "the page does not rejoin by itself");
            assert.equal(await grace.page.evaluate(() => window.call.peers.size), 0);
            assert.equal(await grace.page.evaluate(() => window.call.media.started), false, "camera and mic are off");
            assert.equal(await grace.page.locator("#remote-videos video").count(), 0);
            await waitFor(async () => await ada.page.locator(`[data-tile-for="${graceId}"]`).count() === 0,
                { timeout: 5000, what: "Ada's tile for Grace to go" });
            assert.equal((await view(ada)).toast, "Grace was removed by a moderator");
            assert.ok(Date.now() - kickedAt < 8000, "the removal takes effect at once");
            // Three seconds later Grace's page still has opened no socket: no reconnect, no resume.
            const socketsAfterKick = graceView.sockets;
            await sleep(3000);
            const still = await view(grace);
            assert.equal(still.sockets, socketsAfterKick, "no socket opened after the removal");
            assert.equal(still.clientId, null);

            // ---- Pressing Connect again is refused while the ban lasts, and says until when.
            await grace.page.click("#connect");
            const banned = await expectNotice(grace, "join", /^A moderator removed you from this call\. You can join it again in 5 minutes \(at [^)]+\)\.$/);
            assert.equal(banned.clientId, null);
            assert.equal(banned.active, false);
            // So is the invite link opened again: the ban follows the token's sub.
            await grace.page.goto(graceLink, { timeout: 15000 });
            await grace.page.click("#connect");
            await expectNotice(grace, "join", /You can join it again in \d+ minutes?/);
            assert.equal(await ada.page.locator("#remote-videos video").count(), 0, "Grace never came back");

            // ---- Ada locks the room: the badge shows, a member's invite is refused with words.
            await ada.page.click("#lock-toggle");
            await waitFor(async () => (await view(ada)).locked, { timeout: 5000, what: "Ada's locked badge" });
            assert.equal(await ada.page.getAttribute("#lock-toggle", "aria-pressed"), "true");
            assert.equal(await ada.page.textContent("#lock-toggle .ctl-label"), "Unlock room");
            assert.match((await view(ada)).toast, /locked/);
            const linusLink = invite(secretFile, origin, ["--name", "Linus", "--sub", "linus"]);
            const linus = await openLink(call, linusLink, "Linus", { media: false });
            const linusView = await expectNotice(linus, "join", /This room is locked.*Ask a moderator/);
            assert.equal(linusView.clientId, null);
            assert.equal(linusView.active, false);

            // The moderator link Ada copied still opens the locked room, and `joined` says it is locked.
            const second = await openLink(call, moderatorLink, "Ada's colleague", { media: false });
            await clientIdOf(second);
            await waitFor(async () => (await view(second)).locked, { timeout: 5000, what: "the locked badge from joined" });
            assert.equal(await second.page.getAttribute("#lock-toggle", "aria-pressed"), "true");

            // ---- Unlocked, the badge goes for everyone and Linus gets in.
            await ada.page.click("#lock-toggle");
            for (const p of [ada, second])
                await waitFor(async () => !(await view(p)).locked, { timeout: 5000, what: `${p.name}'s badge to go` });
            assert.match((await view(second)).toast, /unlocked/);
            await linus.page.click("#connect");
            const linusId = await clientIdOf(linus);
            await waitFor(async () => await ada.page.locator(`[data-tile-for="${linusId}"]`).count() === 1,
                { timeout: 5000, what: "Linus's tile on Ada's page" });
            assert.equal((await view(linus)).locked, false);

            // ---- On a phone: one column, and the moderator's controls are still there to press.
            await ada.page.setViewportSize({ width: 390, height: 844 });
            const box = (selector) => ada.page.locator(selector).boundingBox();
            const [callBox, sidebarBox] = [await box(".call"), await box(".sidebar")];
            assert.ok(sidebarBox.y >= callBox.y + callBox.height, "the sidebar is below the call, not beside it");
            for (const selector of ["#lock-toggle", `[data-kick="${linusId}"]`, "#copy-invite"]) {
                await ada.page.locator(selector).scrollIntoViewIfNeeded({ timeout: 5000 });
                const b = await box(selector);
                assert.ok(b && b.x >= 0 && b.x + b.width <= 390 && b.width >= 24 && b.height >= 24,
                    `${selector} fits the screen and is big enough to press: ${JSON.stringify(b)}`);
            }
            assert.equal(await ada.page.getByRole("button", { name: "Lock room" }).count(), 1, "icon only, still named");
        }, { serverArgs: ["--auth-secret-file", secretFile, "--kick-ban", String(kick_ban_s)] });
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
