// Everything on the page except the video grid, the chat and the log: the connection form (with
// Rename in a call), the status pill, the call controls (the hand, and the moderator's lock toggle
// among them), the room's locked badge, the device pickers, the mesh-health warnings, the notice
// bar and the toast. It reads inputs and shows state; what the buttons do is
// decided in app.js.

import { avatarColor, initial } from "./tiles.js";

const $ = (id) => document.getElementById(id);

export class Ui
{
    // In a private room (we hold a token) names are fixed at join: no Rename.
    #namesFixed = false;

    els = {
        serverUrl: $("server-url"),
        roomId: $("room-id"),
        name: $("name"),
        form: $("join-form"),
        formError: $("form-error"),
        connect: $("connect"),
        disconnect: $("disconnect"),
        rename: $("rename"),
        meshWarning: $("mesh-warning"),
        uplinkWarning: $("uplink-warning"),
        chatPanel: $("chat-panel"),
        chatToggle: $("chat-toggle"),
        chatUnread: $("chat-unread"),
        chatLog: $("chat-log"),
        chatForm: $("chat-form"),
        chatInput: $("chat-input"),
        chatClose: $("chat-close"),
        raiseHand: $("raise-hand"),
        localHandFlag: $("local-hand-flag"),
        startMedia: $("start-media"),
        toggleMic: $("toggle-mic"),
        toggleCamera: $("toggle-camera"),
        shareScreen: $("share-screen"),
        enableSound: $("enable-sound"),
        hangup: $("hangup"),
        lockToggle: $("lock-toggle"),
        roomLocked: $("room-locked"),
        copyInvite: $("copy-invite"),
        copyInviteLabel: $("copy-invite-label"),
        cameraSelect: $("camera-select"),
        micSelect: $("mic-select"),
        resolutionSelect: $("resolution-select"),
        localTile: $("local-tile"),
        localVideo: $("local-video"),
        localName: $("local-name"),
        localAvatar: $("local-avatar"),
        localPlaceholder: $("local-placeholder-text"),
        localMicFlag: $("local-mic-flag"),
        status: $("status"),
        statusText: $("status-text"),
        roomLabel: $("room-label"),
        notice: $("notice"),
        noticeText: $("notice-text"),
        toast: $("toast"),
        stage: $("stage"),
        remoteVideos: $("remote-videos"),
        log: $("log"),
        clearLog: $("clear-log"),
    };

    #toastTimer = null;
    #noticeKind = null;

    constructor(settings)
    {
        const { els } = this;
        els.serverUrl.value = settings.serverUrl;
        els.roomId.value = settings.roomId;
        els.name.value = settings.name;
        els.resolutionSelect.value = settings.resolution;
        $("notice-close").addEventListener("click", () => this.hideNotice());
        els.name.addEventListener("input", () => this.showLocalName());
        this.showLocalName();
    }

    formValues()
    {
        return {
            serverUrl: this.els.serverUrl.value.trim(),
            roomId: this.els.roomId.value,
            name: this.els.name.value.trim(),
        };
    }

    showFormError(message)
    {
        this.els.formError.textContent = message ?? "";
        this.els.formError.hidden = !message;
    }

    // state: "idle" | "connecting" | "joined" | "reconnecting"
    setConnection(state, text, roomId)
    {
        const { els } = this;
        els.status.dataset.state = state;
        els.statusText.textContent = text;
        const busy = state !== "idle";
        // Only a live membership can lock: while reconnecting the request would be lost.
        els.lockToggle.disabled = state !== "joined";
        els.connect.disabled = busy;
        els.disconnect.disabled = !busy;
        for (const input of [els.serverUrl, els.roomId])
            input.disabled = busy;
        // The name stays editable in a call: Rename tells the others, except in a private room,
        // where names are those the members joined with (presence.js displayName).
        els.rename.hidden = state !== "joined" || this.#namesFixed;
        els.roomLabel.textContent = roomId ? `room “${roomId}”` : "not in a room";
        document.body.dataset.connection = state;
    }

