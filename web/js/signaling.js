// The WebSocket to signald: joins the room, hands every server message to the app, and
// reconnects with backoff when the socket drops. It knows the protocol's envelope (docs/protocol.md)
// but nothing about WebRTC: offers and candidates are opaque `data` here, as they are to the server.

// Backoff: 0.5 s, 1 s, 2 s, 4 s, then every 8 s, each +-25% so that a room full of tabs does not
// hammer a restarted server in lockstep.
const first_retry_ms = 500;
const max_retry_ms = 8000;

export class SignalingClient
{
    // What the server last told us (protocol.md section 9: the room changes on `joined`/`left`,
    // not when we send `join`/`leave`).
    roomId = null;
    clientId = null;

    #ws = null;
    #wanted = false;       // true between connect() and disconnect(): keep reconnecting
    #attempt = 0;          // failed attempts since the last successful join
    #retryTimer = null;
    #target = null;        // { url, roomId, name }
    #onMessage;
    #onState;
    #log;

    // onMessage(msg): every parsed server message. onState(state, detail): "connecting", "joined",
    // "reconnecting" (detail: { delayMs, attempt, code }), "idle" (detail: { code, reason }).
    constructor({ onMessage, onState, log })
    {
        this.#onMessage = onMessage;
        this.#onState = onState;
        this.#log = log;
        // Back online after a network change: do not wait out the backoff.
        window.addEventListener("online", () => this.reconnectNow());
    }

    get connected() { return this.roomId !== null; }
    get url() { return this.#target?.url ?? null; }
    get active() { return this.#wanted; }

    connect(url, roomId, name)
    {
        this.disconnect();
        this.#wanted = true;
        this.#attempt = 0;
        this.#target = { url, roomId, name };
        this.#open();
    }

    // Leave on purpose: no reconnect. The server tells the others `peer-left`.
    disconnect()
    {
        const wasActive = this.#wanted || this.#ws !== null;
        this.#wanted = false;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = null;
        const ws = this.#ws;
        this.#ws = null;
        if (ws) {
            if (ws.readyState === WebSocket.OPEN && this.roomId !== null)
                ws.send(JSON.stringify({ action: "leave", roomId: this.roomId }));
            ws.close(1000, "bye");
        }
        this.roomId = null;
        this.clientId = null;
        if (wasActive)
            this.#onState("idle", { code: 1000, reason: "disconnected" });
    }

    reconnectNow()
    {
        if (this.#wanted && this.#retryTimer !== null) {
            clearTimeout(this.#retryTimer);
            this.#retryTimer = null;
            this.#open();
        }
    }

    // A signal for exactly one peer. The server refuses `"to": null` precisely so that a bug like
    // an unset variable cannot turn a private offer into a broadcast; we refuse it even earlier.
    sendTo(peerId, type, data)
    {
        if (typeof peerId !== "string" || peerId === "")
            throw new Error(`sendTo needs a peer id, got ${peerId}`);
        return this.#sendSignal({ type, to: peerId, data });
    }

    // A signal for every other member of the room (used for `hangup` when leaving).
    broadcast(type, data)
    {
        return this.#sendSignal({ type, data });
    }

    #sendSignal({ type, to, data })
    {
        if (this.#ws?.readyState !== WebSocket.OPEN || this.roomId === null)
            return false;
        const message = { action: "signal", roomId: this.roomId, type };
        if (to !== undefined)
            message.to = to;
        if (data !== undefined)
            message.data = data;
        this.#ws.send(JSON.stringify(message));
        return true;
    }

    #open()
    {
        const { url, roomId, name } = this.#target;
        this.#onState("connecting", { attempt: this.#attempt });
        let ws;
        try {
            ws = new WebSocket(url);
        } catch (err) {
            // A malformed URL throws synchronously; retrying would not fix it.
            this.#wanted = false;
            this.#log("error", `cannot open ${url}: ${err.message}`);
            this.#onState("idle", { code: 0, reason: err.message });
            return;
        }
        this.#ws = ws;

        ws.onopen = () => {
            this.#log("ws", `socket open to ${url}, joining "${roomId}"`);
            const join = { action: "join", roomId };
            if (name)
                join.name = name;
            ws.send(JSON.stringify(join));
        };

        ws.onmessage = (event) => {
            let msg;
            try {
                msg = JSON.parse(event.data);
            } catch {
                this.#log("error", "server sent a message that is not JSON; ignored");
                return;
            }
            if (msg.action === "joined") {
                this.roomId = msg.roomId;
                this.clientId = msg.clientId;
                this.#attempt = 0;
                this.#onState("joined", { roomId: msg.roomId, clientId: msg.clientId });
            } else if (msg.action === "left" && msg.roomId === this.roomId) {
                this.roomId = null;
            }
            this.#onMessage(msg);
        };

        // No onerror handler: an error is always followed by close, which has the code.
        ws.onclose = (event) => {
            if (this.#ws !== ws)
                return;  // an old socket we already replaced or closed on purpose
            this.#ws = null;
            this.roomId = null;
            this.clientId = null;
            this.#log("ws", `socket closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`);
            if (this.#wanted)
                this.#scheduleRetry(event.code);
            else
                this.#onState("idle", { code: event.code, reason: event.reason });
        };
    }

    #scheduleRetry(code)
    {
        const base = Math.min(max_retry_ms, first_retry_ms * 2 ** this.#attempt);
        const delayMs = Math.round(base * (0.75 + Math.random() * 0.5));
        this.#attempt += 1;
        this.#onState("reconnecting", { delayMs, attempt: this.#attempt, code });
        this.#retryTimer = setTimeout(() => {
            this.#retryTimer = null;
            this.#open();
        }, delayMs);
    }
}
