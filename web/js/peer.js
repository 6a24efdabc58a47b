// One RTCPeerConnection to one remote member, using the "perfect negotiation" pattern
// (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) so that either side may
// renegotiate at any time - media started late, camera turned off, an ICE restart - and two
// offers crossing on the wire ("glare") resolve themselves without extra messages.
//
// The app creates a Peer, feeds it the remote's signals (handleSignal) and local tracks
// (setLocalTracks), and listens to its callbacks. The Peer never talks to the socket directly:
// `send` is handed in, already directed to this one peer.
//
// Each connection also carries the chat: one data channel, negotiated (both sides create it with
// the same id, so no extra signaling announces it). The caller creates it with its transceivers,
// so the first offer already has the data section; the called side creates it when that offer
// arrives, after which it adds nothing to negotiate. Messages sent before it opens wait here.

import { describeSdp } from "./sdp-log.js";
import { readStats } from "./stats.js";

const kinds = ["audio", "video"];

// ICE that stays "disconnected" this long is unlikely to come back by itself (a network change,
// a laptop lid); "failed" is restarted at once.
const disconnected_restart_ms = 5000;
// The chat channel's fixed id on both sides (negotiated: true).
const chat_channel_id = 0;
// Chat messages waiting for a channel that has not opened yet; past this the oldest go.
const max_queued_chats = 100;

export class Peer
{
    // Roles. The side that calls (the member that was already in the room) creates the two
    // transceivers; the called side gets them from the offer. Politeness is separate: it only
    // decides who yields when offers collide, and both sides derive it from the ids alone.
    polite;
    initiator;
    remoteStream = new MediaStream();
    lastStats = null;
    // What our video to this peer is divided by (1 = as captured); mesh-health.js decides it.
    sendScale = 1;

    #pc;
    #send;
    #log;
    #events;
    #localTracks = { audio: null, video: null };
    #makingOffer = false;      // between negotiationneeded and sending our offer
    #ignoreOffer = false;      // we are impolite and dropped a colliding offer
    #pendingCandidates = [];   // candidates that arrived before any remote description
    #queue = Promise.resolve(); // incoming signals, applied strictly one after another
    #disconnectedTimer = null;
    #closed = false;
    #chat = null;              // the chat data channel, once this side created it
    #chatQueue = [];           // texts sent before it opened

    // selfId/peerId: clientIds. send(type, data): a directed signal to this peer.
    // events: { onTrack(stream), onStateChange(state), onRemoteVideo(hasVideo), onChat(text) }
    constructor({ selfId, peerId, initiator, rtcConfig, send, log, events })
    {
        this.id = peerId;
        this.polite = selfId < peerId;   // protocol.md 12: the smaller clientId is polite
        this.initiator = initiator;
        this.#send = send;
        this.#log = log;
        this.#events = events;
        this.#pc = new RTCPeerConnection(rtcConfig);
        this.#wire();
        this.#log("rtc", `peer connection created (${initiator ? "we call" : "they call"}, ${this.polite ? "polite" : "impolite"})`);

        if (initiator) {
            // One audio and one video transceiver for the whole life of the connection. Media
            // changes later are replaceTrack + direction, so the m-lines never change and never
            // need to be matched up again.
            for (const kind of kinds)
                this.#pc.addTransceiver(kind, { direction: "recvonly" });
            this.#openChat();
        }
    }