    // Reflects LocalMedia on the local tile and the media buttons.
    showMedia(media)
    {
        const { els } = this;
        const { video } = media.outgoing();
        if (els.localVideo.srcObject?.getVideoTracks()[0] !== video)
            els.localVideo.srcObject = video ? new MediaStream([video]) : null;
        els.localTile.dataset.media = video ? "on" : "off";
        // Mirror the camera like a mirror; never mirror a shared screen (text would read backwards).
        els.localTile.classList.toggle("mirrored", video !== null && !media.sharingScreen);

        els.startMedia.hidden = media.started;
        els.toggleMic.disabled = media.mic === null;
        els.toggleCamera.disabled = !media.started;
        els.shareScreen.disabled = !navigator.mediaDevices?.getDisplayMedia;

        setToggle(els.toggleMic, media.micMuted, media.micMuted ? "Unmute" : "Mute",
            media.micMuted ? "#icon-mic-off" : "#icon-mic");
        // Before media starts, the camera button is neither on nor off: show it neutral.
        const cameraOff = media.started && (!media.cameraWanted || media.camera === null);
        setToggle(els.toggleCamera, cameraOff, cameraOff ? "Start video" : "Stop video",
            cameraOff ? "#icon-cam-off" : "#icon-cam");
        setToggle(els.shareScreen, media.sharingScreen, media.sharingScreen ? "Stop sharing" : "Share screen",
            "#icon-screen");

        els.localMicFlag.hidden = !(media.mic && media.micMuted);
        els.localPlaceholder.textContent =
            !media.started ? (media.lastError ? "No camera or mic: receive-only" : "Camera and mic are not started")
            : media.camera === null && media.cameraWanted ? "No camera: sending audio only" : "Camera is off";
    }

    showLocalName()
    {
        const name = this.els.name.value.trim();
        this.els.localName.textContent = name ? `${name} (you)` : "You";
        this.els.localAvatar.textContent = initial(name || "You");
    }

    // text: a warning from mesh-health.js, or null to hide it.
    showHealthWarning(element, text)
    {
        if (text === null) {
            element.hidden = true;
            return;
        }
        if (element.textContent !== text)
            element.textContent = text;
        element.hidden = false;
    }

    setHandRaised(raised)
    {
        setToggle(this.els.raiseHand, raised, raised ? "Lower hand" : "Raise hand", "#icon-hand");
        this.els.localHandFlag.hidden = !raised;
    }

    setClientId(clientId)
    {
        if (clientId) {
            document.body.dataset.clientId = clientId;
            this.els.localAvatar.style.background = avatarColor(clientId);
            this.els.localName.title = `clientId ${clientId}`;
        } else {
            delete document.body.dataset.clientId;
        }
    }

    // What our room token makes us (room-token.js): a moderator gets the lock toggle, and the
    // invite button says that its link hands a moderator's rights on.
    showRole({ moderator, name }, hasToken)
    {
        const { els } = this;
        this.#namesFixed = hasToken;
        els.lockToggle.hidden = !moderator;
        // The server names us after the token, whatever the field says (readSettings filled it in).
        if (name !== null) {
            els.name.readOnly = true;
            els.name.title = "Your invite link sets your name";
        }
        if (moderator) {
            els.copyInviteLabel.textContent = "Copy moderator link";
            els.copyInvite.title = `Anyone with this link joins as a moderator${name ? `, named “${name}”` : ""}, ` +
                "and can remove people and lock the room";
        } else if (hasToken) {
            els.copyInvite.title = "Copy a link to this room, without your invite: whoever opens it needs an invite of their own";
        }
    }

    // Everyone sees the badge; the moderator's toggle is pressed while the room is locked.
    setRoomLocked(locked)
    {
        const { els } = this;
        els.roomLocked.hidden = !locked;
        setToggle(els.lockToggle, locked, locked ? "Unlock room" : "Lock room", locked ? "#icon-lock" : "#icon-lock-open");
    }

    setHangupEnabled(enabled)
    {
        this.els.hangup.disabled = !enabled;
    }

    fillDevices(select, devices, selectedId, fallbackLabel)
    {
        const options = devices.map((device, index) => {
            const option = document.createElement("option");
            option.value = device.deviceId;
            option.textContent = device.label || `${fallbackLabel} ${index + 1}`;
            return option;
        });
        if (options.length === 0) {
            const none = document.createElement("option");
            none.value = "";
            none.textContent = `No ${fallbackLabel.toLowerCase()} found`;
            options.push(none);
        }
        select.replaceChildren(...options);
        if (selectedId && devices.some((d) => d.deviceId === selectedId))
            select.value = selectedId;
    }

    // kind names the notice's cause ("media", "socket", ...) so that fixing that cause hides it
    // without hiding an unrelated message shown since.
    showNotice(message, tone = "warning", kind = "other")
    {
        this.#noticeKind = kind;
        this.els.noticeText.textContent = message;
        this.els.notice.dataset.tone = tone;
        this.els.notice.dataset.kind = kind;
        this.els.notice.hidden = false;
    }

    hideNotice(kind)
    {
        if (kind !== undefined && kind !== this.#noticeKind)
            return;
        this.els.notice.hidden = true;
    }

    toast(message)
    {
        const { toast } = this.els;
        toast.textContent = message;
        toast.hidden = false;
        clearTimeout(this.#toastTimer);
        this.#toastTimer = setTimeout(() => { toast.hidden = true; }, 2500);
    }
}

function setToggle(button, pressed, label, icon)
{
    button.setAttribute("aria-pressed", String(pressed));
    button.querySelector(".ctl-label").textContent = label;
    button.querySelector("use").setAttribute("href", icon);
}
