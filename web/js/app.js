// Wires the page together: signaling messages create and feed Peers, local media changes go to
// every Peer, and the UI follows both. The mesh policy (protocol.md section 12) lives here:
//   - on `joined`, prepare a tile per member and wait: the members already here call us;
//   - on `peer-joined`, we were here first, so we call the newcomer;
//   - on `peer-left` or `hangup`, close that peer's connection and remove its tile;
//   - on `left` with reason "kicked", a moderator removed us: every call ends and the page stays
//     out (no rejoin, no reconnect) until the person presses Connect;
//   - on `peer-suspended`, that member's socket broke: its tile stays, marked, and its call goes
//     on (media never needed the server); `peer-resumed` clears the mark;
//   - when our own socket breaks, signaling.js resumes our membership and every call goes on;
//     only when the membership is gone (`resume-failed`, a close from the server) does every
//     call end, and after rejoining we are a new member and the calls are set up again by the
//     same rules.
// Beside the calls it keeps our presence state (presence.js: sent on join and on every change,
// shown from the others' `peer-updated`), relays the chat over each Peer's data channel, and
// warns when the room passes the size where a mesh usually degrades (mesh-health.js).

import { inviteLink, nameProblem, readSettings, roomIdProblem, rtcConfiguration } from "./config.js";
import { encodeChat, readChat } from "./chat.js";
import { ChatPanel } from "./chat-panel.js";
import { refusalExplanation, removedExplanation } from "./explanations.js";
import { LogPanel } from "./log.js";
import { LocalMedia, describeMediaError } from "./media.js";
import { meshSizeWarning } from "./mesh-health.js";
import { Peer } from "./peer.js";
import { displayName, presenceState, readPresence } from "./presence.js";
import { readRoomToken } from "./room-token.js";
import { shortcutFor } from "./shortcuts.js";
import { SignalingClient } from "./signaling.js";
import { StatsMonitor } from "./stats-monitor.js";
import { Tiles } from "./tiles.js";
import { Ui } from "./ui.js";

const settings = readSettings();
// Whether our token makes us a moderator decides what the page offers; the server decides what
// it allows.
const role = readRoomToken(settings.token);
const ui = new Ui(settings);
const { els } = ui;
const logPanel = new LogPanel(els.log, els.clearLog);
const log = (category, message) => logPanel.add(category, message);
const tiles = new Tiles({
    stage: els.stage,
    container: els.remoteVideos,
    onSoundBlocked: () => { els.enableSound.hidden = false; },
    onKick: kick,
});

const chat = new ChatPanel({
    panel: els.chatPanel, toggle: els.chatToggle, unread: els.chatUnread, log: els.chatLog,
    form: els.chatForm, input: els.chatInput, close: els.chatClose,
}, { onSend: sendChat });

const peers = new Map();   // clientId -> Peer, one per remote member we are in a call with
const names = new Map();   // clientId -> display name ("" when none), for every member of the room
const states = new Map();  // clientId -> that member's latest presence state (protocol.md 5.7)
let handRaised = false;    // ours, sent in our state
let ownName = "";          // the name we joined with, or renamed ourselves to since
let sentPresence = "";     // JSON of the state last handed to signaling: unchanged ones are not resent
let iceServers = null;     // from `joined`, when the server provides them
let reconnecting = false;  // the membership is gone and we are joining again
let resuming = false;      // the socket broke and we are taking the same membership back
let joinedOnce = false;    // since the last Connect: tells "lost the server" from "cannot reach it"
let roomLocked = false;    // a moderator locked our room: only moderators may join it now

const media = new LocalMedia({ resolution: settings.resolution, log, onChange: onMediaChange });
const signaling = new SignalingClient({ onMessage, onState: onSignalingState, log });

// In a room we entered with a token the server names members after their tokens: those names win.
const label = (peerId) => displayName(states.get(peerId), names.get(peerId), peerId, settings.token !== "");

// ---- Peers -------------------------------------------------------------------------------------

