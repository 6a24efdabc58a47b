// The chat's wire format, one small JSON text per message on each peer's data channel (peer.js):
// {"type":"chat","text":"...","name":"...","at":<ms since 1970>}. No server sees it. Pure
// functions: what we send, what we accept from a peer, and the time shown beside a message.

// 500 characters: a chat line, not a document; the input stops there and a longer one from a
// peer is cut, so one message cannot flood every page's panel.
export const max_chat_chars = 500;
// The same limit for the JSON text as received: an SCTP message may be far larger.
const max_chat_bytes = 4096;

export function encodeChat({ text, name, at })
{
    const message = { type: "chat", text: [...text].slice(0, max_chat_chars).join(""), at };
    if (name)
        message.name = name;
    return JSON.stringify(message);
}

// A peer's message, or null when it is not one we show. `now` bounds the sender's clock: a time
// from the future is shown as now (the peer's clock is not ours to trust).
export function readChat(data, now = Date.now())
{
    if (typeof data !== "string" || data.length > max_chat_bytes)
        return null;
    let message;
    try {
        message = JSON.parse(data);
    } catch {
        return null;
    }
    if (message === null || typeof message !== "object" || message.type !== "chat" || typeof message.text !== "string")
        return null;
    const text = [...message.text.trim()].slice(0, max_chat_chars).join("");
    if (text === "")
        return null;
    const name = typeof message.name === "string" ? [...message.name.trim()].slice(0, 64).join("") : "";
    const at = Number.isFinite(message.at) ? Math.min(message.at, now) : now;
    return { text, name, at };
}

// "14:05", in the reader's own time zone.
export function chatTime(at)
{
    const time = new Date(at);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}
