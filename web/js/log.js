// The log panel: a bounded, timestamped list of what happened, tagged by category so a reader can
// follow one thread (ws = the socket, rtc = peer connections, sdp = descriptions, ice, media).
// Everything also goes to the console, where it is not truncated.

// Enough to scroll back through a few minutes of a busy call without growing forever.
const max_entries = 500;

export class LogPanel
{
    #list;

    constructor(list, clearButton)
    {
        this.#list = list;
        clearButton?.addEventListener("click", () => this.#list.replaceChildren());
    }

    // category: "ws" | "rtc" | "sdp" | "ice" | "media" | "error" | "info"
    add(category, message)
    {
        const time = new Date().toLocaleTimeString([], { hour12: false });
        (category === "error" ? console.warn : console.log)(`[${category}] ${message}`);

        const item = document.createElement("li");
        item.dataset.category = category;
        const stamp = document.createElement("time");
        stamp.textContent = time;
        const tag = document.createElement("span");
        tag.className = "log-tag";
        tag.textContent = category;
        const text = document.createElement("span");
        text.className = "log-text";
        text.textContent = message;
        item.append(stamp, tag, text);

        // Follow the end only if the reader is already there; do not yank them while scrolling back.
        const list = this.#list;
        const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
        list.append(item);
        while (list.childElementCount > max_entries)
            list.firstElementChild.remove();
        if (atEnd)
            list.scrollTop = list.scrollHeight;
    }
}