function addPeer(peerId, initiator)
{
    if (peers.has(peerId))
        return peers.get(peerId);
    const peer = new Peer({
        selfId: signaling.clientId,
        peerId,
        initiator,
        rtcConfig: rtcConfiguration(settings, iceServers),
        send: (type, data) => signaling.sendTo(peerId, type, data),
        log: (category, message) => log(category, `${label(peerId)}: ${message}`),
        events: {
            onTrack: (stream) => tiles.setStream(peerId, stream),
            onRemoteVideo: (hasVideo) => tiles.setHasVideo(peerId, hasVideo),
            onChat: (data) => receiveChat(peerId, data),
            onStateChange: (state) => {
                tiles.setConnectionState(peerId, state);
                if (state === "connected")
                    peer.readStats().then((stats) => logMediaPath(peerId, stats), () => {});
            },
            onIceFailed: () => reportIce(peerId, { ice: "failed" }),
        },
    });
    peers.set(peerId, peer);
    tiles.add(peerId, label(peerId));
    tiles.setPresence(peerId, states.get(peerId));
    peer.setLocalTracks(media.outgoing());
    updateTitle();
    return peer;
}

// A resume after a gap (docs/protocol.md 6.7): a clustered server lost messages we may have
// missed (the node that ran the room crashed), so the room is what `peers` says now. Calls with
// members who are gone end; the others restart ICE, so that whatever negotiation was under way
// is done again; a member we had no call with gets one, offered by the smaller clientId (the
// other side decides the same way).
function resumedAfterGap(members)
{
    const present = new Set(members.map((member) => member.clientId));
    for (const peerId of [...peers.keys()])
        if (!present.has(peerId))
            removePeer(peerId, "no longer in the room after the server's gap");
    for (const peerId of [...names.keys()])
        if (!present.has(peerId)) {
            names.delete(peerId);
            states.delete(peerId);
        }
    for (const member of members) {
        names.set(member.clientId, member.name ?? "");
        rememberState(member.clientId, member.state);
        const known = peers.get(member.clientId);
        if (known)
            known.restartIce();
        else
            addPeer(member.clientId, signaling.clientId < member.clientId);
        showPresence(member.clientId);
        tiles.setSuspended(member.clientId, member.suspended === true);
    }
    log("ws", `resumed our place after a gap on the server; ${members.length} member(s) here, restarting ICE`);
    updateTitle();
}

function removePeer(peerId, reason)
{
    const peer = peers.get(peerId);
    if (!peer)
        return;
    peer.close();
    peers.delete(peerId);
    loggedPaths.delete(peerId);
    reportedIce.delete(peerId);
    tiles.remove(peerId);
    log("rtc", `${label(peerId)}: ${reason}; connection closed`);
    updateTitle();
}

function endAllCalls(reason)
{
    for (const peerId of [...peers.keys()])
        removePeer(peerId, reason);
    names.clear();
    states.clear();
}

// Logs the candidate pair a peer's media takes whenever it is new: when the connection comes up
// (the pair may not be in the stats yet at that moment, so every stats round looks again) and
// after an ICE restart moves it.
const loggedPaths = new Map();   // peerId -> the path last logged
function logMediaPath(peerId, stats)
{
    if (!stats?.local || !stats.remote || !peers.has(peerId))
        return;
    reportIce(peerId, icePathReport(stats));
    // A peer-reflexive candidate (learned from an incoming check before the peer's own
    // candidate message arrived) has its address hidden in stats.
    const where = (c) => `${c.type} ${c.address || "(hidden)"}:${c.port}`;
    const path = `${where(stats.local)} ⇄ ${where(stats.remote)} over ${stats.local.protocol}`;
    if (loggedPaths.get(peerId) === path)
        return;
    loggedPaths.set(peerId, path);
    log("ice", `${label(peerId)}: media flows ${path}`);
}

