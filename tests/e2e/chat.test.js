// The chat goes over each peer's data channel, not the server: three pages talk, names and times
// show, the unread count counts, markup stays text, and a message sent while a newcomer's channel
// is still opening reaches the newcomer once it opens.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clientIdOf, waitFor, withCall } from "./lib/harness.js";

// Every chat channel of this page open.
const chatsOpen = (p, count) => waitFor(() => p.page.evaluate((n) => {
    const states = [...window.call.peers.values()].map((peer) => peer.chatState);
    return states.length === n && states.every((state) => state === "open");
}, count), { timeout: 20000, interval: 100, what: `${p.name}'s ${count} chat channel(s) to open` });

const send = (p, text) => p.page.evaluate((t) => {
    document.getElementById("chat-input").value = t;
    document.getElementById("chat-form").requestSubmit();
}, text);

// The messages on a page: [from, name, text] and whether the time reads as HH:MM.
const messages = (p) => p.page.$$eval("#chat-log li", (items) => items.map((li) => ({
    from: li.dataset.from,
    name: li.querySelector(".chat-name").textContent,
    text: li.querySelector(".chat-text").textContent,
    time: li.querySelector("time").textContent,
})));

const hasMessage = (p, text) => waitFor(async () => (await messages(p)).find((m) => m.text === text),
    { timeout: 10000, interval: 100, what: `${p.name} to show “${text}”` });

test("chat between three pages, including a message sent before a late peer's channel opened", { timeout: 90000 }, async () => {
    await withCall("chat", async (call) => {
        const ada = await call.join({ room: "chat", name: "Ada" });
        const grace = await call.join({ room: "chat", name: "Grace" });
        const adaId = await clientIdOf(ada);
        const graceId = await clientIdOf(grace);
        await chatsOpen(ada, 1);
        await chatsOpen(grace, 1);

        // Ada sends the moment her page starts calling the newcomer: its channel is not open yet.
        const early = ada.page.evaluate((known) => new Promise((resolve) => {
            const timer = setInterval(() => {
                const newcomer = [...window.call.peers.values()].find((peer) => peer.id !== known);
                if (!newcomer)
                    return;
                clearInterval(timer);
                const state = newcomer.chatState;
                document.getElementById("chat-input").value = "Welcome, whoever comes next";
                document.getElementById("chat-form").requestSubmit();
                resolve(state);
            }, 2);
        }), graceId);
        const linus = await call.join({ room: "chat", name: "Linus" });
        const linusId = await clientIdOf(linus);
        assert.notEqual(await early, "open", "sent before Linus's channel opened");
        const welcome = await hasMessage(linus, "Welcome, whoever comes next");
        assert.equal(welcome.from, adaId);
        assert.equal(welcome.name, "Ada");
        assert.match(welcome.time, /^\d\d:\d\d$/);
        await hasMessage(grace, "Welcome, whoever comes next");

        // Linus has not opened the chat: the toggle counts what came.
        assert.equal(await linus.page.textContent("#chat-unread"), "1");
        assert.equal(await linus.page.isVisible("#chat-unread"), true);
        assert.equal(await linus.page.getAttribute("#chat-toggle", "aria-label"), "Chat, 1 unread");

        // Grace to everyone; markup is shown as text.
        await chatsOpen(grace, 2);
        const markup = "<img src=x onerror=\"document.body.dataset.owned=1\"> hi";
        await send(grace, markup);
        for (const p of [ada, linus]) {
            const m = await hasMessage(p, markup);
            assert.equal(m.name, "Grace");
            assert.equal(await p.page.$$eval("#chat-log img", (imgs) => imgs.length), 0, "no element from a message");
        }
        assert.equal(await linus.page.textContent("#chat-unread"), "2");

        // Opening the chat reads it; the own message shows as "You" on the sender's page only.
        await linus.page.click("#chat-toggle");
        assert.equal(await linus.page.getAttribute("#chat-toggle", "aria-expanded"), "true");
        assert.equal(await linus.page.isVisible("#chat-unread"), false);
        assert.equal(await linus.page.evaluate(() => document.activeElement.id), "chat-input");
        await linus.page.keyboard.type("Thanks, both");
        await linus.page.keyboard.press("Enter");
        for (const p of [ada, grace])
            assert.equal((await hasMessage(p, "Thanks, both")).from, linusId);
        const own = (await messages(linus)).find((m) => m.text === "Thanks, both");
        assert.deepEqual([own.from, own.name], ["self", "You"]);

        // A message is capped; Escape closes the panel and gives the focus back to the toggle.
        assert.equal(await linus.page.getAttribute("#chat-input", "maxlength"), "500");
        await linus.page.focus("#chat-input");
        await linus.page.keyboard.press("Escape");
        assert.equal(await linus.page.isVisible("#chat-panel"), false);
        assert.equal(await linus.page.evaluate(() => document.activeElement.id), "chat-toggle");
        // The c shortcut opens it again, ready to type.
        await linus.page.locator("#chat-toggle").blur();
        await linus.page.keyboard.press("c");
        assert.equal(await linus.page.isVisible("#chat-panel"), true);
        assert.equal(await linus.page.evaluate(() => document.activeElement.id), "chat-input");

        assert.equal(await ada.page.evaluate(() => document.body.dataset.owned), undefined);
    });
});
