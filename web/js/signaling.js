// The WebSocket to signald: joins the room, hands every server message to the app, and keeps our
// membership across a dropped socket. It knows the protocol's envelope (docs/protocol.md) but
// nothing about WebRTC: offers and candidates are opaque `data` here, as they are to the server.
//
// After a socket ends there are three ways on (afterClose below decides which):
//   - resume: the socket ended without a close frame (code 1006: Wi-Fi roamed, a proxy restarted,
//     a laptop lid closed), or a node of a cluster stopped (1001) or restarted (1012), while we
//     held a resumeToken. The server keeps our place for its grace
//     period and keeps everything it would have sent us. We reconnect, send `resume` first with
//     the token and the number of messages received since that token came, and the server
//     replays the rest. Our clientId, our room and the peer connections stay as they are;
//     signals the app sends meanwhile wait in the outbox until `resumed`.
//     An `unavailable` answer to `resume` (a cluster node that cannot reach the rooms this
//     moment) is tried again the same way.
//   - rejoin: any other close frame from the server (1008 policy, ...) means our membership is
//     gone, and so does `resume-failed`. We join again as a new member, with backoff.
//   - elsewhere: close code 4001, another connection resumed our membership. We stop.

// Rejoin backoff: 0.5 s, 1 s, 2 s, 4 s, then every 8 s, each +-25% so that a room full of tabs
// does not hammer a restarted server in lockstep.
const first_retry_ms = 500;
const max_retry_ms = 8000;

// How long the server keeps a suspended member: its --resume-grace default. The server does not
// tell us its setting, so past this the page goes on resuming, but backing off like a rejoin:
// only the server knows whether the membership still lives, and it answers resume-failed once
// it is gone, which brings today's rejoin. Rejoining on our own guess instead would leave a
// stranger beside our own suspended tile on a server with a longer grace.
export const assumed_resume_grace_ms = 30000;
// A resume attempt that neither opens nor gets an answer this long is given up, so a connection
// stuck in a dead network cannot hold the next attempt back.
const resume_attempt_timeout_ms = 5000;
// 1 MiB of signals waiting for the socket: an ICE restart of every peer in a full mesh takes a
// few KB each; past this something else is wrong, and the newest signals are dropped and logged.
const max_outbox_bytes = 1 << 20;

// What a socket's close means for our membership. code: the close event's code; resumable: we
// hold a resumeToken for the membership that socket carried (or was resuming).
export function afterClose(code, resumable)
{
    if (code === 4001)
        return "elsewhere";   // "resumed elsewhere": another connection has our membership now
    // 1006: no close frame reached us: the connection merely broke and our place is kept.
    // 1001 and 1012: the server (a node of a cluster) stopped or restarted; a cluster keeps our
    // place for us to resume on another node (docs/cluster.md). A single server that stopped
    // does not: the resume is then refused and we join again, one round trip later.
    // Every other close the server decides on ends the membership.
    if ((code === 1006 || code === 1001 || code === 1012) && resumable)
        return "resume";
    return "rejoin";
}

// Delay before resume attempt `attempt` (0 = the first after the close): within 1 s of the close,
// then no more often than every 3 s. The jitter keeps a room's pages from arriving in lockstep.
export function resumeDelayMs(attempt, random = Math.random)
{
    return attempt === 0 ? Math.round(200 + random() * 300) : Math.round(3000 + random() * 500);
}

export class SignalingClient
{
    // What the server last told us (protocol.md section 9: the room changes on `joined`/`left`,
    // not when we send `join`/`leave`). Both stay set while we try to resume.
    roomId = null;
    clientId = null;

    #ws = null;
    #wanted = false;       // true between connect() and disconnect(): keep reconnecting
    // "idle" | "joining" (socket opening or `join` sent) | "joined" | "resuming" (socket down, or
    // a new one opening or waiting for the answer to `resume`)
    #phase = "idle";
    #attempt = 0;          // failed join attempts since the last successful join
    #retryTimer = null;
    #attemptTimer = null;  // gives up a resume attempt that hangs
    #target = null;        // { url, roomId, name, token }
    // Our presence (protocol.md 5.7): goes in every `join`, so a rejoin carries it again, and in
    // an `update` whenever it changes while joined. Changed between our `join` and `joined`, or
    // while resuming, it goes as soon as the membership is ours again.
    #state = null;
    #stateUnsent = false;
    // The current membership's resumeToken and how many text messages arrived after the
    // `joined`/`resumed` that brought it; null when the server offers no resume (--resume-grace 0).
    #resume = null;
    #resumeAttempts = 0;
    #resumeDeadline = 0;
    #lastResumeAt = 0;
    #outbox = [];          // signals (JSON texts) sent while resuming, in order
    #outboxBytes = 0;
    #onMessage;
    #onState;
    #log;