// What the server is told of each peer connection (docs/protocol.md 5.8): the kinds of candidate
// the first selected pair joins, and whether ICE ever failed; each once, never an address. The
// operator's /metrics count them: how many calls need TURN, how many fail outright.
const reportedIce = new Map();   // peerId -> Set of the `ice` values already told
const candidateTypes = ["host", "srflx", "prflx", "relay"];
function icePathReport({ local, remote })
{
    // A relay candidate's own protocol is always udp; what matters is how we reach the TURN
    // server (turn: over udp or tcp, turns: over tls).
    const protocol = local.type === "relay" ? local.relayProtocol : local.protocol;
    if (!candidateTypes.includes(local.type) || !candidateTypes.includes(remote.type) ||
        !["udp", "tcp", "tls"].includes(protocol))
        return null;
    return { ice: "connected", local: local.type, remote: remote.type, protocol };
}

function reportIce(peerId, report)
{
    const told = reportedIce.get(peerId) ?? new Set();
    if (!report || told.has(report.ice) || !peers.has(peerId))
        return;
    // Not sent while signaling is down: the next stats round (or failure) tries again.
    if (signaling.reportIce(peerId, report)) {
        told.add(report.ice);
        reportedIce.set(peerId, told);
    }
}

// ---- Signaling ---------------------------------------------------------------------------------

function onMessage(msg)
{
    // Messages about a room we are not in (possible right after a room change, protocol.md 9).
    // `joined` and `left` are what change the room; `error` names none.
    if (!["joined", "left", "error"].includes(msg.action) && msg.roomId !== signaling.roomId)
        return;

    switch (msg.action) {
    case "joined":
        iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : null;
        names.clear();
        states.clear();
        for (const member of msg.peers) {
            names.set(member.clientId, member.name ?? "");
            rememberState(member.clientId, member.state);
        }
        ui.setClientId(msg.clientId);
        setRoomLocked(msg.locked === true);
        log("ws", `joined “${msg.roomId}” as ${msg.clientId}${role.moderator ? " (moderator)" : ""}; ` +
            `${msg.peers.length} member(s) already here` + (roomLocked ? "; the room is locked" : "") +
            (iceServers ? `; ${iceServers.length} ICE server(s) from the server` : "; no ICE servers (host candidates only)"));
        // They were here first: each of them will send us an offer. Show their tiles meanwhile.
        for (const member of msg.peers) {
            addPeer(member.clientId, false);
            // Its socket broke and it is coming back: it calls us once it has resumed.
            tiles.setSuspended(member.clientId, member.suspended === true);
        }
        break;
    case "resumed":
        // Fresh TURN credentials for peer connections made from now on; the calls we have keep
        // theirs. What we missed follows as ordinary messages, so the member list is not resent.
        iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : null;
        if (msg.gap === true && Array.isArray(msg.peers)) {
            // Like `joined`, it says whether the room is locked: a room-locked may be lost.
            setRoomLocked(msg.locked === true);
            resumedAfterGap(msg.peers);
            break;
        }
        log("ws", `resumed our place in “${msg.roomId}” as ${msg.clientId}; missed messages follow`);
        break;
    case "peer-suspended":
        tiles.setSuspended(msg.clientId, true);
        log("ws", `${label(msg.clientId)} lost the server; their call goes on while they reconnect`);
        break;
    case "peer-resumed":
        tiles.setSuspended(msg.clientId, false);
        log("ws", `${label(msg.clientId)} is back on the server`);
        break;
    case "peer-joined":
        // Fresh TURN credentials for the call we are about to make: ours from `joined` may have
        // expired by now (protocol.md 6.2).
        if (Array.isArray(msg.iceServers))
            iceServers = msg.iceServers;
        names.set(msg.peer.clientId, msg.peer.name ?? "");
        rememberState(msg.peer.clientId, msg.peer.state);
        log("ws", `${label(msg.peer.clientId)} joined; calling them`);
        addPeer(msg.peer.clientId, true);
        break;
    case "peer-left":
        if (msg.reason === "kicked") {
            ui.toast(`${label(msg.clientId)} was removed by a moderator`);
            removePeer(msg.clientId, "removed by a moderator");
        } else {
            removePeer(msg.clientId, "left the room");
        }
        names.delete(msg.clientId);
        states.delete(msg.clientId);
        updateTitle();
        break;
    case "peer-updated":
        onPeerUpdated(msg.clientId, msg.state);
        break;
    case "left":
        endAllCalls("we left the room");
        if (msg.reason === "kicked")
            removedByModerator();
        break;
    case "room-locked":
        setRoomLocked(msg.locked === true);
        ui.toast(roomLocked ? "The room is locked: nobody new can join" : "The room is unlocked: anyone with an invite can join");
        log("ws", `a moderator ${roomLocked ? "locked" : "unlocked"} the room`);
        break;
    case "signal":
        onSignal(msg);
        break;
    case "error":
        onServerError(msg);
        break;
    default:
        log("ws", `ignoring unknown message “${msg.action}”`);  // protocol.md 14: ignore, don't fail
    }
}

