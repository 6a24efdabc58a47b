// The local camera, microphone and screen share. Owns every local MediaStreamTrack: starts them,
// switches devices, stops them. It never touches a peer connection: when what we send changes it
// calls onChange(), and the app hands outgoing() to every Peer.

import { resolutions } from "./config.js";

export class LocalMedia
{
    mic = null;        // MediaStreamTrack or null
    camera = null;
    screen = null;
    micMuted = false;
    cameraWanted = true;  // false after "Stop video"; the camera track is then stopped (light off)
    micDeviceId = "";
    cameraDeviceId = "";
    resolution;
    lastError = null;  // why the last start() did not get everything, for the UI

    #onChange;
    #log;

    constructor({ resolution, onChange, log })
    {
        this.resolution = resolution;
        this.#onChange = onChange;
        this.#log = log;
    }

    get started() { return this.mic !== null || this.camera !== null || this.screen !== null; }
    get sharingScreen() { return this.screen !== null; }

    // The tracks every peer should receive from us. A muted mic still sends (silence), so that
    // unmuting is instant; a stopped camera sends nothing at all.
    outgoing()
    {
        return {
            audio: this.mic,
            video: this.screen ?? (this.cameraWanted ? this.camera : null),
        };
    }

    // Ask for camera and microphone. Returns { audio, video, error }: what we got, and the error
    // that explains what we did not get (null if we got both).
    async start()
    {
        if (!navigator.mediaDevices?.getUserMedia) {
            const error = new DOMException("getUserMedia is not available", "SecurityError");
            return { audio: false, video: false, error };
        }
        this.cameraWanted = true;
        let error = null;
        try {
            const stream = await navigator.mediaDevices.getUserMedia({
                audio: this.#audioConstraints(),
                video: this.#videoConstraints(),
            });
            this.#replaceTrack("mic", stream.getAudioTracks()[0] ?? null);
            this.#replaceTrack("camera", stream.getVideoTracks()[0] ?? null);
        } catch (err) {
            error = err;
            // Denied: asking again now would only be denied again. Any other failure (no camera,
            // camera busy, device gone) may affect one device only: try each on its own.
            if (err.name !== "NotAllowedError" && err.name !== "SecurityError") {
                this.#replaceTrack("mic", await this.#tryTrack({ audio: this.#audioConstraints() }));
                this.#replaceTrack("camera", await this.#tryTrack({ video: this.#videoConstraints() }));
            }
        }
        this.lastError = error;
        this.#applyMute();
        this.#onChange();
        return { audio: this.mic !== null, video: this.camera !== null, error };
    }

    setMicMuted(muted)
    {
        this.micMuted = muted;
        this.#applyMute();
        this.#onChange();
    }

    // Camera off stops the track, so the camera light goes out, and peers stop receiving video.
    async setCameraOn(on)
    {
        this.cameraWanted = on;
        if (!on) {
            this.#replaceTrack("camera", null);
        } else if (!this.camera) {
            this.#replaceTrack("camera", await this.#tryTrack({ video: this.#videoConstraints() }, true));
        }
        this.#onChange();
        return this.camera !== null || !on;
    }

    async useCamera(deviceId)
    {
        this.cameraDeviceId = deviceId;
        if (!this.camera)
            return;
        // Stop first: many cameras cannot be opened twice, even with another resolution.
        this.#replaceTrack("camera", null);
        this.#replaceTrack("camera", await this.#tryTrack({ video: this.#videoConstraints() }, true));
        this.#onChange();
    }

    async useMic(deviceId)
    {
        this.micDeviceId = deviceId;
        if (!this.mic)
            return;
        this.#replaceTrack("mic", null);
        this.#replaceTrack("mic", await this.#tryTrack({ audio: this.#audioConstraints() }, true));
        this.#applyMute();
        this.#onChange();
    }