    // For tests and the curious (window.call.peers.get(id).pc in the console).
    get pc() { return this.#pc; }
    get connectionState() { return this.#pc.connectionState; }
    // "none" (the called side before the first offer), then the data channel's readyState.
    get chatState() { return this.#chat?.readyState ?? "none"; }

    // A chat message (chat.js's JSON text): sent now if the channel is open, else when it opens.
    sendChat(text)
    {
        if (this.#closed)
            return;
        if (this.#chat?.readyState === "open") {
            this.#chat.send(text);
            return;
        }
        this.#chatQueue.push(text);
        if (this.#chatQueue.length > max_queued_chats)
            this.#chatQueue.shift();
    }

    // What we send to this peer; null for a kind means "send nothing, but keep receiving".
    setLocalTracks(tracks)
    {
        this.#localTracks = { audio: tracks.audio ?? null, video: tracks.video ?? null };
        this.#attachLocalTracks();
    }

    // Signals from this peer, in the order the server relayed them (protocol.md 9).
    handleSignal(type, data)
    {
        this.#queue = this.#queue
            .then(() => {
                if (this.#closed)
                    return;
                if (type === "offer" || type === "answer")
                    return this.#onDescription(data);
                if (type === "ice-candidate")
                    return this.#onCandidate(data);
            })
            .catch((err) => this.#log("error", `${type} failed: ${err.message}`));
    }

    async readStats()
    {
        if (this.#closed)
            return null;
        this.lastStats = await readStats(this.#pc, this.lastStats);
        return this.lastStats;
    }

    // Scales the video we send to this peer only (the others keep theirs): encoding parameters,
    // no renegotiation. A sender with no encodings yet (before the first offer) is left alone.
    async setSendScale(scale)
    {
        const sender = this.#transceiver("video")?.sender;
        if (this.#closed || !sender)
            return false;
        const params = sender.getParameters();
        if (!params.encodings?.length)
            return false;
        for (const encoding of params.encodings)
            encoding.scaleResolutionDownBy = scale;
        await sender.setParameters(params);
        this.sendScale = scale;
        return true;
    }

    restartIce()
    {
        if (this.#closed)
            return;
        this.#log("ice", "restarting ICE");
        this.#pc.restartIce();   // fires negotiationneeded: the new offer carries new credentials
    }

    close()
    {
        if (this.#closed)
            return;
        this.#closed = true;
        clearTimeout(this.#disconnectedTimer);
        this.#pc.close();
        for (const track of this.remoteStream.getTracks())
            track.stop();
    }

    #openChat()
    {
        const channel = this.#pc.createDataChannel("chat", { negotiated: true, id: chat_channel_id });
        this.#chat = channel;
        channel.onopen = () => {
            const waiting = this.#chatQueue;
            this.#chatQueue = [];
            if (waiting.length)
                this.#log("rtc", `chat open; sending ${waiting.length} message(s) that waited`);
            for (const text of waiting)
                channel.send(text);
        };
        channel.onmessage = ({ data }) => this.#events.onChat?.(data);
    }

    #wire()
    {
        const pc = this.#pc;

        // Perfect negotiation, part 1: whenever the browser says the session needs a new
        // offer, make one. setLocalDescription() with no argument creates the right description
        // for the current state (offer, or answer if an offer slipped in meanwhile).
        pc.onnegotiationneeded = async () => {
            try {
                this.#makingOffer = true;
                await pc.setLocalDescription();
                this.#logDescription("local", pc.localDescription);
                this.#send(pc.localDescription.type, pc.localDescription.toJSON());
            } catch (err) {
                this.#log("error", `negotiation failed: ${err.message}`);
            } finally {
                this.#makingOffer = false;
            }
        };

        pc.onicecandidate = ({ candidate }) => {
            // null marks the end of gathering; the remote does not need to be told.
            if (candidate)
                this.#send("ice-candidate", candidate.toJSON());
        };

        // We build our own stream per peer from the received tracks: it does not depend on the
        // sender announcing stream ids, and it exists before any track arrives.
        pc.ontrack = ({ track }) => {
            this.#log("media", `receiving ${track.kind}`);
            if (!this.remoteStream.getTracks().includes(track))
                this.remoteStream.addTrack(track);
            if (track.kind === "video") {
                // A remote track is muted while no media flows: before the first frame, and when
                // the sender stops (camera off, direction recvonly).
                const report = () => this.#events.onRemoteVideo?.(!track.muted);
                track.onmute = report;
                track.onunmute = report;
                report();
            }
            this.#events.onTrack?.(this.remoteStream);
        };

        pc.onconnectionstatechange = () => {
            this.#log("rtc", `connection ${pc.connectionState}`);
            this.#events.onStateChange?.(pc.connectionState);
        };

        pc.oniceconnectionstatechange = () => {
            const state = pc.iceConnectionState;
            clearTimeout(this.#disconnectedTimer);
            if (state === "failed") {
                this.#events.onIceFailed?.();
                this.restartIce();
            } else if (state === "disconnected") {
                this.#disconnectedTimer = setTimeout(() => {
                    if (pc.iceConnectionState === "disconnected")
                        this.restartIce();
                }, disconnected_restart_ms);
            }
        };
    }

    // Perfect negotiation, part 2: apply a remote description, yielding or not on collision.
    async #onDescription(description)
    {
        const pc = this.#pc;
        const offerCollision =
            description.type === "offer" && (this.#makingOffer || pc.signalingState !== "stable");
        this.#ignoreOffer = !this.polite && offerCollision;
        if (this.#ignoreOffer) {
            this.#log("rtc", "offers collided; we are impolite, so we ignore theirs");
            return;
        }
        if (offerCollision)
            this.#log("rtc", "offers collided; we are polite, so we roll ours back");

        // When polite and colliding, this implicitly rolls back our own offer first.
        await pc.setRemoteDescription(description);
        this.#logDescription("remote", description);
        await this.#flushCandidates();
        // The called side's half of the chat channel; the offer has negotiated its transport.
        if (description.type === "offer" && this.#chat === null)
            this.#openChat();

        if (description.type === "offer") {
            // The called side's transceivers exist only now; give them our tracks before
            // answering so the answer already says sendrecv.
            this.#attachLocalTracks();
            await pc.setLocalDescription();
            this.#logDescription("local", pc.localDescription);
            this.#send("answer", pc.localDescription.toJSON());
        }
    }

    async #onCandidate(candidate)
    {
        if (!candidate)
            return;
        // addIceCandidate before setRemoteDescription throws: keep them until it is set.
        if (!this.#pc.remoteDescription) {
            this.#pendingCandidates.push(candidate);
            return;
        }
        try {
            await this.#pc.addIceCandidate(candidate);
        } catch (err) {
            // Candidates for an offer we ignored are expected to fail.
            if (!this.#ignoreOffer)
                throw err;
        }
    }

    async #flushCandidates()
    {
        const pending = this.#pendingCandidates;
        this.#pendingCandidates = [];
        if (pending.length)
            this.#log("ice", `applying ${pending.length} queued candidate(s)`);
        for (const candidate of pending) {
            try {
                await this.#pc.addIceCandidate(candidate);
            } catch (err) {
                this.#log("error", `queued candidate rejected: ${err.message}`);
            }
        }
    }

    // Put our current tracks on the transceivers. Changing a direction fires negotiationneeded
    // (handled above); swapping one track for another with replaceTrack needs no negotiation.
    #attachLocalTracks()
    {
        if (this.#closed)
            return;
        for (const kind of kinds) {
            const transceiver = this.#transceiver(kind);
            if (!transceiver)
                continue;  // the called side before the first offer: done when it arrives
            const track = this.#localTracks[kind];
            if (transceiver.sender.track !== track) {
                transceiver.sender.replaceTrack(track)
                    .catch((err) => this.#log("error", `replaceTrack(${kind}) failed: ${err.message}`));
            }
            const direction = track ? "sendrecv" : "recvonly";
            if (transceiver.direction !== direction)
                transceiver.direction = direction;
        }
    }

    #transceiver(kind)
    {
        return this.#pc.getTransceivers().find(
            (t) => t.receiver.track.kind === kind && t.direction !== "stopped") ?? null;
    }

    #logDescription(side, description)
    {
        this.#log("sdp", `${side} ${describeSdp(description)}`);
    }
}