// ---- Presence (protocol.md 5.7) -----------------------------------------------------------------

function rememberState(peerId, state)
{
    if (state !== undefined)
        states.set(peerId, state);
}

function showPresence(peerId)
{
    tiles.setLabel(peerId, label(peerId));
    tiles.setPresence(peerId, states.get(peerId));
}

function onPeerUpdated(peerId, state)
{
    const before = readPresence(states.get(peerId));
    const oldLabel = label(peerId);
    states.set(peerId, state);
    const after = readPresence(state);
    showPresence(peerId);
    if (label(peerId) !== oldLabel)
        log("info", `${oldLabel} is now called ${label(peerId)}`);
    if (after.hand && !before.hand)
        ui.toast(`${label(peerId)} raised their hand`);
}

// Our own state, as the others should see it now. Sent only when it changed; signaling.js puts
// it in every join, so a rejoin after a lost membership carries it again.
function sendPresence()
{
    const { video } = media.outgoing();
    const state = presenceState({
        muted: media.mic === null || media.micMuted,
        video: video !== null,
        sharing: media.sharingScreen,
        hand: handRaised,
        name: ownName,
    });
    const text = JSON.stringify(state);
    if (text === sentPresence)
        return;
    sentPresence = text;
    signaling.updateState(state);
}

function setHandRaised(raised)
{
    handRaised = raised;
    ui.setHandRaised(raised);
    sendPresence();
}

function rename()
{
    const name = ui.formValues().name;
    // An empty name in our state means "no rename" to the others (presence.js), who would keep
    // showing the old one: say so here rather than pretend.
    const problem = name === "" ? "Enter the name the others should see." : nameProblem(name);
    ui.showFormError(problem);
    if (problem || name === ownName)
        return;
    ownName = name;
    signaling.rename(name);
    sendPresence();
    ui.toast(`You are now “${name}” to the others`);
    log("info", `renamed ourselves to “${name}”`);
}

// ---- Chat (over each peer's data channel; the server never sees it) -----------------------------

// To everyone we have a call with; a peer whose channel is still opening gets it once it opens.
function sendChat(text)
{
    const at = Date.now();
    const data = encodeChat({ text, name: ownName, at });
    for (const peer of peers.values())
        peer.sendChat(data);
    chat.add({ from: null, name: "You", text, at });
    if (peers.size === 0)
        log("info", "chat: nobody else is in the call to read that yet");
}

function receiveChat(peerId, data)
{
    const message = readChat(data);
    if (!message) {
        log("error", `${label(peerId)}: ignored a chat message we cannot read`);
        return;
    }
    chat.add({ from: peerId, name: message.name || label(peerId), text: message.text, at: message.at });
}

function onSignal(msg)
{
    if (msg.type === "hangup") {
        removePeer(msg.from, "hung up");
        return;
    }
    let peer = peers.get(msg.from);
    // An offer from a member we have no call with (they hung up earlier and call again): answer it.
    if (!peer && msg.type === "offer")
        peer = addPeer(msg.from, false);
    if (!peer) {
        log("ws", `ignoring ${msg.type} from ${label(msg.from)}: no call with them`);
        return;
    }
    peer.handleSignal(msg.type, msg.data);
}