    async setResolution(resolution)
    {
        this.resolution = resolution;
        if (!this.camera)
            return;
        try {
            // Same device, new size: no new track, so nothing to renegotiate or replace.
            await this.camera.applyConstraints(this.#videoConstraints());
            this.#onChange();
        } catch (err) {
            this.#log("error", `could not change resolution: ${err.message}`);
        }
    }

    // getDisplayMedia needs a click (transient user activation); call it from a click handler.
    async startScreenShare()
    {
        const stream = await navigator.mediaDevices.getDisplayMedia({
            video: { frameRate: { ideal: 15, max: 30 } },
            audio: false,
        });
        const track = stream.getVideoTracks()[0];
        track.contentHint = "detail";   // favour sharp text over smooth motion
        // The browser's own "Stop sharing" bar ends the track: go back to the camera.
        track.addEventListener("ended", () => {
            if (this.screen === track)
                this.stopScreenShare();
        });
        this.#replaceTrack("screen", track);
        this.#log("media", `sharing screen (${track.label || "screen"})`);
        this.#onChange();
    }

    stopScreenShare()
    {
        if (!this.screen)
            return;
        this.#replaceTrack("screen", null);
        this.#log("media", "screen share ended, back to the camera");
        this.#onChange();
    }

    stop()
    {
        for (const slot of ["mic", "camera", "screen"])
            this.#replaceTrack(slot, null);
        this.#onChange();
    }

    // Device lists are only labelled once the user has allowed access.
    static async listDevices()
    {
        if (!navigator.mediaDevices?.enumerateDevices)
            return { cameras: [], mics: [] };
        const devices = await navigator.mediaDevices.enumerateDevices();
        return {
            cameras: devices.filter((d) => d.kind === "videoinput"),
            mics: devices.filter((d) => d.kind === "audioinput"),
        };
    }

    #audioConstraints()
    {
        return this.micDeviceId ? { deviceId: { exact: this.micDeviceId } } : true;
    }

    #videoConstraints()
    {
        const { width, height } = resolutions[this.resolution] ?? resolutions[480];
        const constraints = { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 30 } };
        if (this.cameraDeviceId)
            constraints.deviceId = { exact: this.cameraDeviceId };
        return constraints;
    }

    async #tryTrack(constraints, throwOnError = false)
    {
        try {
            const stream = await navigator.mediaDevices.getUserMedia(constraints);
            return stream.getTracks()[0] ?? null;
        } catch (err) {
            if (throwOnError)
                throw err;
            return null;
        }
    }

    #applyMute()
    {
        if (this.mic)
            this.mic.enabled = !this.micMuted;
    }

    #replaceTrack(slot, track)
    {
        const old = this[slot];
        if (old && old !== track)
            old.stop();
        this[slot] = track;
        if (track && slot !== "screen") {
            // A device that is unplugged ends its track; drop it so the UI and peers follow.
            track.addEventListener("ended", () => {
                if (this[slot] === track) {
                    this.#log("media", `${track.kind} device ended: ${track.label}`);
                    this[slot] = null;
                    this.#onChange();
                }
            });
        }
    }
}

// A sentence for the user, from a getUserMedia/getDisplayMedia error.
export function describeMediaError(error, { audio = false, video = false } = {})
{
    const still = audio ? " You are sending audio only." : video ? " You are sending video only." : "";
    const receiveOnly = audio || video ? still : " You can still see and hear the others (receive-only).";
    switch (error?.name) {
    case "NotAllowedError":
        return "Camera and microphone access was blocked." + receiveOnly +
            " Allow access in the browser's address bar, then press “Start camera & mic” again.";
    case "NotFoundError":
    case "OverconstrainedError":
        return (video ? "No microphone was found." : audio ? "No camera was found." : "No camera or microphone was found.") + receiveOnly;
    case "NotReadableError":
    case "AbortError":
        return "The camera or microphone is in use by another application or could not be started." + receiveOnly;
    case "SecurityError":
    case "TypeError":
        return "Camera access needs a secure page: open it via https:// or http://localhost." + receiveOnly;
    default:
        return `Could not start camera or microphone (${error?.message ?? "unknown error"}).` + receiveOnly;
    }
}
