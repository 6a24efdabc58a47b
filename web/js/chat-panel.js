// The chat panel: the message list, the input, and the toggle in the call controls with its
// unread count. Pure DOM: app.js hands it messages to show and hears what the person sends
// (onSend); sending to the peers is not its business. Every text goes in with textContent.

import { chatTime, max_chat_chars } from "./chat.js";

// Older messages go from the list past this, so a long call does not grow the page forever.
const max_shown_messages = 300;

export class ChatPanel
{
    #els;
    #onSend;
    #unread = 0;

    // els: { panel, toggle, unread, log, form, input, close }
    constructor(els, { onSend })
    {
        this.#els = els;
        this.#onSend = onSend;
        els.input.maxLength = max_chat_chars;
        els.toggle.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
        els.close.addEventListener("click", () => this.close());
        els.form.addEventListener("submit", (event) => {
            event.preventDefault();
            const text = els.input.value.trim();
            if (text === "")
                return;
            els.input.value = "";
            this.#onSend(text);
        });
        els.input.addEventListener("keydown", (event) => {
            if (event.key === "Escape")
                this.close();
        });
        this.#showUnread();
    }

    get isOpen() { return !this.#els.panel.hidden; }

    // Opening reads everything: the count goes back to zero. The input gets the focus, so the
    // `c` shortcut leads straight to typing.
    open()
    {
        const { panel, toggle, input } = this.#els;
        panel.hidden = false;
        toggle.setAttribute("aria-expanded", "true");
        this.#unread = 0;
        this.#showUnread();
        panel.scrollIntoView({ block: "nearest" });
        input.focus();
    }

    close()
    {
        const { panel, toggle } = this.#els;
        const hadFocus = panel.contains(document.activeElement);
        panel.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
        if (hadFocus)
            toggle.focus();
    }

    // { from: clientId or null for ours, name, text, at }
    add({ from, name, text, at })
    {
        const item = document.createElement("li");
        item.className = from === null ? "chat-message chat-own" : "chat-message";
        item.dataset.from = from ?? "self";
        const head = document.createElement("div");
        head.className = "chat-head";
        const who = document.createElement("span");
        who.className = "chat-name";
        who.textContent = name;
        const when = document.createElement("time");
        when.dateTime = new Date(at).toISOString();
        when.textContent = chatTime(at);
        head.append(who, when);
        const body = document.createElement("p");
        body.className = "chat-text";
        body.textContent = text;
        item.append(head, body);
        const { log } = this.#els;
        log.append(item);
        while (log.childElementCount > max_shown_messages)
            log.firstElementChild.remove();
        log.scrollTop = log.scrollHeight;
        if (from !== null && !this.isOpen) {
            this.#unread += 1;
            this.#showUnread();
        }
    }

    #showUnread()
    {
        const { unread, toggle } = this.#els;
        unread.textContent = this.#unread > 99 ? "99+" : String(this.#unread);
        unread.hidden = this.#unread === 0;
        toggle.setAttribute("aria-label", this.#unread === 0 ? "Chat" : `Chat, ${this.#unread} unread`);
    }
}