// A refusal the person must hear of is explained in words (explanations.js); the server's own
// message goes to the log. unknown-peer and not-in-room on a signal happen when a peer leaves
// while our signal is in flight: routine, log only.
function onServerError(msg)
{
    log("error", `server refused ${msg.request ?? "a message"}: ${msg.code} (${msg.message})`);
    if (msg.request === "join") {
        // No retry: the server would refuse again (a ban or a lock lasts; a token stays wrong).
        signaling.disconnect();
        ui.showNotice(refusalExplanation(msg), "error", "join");
    } else if (msg.request === "kick" || msg.request === "lock") {
        ui.showNotice(refusalExplanation(msg), "warning", "moderation");
    }
}

// ---- Moderation (protocol.md 7.4) --------------------------------------------------------------

// From a tile's kick button, which has already asked for a second click.
function kick(peerId)
{
    if (signaling.kick(peerId))
        log("ws", `asking the server to remove ${label(peerId)}`);
    else
        ui.showNotice("Not connected to the server right now, so nobody can be removed. Try again in a moment.", "warning", "moderation");
}

function toggleLock()
{
    if (!signaling.setLocked(!roomLocked))
        ui.showNotice("Not connected to the server right now, so the room cannot be locked. Try again in a moment.", "warning", "moderation");
    // The toggle follows the server's `room-locked`, which every member hears, us included.
}

function setRoomLocked(locked)
{
    roomLocked = locked;
    ui.setRoomLocked(locked);
}

// A moderator removed us. The server keeps the socket open as a fresh client; we close it, so
// nothing rejoins (the server would refuse while the ban lasts, and coming back is the person's
// decision), and stop the camera and microphone, as hanging up does.
function removedByModerator()
{
    log("ws", "a moderator removed us from the room");
    signaling.disconnect();
    media.stop();
    ui.showNotice(removedExplanation(), "error", "removed");
}

function onSignalingState(state, detail)
{
    switch (state) {
    case "connecting":
        ui.setConnection("connecting", reconnecting ? `Reconnecting (attempt ${detail.attempt})…` : "Connecting…", null);
        break;
    case "joined":
    case "resumed":
        ui.setConnection("joined", `Connected as ${detail.clientId}`, detail.roomId);
        if (reconnecting || resuming) {
            ui.hideNotice("socket");
            ui.toast("Reconnected");
        }
        reconnecting = false;
        resuming = false;
        joinedOnce = true;
        break;
    case "resuming":
        // Our clientId, tiles and peer connections stay: the server keeps our place.
        resuming = true;
        ui.setConnection("reconnecting", `Reconnecting in ${(detail.delayMs / 1000).toFixed(1)} s (attempt ${detail.attempt})…`,
            signaling.roomId);
        ui.showNotice("Lost the connection to the signaling server. Reconnecting; the call goes on meanwhile.",
            "info", "socket");
        break;
    case "rejoining":
        endAllCalls("the server no longer had our place in the room");
        setRoomLocked(false);
        ui.setClientId(null);
        resuming = false;
        reconnecting = true;
        ui.setConnection("connecting", "Reconnecting: joining again…", null);
        break;
    case "reconnecting":
        endAllCalls("the connection to the server was lost");
        setRoomLocked(false);
        resuming = false;
        ui.setClientId(null);
        reconnecting = true;
        ui.setConnection("reconnecting", `Reconnecting in ${(detail.delayMs / 1000).toFixed(1)} s…`, null);
        ui.showNotice(joinedOnce
            ? "Lost the connection to the signaling server. Reconnecting; the call resumes by itself."
            : `Cannot reach the signaling server at ${signaling.url}. Retrying…`, "info", "socket");
        break;
    case "idle":
        endAllCalls("disconnected");
        setRoomLocked(false);
        ui.setClientId(null);
        reconnecting = false;
        resuming = false;
        ui.hideNotice("socket");
        ui.setConnection("idle", "Not connected", null);
        if (detail.code === 4001) {
            // Another connection presented our resumeToken: the call is there now, not here.
            log("ws", "the server moved our place in the call to another connection");
            ui.showNotice("This call continued elsewhere (another connection took it over). Press Connect to join here again.",
                "info", "elsewhere");
        }
        break;
    }
    updateHangup();
    updateTitle();
}