    // onMessage(msg): every parsed server message. onState(state, detail):
    //   "connecting"   (detail: { attempt })            opening a socket to join
    //   "joined"       (detail: { roomId, clientId })   a fresh membership: new clientId
    //   "reconnecting" (detail: { delayMs, attempt, code }) the membership is gone; joining again
    //   "resuming"     (detail: { delayMs, attempt, code }) the socket broke; membership kept
    //   "resumed"      (detail: { roomId, clientId })   the same membership on a new socket
    //   "rejoining"    (detail: { code })               resume refused; joining on the same socket
    //   "idle"         (detail: { code, reason })       not connected and not trying
    constructor({ onMessage, onState, log })
    {
        this.#onMessage = onMessage;
        this.#onState = onState;
        this.#log = log;
        // Back online after a network change: do not wait out the backoff.
        window.addEventListener("online", () => this.reconnectNow());
    }

    get connected() { return this.roomId !== null; }
    get resuming() { return this.#phase === "resuming"; }
    get url() { return this.#target?.url ?? null; }
    get active() { return this.#wanted; }

    // token: a signed room token (an invite link's ?token=), for a server that admits joins only
    // with one (protocol.md 7.3); never logged.
    connect(url, roomId, name, token = "")
    {
        this.disconnect();
        this.#wanted = true;
        this.#attempt = 0;
        this.#target = { url, roomId, name, token };
        this.#open("join");
    }

    // Leave on purpose: no reconnect. The server tells the others `peer-left`. (While resuming
    // there is no socket to say so: the server ends the suspended membership after its grace.)
    disconnect()
    {
        const wasActive = this.#wanted || this.#ws !== null;
        this.#wanted = false;
        this.#clearTimers();
        const ws = this.#ws;
        this.#ws = null;
        if (ws) {
            // After `left` (a moderator removed us) there is no room to leave.
            if (ws.readyState === WebSocket.OPEN && this.#phase === "joined" && this.roomId !== null)
                ws.send(JSON.stringify({ action: "leave", roomId: this.roomId }));
            ws.close(1000, "bye");
        }
        this.#forgetMembership();
        this.#phase = "idle";
        if (wasActive)
            this.#onState("idle", { code: 1000, reason: "disconnected" });
    }

    reconnectNow()
    {
        if (!this.#wanted || this.#retryTimer === null)
            return;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = null;
        if (this.#phase === "resuming") {
            // Still no more often than every 3 s (resumeDelayMs).
            const waitMs = Math.max(0, this.#lastResumeAt + resumeDelayMs(1, () => 0) - Date.now());
            this.#retryTimer = setTimeout(() => {
                this.#retryTimer = null;
                this.#open("resume");
            }, waitMs);
        } else {
            this.#open("join");
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

    // Moderation (protocol.md 7.4): the server lets only a member who joined with a moderator's
    // token do these, and answers anyone else `forbidden`. They go out only on a live
    // membership: unlike a signal, a removal or a lock should not happen later than it was asked.
    kick(peerId)
    {
        return this.#sendRequest({ action: "kick", roomId: this.roomId, clientId: peerId });
    }

    setLocked(locked)
    {
        return this.#sendRequest({ action: "lock", roomId: this.roomId, locked });
    }

    // Our whole presence state; sent now when joined, else with the next join or after a resume.
    updateState(state)
    {
        this.#state = state;
        this.#stateUnsent = !this.#sendRequest({ action: "update", roomId: this.roomId, state });
    }

    // How our peer connection with peerId went (protocol.md 5.8), for the operator; false when
    // not joined right now.
    reportIce(peerId, report)
    {
        return this.#sendRequest({ action: "report", roomId: this.roomId, peer: peerId, ...report });
    }

    // A rename mid-call: the others see it from our state; a later rejoin uses it as our name.
    rename(name)
    {
        if (this.#target)
            this.#target.name = name;
    }

    #sendRequest(message)
    {
        if (this.roomId === null || this.#phase !== "joined" || this.#ws?.readyState !== WebSocket.OPEN)
            return false;
        this.#ws.send(JSON.stringify(message));
        return true;
    }

    #sendSignal({ type, to, data })
    {
        if (this.roomId === null)
            return false;
        const message = { action: "signal", roomId: this.roomId, type };
        if (to !== undefined)
            message.to = to;
        if (data !== undefined)
            message.data = data;
        const text = JSON.stringify(message);
        if (this.#phase === "resuming") {
            // The membership is still ours: the signal goes out, in order, once it is resumed.
            if (this.#outboxBytes + text.length > max_outbox_bytes) {
                this.#log("error", `dropped a ${type} signal: ${this.#outbox.length} already wait for the server`);
                return false;
            }
            this.#outbox.push(text);
            this.#outboxBytes += text.length;
            return true;
        }
        if (this.#phase !== "joined" || this.#ws?.readyState !== WebSocket.OPEN)
            return false;
        this.#ws.send(text);
        return true;
    }

    // mode "join": a fresh membership; "resume": take the current one over on a new socket.
    #open(mode)
    {
        const { url, roomId, name } = this.#target;
        if (mode === "join") {
            this.#phase = "joining";
            this.#onState("connecting", { attempt: this.#attempt });
        } else {
            this.#lastResumeAt = Date.now();
        }
        let ws;
        try {
            ws = new WebSocket(url);
        } catch (err) {
            // A malformed URL throws synchronously; retrying would not fix it.
            this.#wanted = false;
            this.#forgetMembership();
            this.#phase = "idle";
            this.#log("error", `cannot open ${url}: ${err.message}`);
            this.#onState("idle", { code: 0, reason: err.message });
            return;
        }
        this.#ws = ws;
        if (mode === "resume") {
            this.#attemptTimer = setTimeout(() => {
                this.#attemptTimer = null;
                if (this.#ws !== ws)
                    return;
                this.#ws = null;   // from now on its events are ignored
                ws.close();
                this.#log("ws", `resume attempt ${this.#resumeAttempts} got no answer; giving it up`);
                this.#scheduleResume(null);
            }, resume_attempt_timeout_ms);
        }

        ws.onopen = () => {
            if (this.#ws !== ws)
                return;
            if (mode === "resume") {
                const { token, received } = this.#resume;
                this.#log("ws", `socket open to ${url}, resuming as ${this.clientId} (${received} message(s) received)`);
                ws.send(JSON.stringify({ action: "resume", token, received }));
            } else {
                this.#log("ws", `socket open to ${url}, joining "${roomId}"`);
                this.#sendJoin(ws);
            }
        };

        ws.onmessage = (event) => {
            if (this.#ws === ws)
                this.#onText(ws, event.data);
        };

        // No onerror handler: an error is always followed by close, which has the code.
        ws.onclose = (event) => {
            if (this.#ws !== ws)
                return;  // an old socket we already replaced or closed on purpose
            this.#ws = null;
            this.#clearTimers();
            this.#log("ws", `socket closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`);
            this.#onClose(event);
        };
    }

    #sendJoin(ws)
    {
        const { roomId, name, token } = this.#target;
        const join = { action: "join", roomId };
        if (name)
            join.name = name;
        if (token)
            join.token = token;
        if (this.#state !== null)
            join.state = this.#state;
        this.#stateUnsent = false;
        ws.send(JSON.stringify(join));
    }

    #onText(ws, text)
    {
        // Every text message after the `joined`/`resumed` that gave us the token counts, whatever
        // it says: the server numbers them all, and `resume` tells it how far we got.
        if (this.#phase === "joined" && this.#resume !== null)
            this.#resume.received += 1;
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            this.#log("error", "server sent a message that is not JSON; ignored");
            return;
        }
        if (this.#phase === "resuming") {
            // The first answer to `resume` is either `resumed` or an error (resume-failed, or
            // unknown-action from a server restarted with --resume-grace 0; unavailable from a
            // cluster node that cannot reach the rooms this moment).
            if (msg.action === "resumed") {
                this.#onResumed(ws, msg);
            } else if (msg.action === "error" && msg.code === "unavailable") {
                this.#onResumeUnavailable(ws, msg);
            } else {
                this.#onResumeFailed(ws, msg);
            }
            this.#onMessage(msg);
            return;
        }
        if (msg.action === "joined") {
            this.roomId = msg.roomId;
            this.clientId = msg.clientId;
            this.#attempt = 0;
            this.#phase = "joined";
            this.#resume = typeof msg.resumeToken === "string" ? { token: msg.resumeToken, received: 0 } : null;
            // A change made after our join left (media starting right after Connect) goes now.
            if (this.#stateUnsent)
                this.updateState(this.#state);
            this.#onState("joined", { roomId: msg.roomId, clientId: msg.clientId });
        } else if (msg.action === "left" && msg.roomId === this.roomId) {
            this.roomId = null;
            this.#resume = null;
        }
        this.#onMessage(msg);
    }

    #onResumed(ws, msg)
    {
        this.#clearTimers();
        this.roomId = msg.roomId;
        this.clientId = msg.clientId;
        this.#attempt = 0;
        this.#phase = "joined";
        // The count restarts: the replay that follows is numbered on this connection.
        this.#resume = typeof msg.resumeToken === "string" ? { token: msg.resumeToken, received: 0 } : null;
        this.#log("ws", `resumed as ${msg.clientId}` +
            (this.#outbox.length ? `; sending ${this.#outbox.length} signal(s) that waited` : ""));
        const outbox = this.#outbox;
        this.#outbox = [];
        this.#outboxBytes = 0;
        for (const text of outbox)
            ws.send(text);
        if (this.#stateUnsent)
            this.updateState(this.#state);
        this.#onState("resumed", { roomId: msg.roomId, clientId: msg.clientId });
    }

    // `unavailable`: the node we reached cannot reach the node that runs the rooms right now (Redis
    // is away, or the rooms are moving between nodes in a rolling restart). Nothing changed
    // (protocol.md): our place is still kept, so we try again as after a broken socket, on a new
    // connection, which a load balancer may send to another node.
    #onResumeUnavailable(ws, msg)
    {
        this.#clearTimers();
        this.#ws = null;   // from now on its events are ignored
        ws.close();
        this.#log("ws", `resume not possible now (${msg.code}); trying again`);
        this.#scheduleResume(null);
    }

    // The server no longer has our membership (or refuses this resume): today's full rejoin. The
    // connection stays open as a fresh client, so the join goes out on it at once.
    #onResumeFailed(ws, msg)
    {
        this.#clearTimers();
        this.#log("ws", `resume refused (${msg.code ?? msg.action}); joining again as a new member`);
        this.#forgetMembership();
        this.#phase = "joining";
        this.#onState("rejoining", { code: msg.code ?? null });
        this.#sendJoin(ws);
    }

    #onClose(event)
    {
        if (!this.#wanted) {
            this.#forgetMembership();
            this.#phase = "idle";
            this.#onState("idle", { code: event.code, reason: event.reason });
            return;
        }
        const wasResuming = this.#phase === "resuming";
        const resumable = this.#resume !== null && (this.#phase === "joined" || wasResuming);
        switch (afterClose(event.code, resumable)) {
        case "elsewhere":
            this.#wanted = false;
            this.#forgetMembership();
            this.#phase = "idle";
            this.#onState("idle", { code: event.code, reason: event.reason });
            break;
        case "resume":
            if (!wasResuming) {
                this.#phase = "resuming";
                this.#resumeAttempts = 0;
                this.#resumeDeadline = Date.now() + assumed_resume_grace_ms;
            }
            this.#scheduleResume(event.code);
            break;
        default:
            this.#forgetMembership();
            this.#phase = "joining";
            this.#scheduleRetry(event.code);
        }
    }

    #scheduleResume(code)
    {
        let delayMs = resumeDelayMs(this.#resumeAttempts);
        if (Date.now() + delayMs >= this.#resumeDeadline) {
            if (Date.now() < this.#resumeDeadline)
                this.#log("ws", "the server's usual grace period is over; resuming less often");
            delayMs = Math.max(delayMs, this.#backoffMs());
        }
        this.#resumeAttempts += 1;
        this.#onState("resuming", { delayMs, attempt: this.#resumeAttempts, code });
        this.#retryTimer = setTimeout(() => {
            this.#retryTimer = null;
            this.#open("resume");
        }, delayMs);
    }

    #scheduleRetry(code)
    {
        const delayMs = this.#backoffMs();
        this.#onState("reconnecting", { delayMs, attempt: this.#attempt, code });
        this.#retryTimer = setTimeout(() => {
            this.#retryTimer = null;
            this.#open("join");
        }, delayMs);
    }

    // The wait before the next of a run of failed attempts: doubling, jittered, capped.
    #backoffMs()
    {
        const base = Math.min(max_retry_ms, first_retry_ms * 2 ** this.#attempt);
        this.#attempt += 1;
        return Math.round(base * (0.75 + Math.random() * 0.5));
    }

    #forgetMembership()
    {
        this.roomId = null;
        this.clientId = null;
        this.#resume = null;
        this.#outbox = [];
        this.#outboxBytes = 0;
    }

    #clearTimers()
    {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = null;
        clearTimeout(this.#attemptTimer);
        this.#attemptTimer = null;
    }
}