function connect()
{
    const { serverUrl, roomId, name } = ui.formValues();
    const problem = serverUrlProblem(serverUrl) ?? roomIdProblem(roomId) ?? nameProblem(name);
    ui.showFormError(problem);
    if (problem)
        return;
    joinedOnce = false;
    for (const kind of ["call", "join", "elsewhere", "removed", "moderation"])
        ui.hideNotice(kind);
    // Keep the room in the address bar, so a reload (or copying the URL) comes back to it.
    const url = new URL(location.href);
    url.searchParams.set("room", roomId);
    history.replaceState(null, "", url);
    ownName = name;
    signaling.connect(serverUrl, roomId, name, settings.token);
    // The join carries our state (protocol.md 5.7), so the others never see us unmuted first.
    sentPresence = "";
    sendPresence();
}

function serverUrlProblem(value)
{
    try {
        const url = new URL(value);
        return url.protocol === "ws:" || url.protocol === "wss:" ? null : "The server URL starts with ws:// or wss://.";
    } catch {
        return "Enter the server URL, e.g. ws://127.0.0.1:8787/ws.";
    }
}

// ---- Media -------------------------------------------------------------------------------------

function onMediaChange()
{
    const outgoing = media.outgoing();
    for (const peer of peers.values())
        peer.setLocalTracks(outgoing);
    ui.showMedia(media);
    updateHangup();
    sendPresence();
}

async function startMedia()
{
    els.startMedia.disabled = true;
    log("media", "asking for camera and microphone");
    const result = await media.start();
    els.startMedia.disabled = false;
    if (result.error) {
        log("error", `getUserMedia: ${result.error.name}: ${result.error.message}`);
        ui.showNotice(describeMediaError(result.error, result), result.audio || result.video ? "warning" : "error", "media");
    } else {
        ui.hideNotice("media");
    }
    const got = [media.mic && `microphone “${media.mic.label}”`, media.camera && `camera “${media.camera.label}”`].filter(Boolean);
    if (got.length)
        log("media", `started ${got.join(" and ")}`);
    await refreshDevices();
}

async function refreshDevices()
{
    const { cameras, mics } = await LocalMedia.listDevices();
    ui.fillDevices(els.cameraSelect, cameras, media.camera?.getSettings().deviceId ?? media.cameraDeviceId, "Camera");
    ui.fillDevices(els.micSelect, mics, media.mic?.getSettings().deviceId ?? media.micDeviceId, "Microphone");
}

async function mediaAction(what, action)
{
    try {
        await action();
    } catch (err) {
        log("error", `${what}: ${err.name}: ${err.message}`);
        if (err.name === "NotAllowedError" && what === "screen share")
            return;   // the user cancelled the picker
        ui.showNotice(describeMediaError(err, { audio: media.mic !== null }), "warning", "media");
    }
}

// ---- Leaving -----------------------------------------------------------------------------------

function hangUpAll()
{
    // Tell everyone at once, then leave; the others remove our tile on `hangup` already.
    if (signaling.connected)
        signaling.broadcast("hangup");
    signaling.disconnect();
    media.stop();
    setHandRaised(false);
    ui.showNotice("You left the call. Press Connect to join again.", "info", "call");
}

function updateHangup()
{
    ui.setHangupEnabled(signaling.active || media.started);
}

function updateTitle()
{
    const room = signaling.roomId;
    // The room's members (names holds every other one, from joined and peer-joined until
    // peer-left), not our calls: a member that hung up on us is still in the room.
    const size = names.size + 1;
    document.title = room ? `${room} (${size}) · signald` : "signald call";
    // The room's size changes exactly when the title's count does.
    ui.showHealthWarning(els.meshWarning, room ? meshSizeWarning(size, settings.meshWarnAt) : null);
}

// ---- Events ------------------------------------------------------------------------------------

els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    connect();
});
els.disconnect.addEventListener("click", () => signaling.disconnect());
els.rename.addEventListener("click", rename);
// In a call the Connect button is disabled, so Enter in the name field would do nothing.
els.name.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && signaling.active) {
        event.preventDefault();
        rename();
    }
});
els.raiseHand.addEventListener("click", () => setHandRaised(!handRaised));
els.startMedia.addEventListener("click", startMedia);
els.hangup.addEventListener("click", hangUpAll);
els.toggleMic.addEventListener("click", () => media.setMicMuted(!media.micMuted));
els.toggleCamera.addEventListener("click", () =>
    mediaAction("camera", () => media.setCameraOn(!media.cameraWanted || media.camera === null)));
els.shareScreen.addEventListener("click", () =>
    mediaAction("screen share", () => (media.sharingScreen ? media.stopScreenShare() : media.startScreenShare())));
els.enableSound.addEventListener("click", () => {
    tiles.enableSound();
    els.enableSound.hidden = true;
});
els.cameraSelect.addEventListener("change", () => mediaAction("camera", () => media.useCamera(els.cameraSelect.value)));
els.micSelect.addEventListener("change", () => mediaAction("microphone", () => media.useMic(els.micSelect.value)));
els.resolutionSelect.addEventListener("change", () => media.setResolution(els.resolutionSelect.value));
els.lockToggle.addEventListener("click", toggleLock);
els.copyInvite.addEventListener("click", async () => {
    const roomId = ui.formValues().roomId || settings.roomId;
    const link = inviteLink(roomId, location, settings.token);
    // Only a moderator's link keeps the token (config.js), and it hands a moderator's rights on.
    const moderatorLink = new URL(link).searchParams.has("token");
    try {
        await navigator.clipboard.writeText(link);
        ui.toast(moderatorLink ? "Moderator link copied: whoever opens it joins as a moderator" : "Invite link copied");
    } catch {
        ui.showNotice(moderatorLink
            ? `Copy this link to invite a fellow moderator (whoever opens it joins as a moderator): ${link}`
            : `Copy this link to invite someone: ${link}`, "info", "invite");
    }
    // The log is on screen and in screenshots: it never shows a token.
    log("info", moderatorLink ? `moderator link for “${roomId}” (with your token)` : `invite link: ${link}`);
});
navigator.mediaDevices?.addEventListener("devicechange", refreshDevices);

// Keyboard shortcuts press the very button, so a disabled or hidden control stays out of reach
// and the button's own handler is the only code path.
const shortcutButtons = {
    "toggle-mic": els.toggleMic, "toggle-camera": els.toggleCamera, "raise-hand": els.raiseHand, "chat": els.chatToggle,
};
document.addEventListener("keydown", (event) => {
    const button = shortcutButtons[shortcutFor(event)];
    if (!button || button.disabled || button.hidden)
        return;
    event.preventDefault();
    button.click();
});

// Leaving the page: say goodbye properly instead of letting the others time out.
window.addEventListener("pagehide", () => {
    if (signaling.connected)
        signaling.broadcast("hangup");
    signaling.disconnect();
    for (const peer of peers.values())
        peer.close();
    media.stop();
});
// Coming back from the back/forward cache: everything above was closed, so start fresh.
window.addEventListener("pageshow", (event) => {
    if (event.persisted)
        location.reload();
});

// Stats, quality levels and the uplink warning for every tile (stats-monitor.js).
new StatsMonitor({ peers, tiles, showUplinkWarning: (text) => ui.showHealthWarning(els.uplinkWarning, text),
    onStats: logMediaPath, label, log })
    .start();

// A handle for the browser console and the e2e tests: window.call.peers.get(id).pc, etc.
window.call = Object.freeze({ settings, role, signaling, media, peers, tiles, chat, log });

ui.setConnection("idle", "Not connected", null);
ui.showRole(role, settings.token !== "");
ui.setRoomLocked(false);
tiles.setKickable(role.moderator);
ui.showMedia(media);
updateHangup();
refreshDevices();
log("info", "ready. Connect to a room, then start your camera and microphone (in either order).");

if (settings.autostart) {
    connect();
    startMedia();
}
