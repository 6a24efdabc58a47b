// Settings for one page load, read once from the URL, plus the RTCPeerConnection configuration.
// Everything the page can be told from outside lives here, so a new option is one place to edit.

import { readRoomToken } from "./room-token.js";

// Resolution presets for the camera. Each sender in a mesh encodes its own copy of the video for
// every peer, so a 6-person call sends 5 streams: 480p is a friendly default for a laptop.
export const resolutions = {
    240: { width: 320, height: 240 },
    360: { width: 640, height: 360 },
    480: { width: 640, height: 480 },
    720: { width: 1280, height: 720 },
};

// The page's own origin: signald serves the page and the WebSocket on one port.
export function defaultServerUrl(location = window.location)
{
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws`;
}

// Six people: each then sends five videos and decodes five, which is where a laptop's uplink and
// CPU usually give out in a mesh. ?mesh-warn= moves it for rooms that know their machines.
export const default_mesh_warn_at = 6;

// Query parameters: ?room=, ?name=, ?server=, ?autostart=1, ?res=240|360|480|720, ?relay=1,
// ?mesh-warn=N (warn above N people, 2 to 50), and ?token= (an invite link's signed room token). A name in the token wins over ?name=, as it does
// on the server (protocol.md 7.3), so the page shows the name the others will see.
export function readSettings(location = window.location)
{
    const query = new URLSearchParams(location.search);
    const flag = (key) => ["1", "true", "yes"].includes((query.get(key) ?? "").toLowerCase());
    const res = query.get("res");
    const token = query.get("token") ?? "";
    const meshWarnAt = Number(query.get("mesh-warn"));
    return {
        serverUrl: query.get("server") || defaultServerUrl(location),
        roomId: query.get("room") || "demo",
        name: readRoomToken(token).name ?? query.get("name") ?? "",
        autostart: flag("autostart"),
        resolution: res in resolutions ? res : "480",
        relay: flag("relay"),
        meshWarnAt: Number.isInteger(meshWarnAt) && meshWarnAt >= 2 && meshWarnAt <= 50 ? meshWarnAt : default_mesh_warn_at,
        token,
    };
}

// The configuration for every RTCPeerConnection. iceServers come from the server's `joined`
// message when it sends them (protocol.md 6.1 allows it); without them only host candidates are
// gathered, which is enough on one machine or one LAN.
export function rtcConfiguration(settings, iceServers)
{
    return {
        iceServers: Array.isArray(iceServers) ? iceServers : [],
        // ?relay=1 sends media only through TURN: useful to test a TURN server.
        iceTransportPolicy: settings.relay ? "relay" : "all",
    };
}

// The link that brings someone else into this room: this page with ?room=, and with ?token= only
// when ours is a moderator's token for this room. A member's token stays theirs (it carries
// their name, and a moderator's ban follows it); a moderator's is theirs to hand out, and
// whoever opens that link joins as a moderator, under the token's name if it has one.
export function inviteLink(roomId, location = window.location, token = "")
{
    const url = new URL(location.pathname, location.origin);
    url.searchParams.set("room", roomId);
    const { moderator, room } = readRoomToken(token);
    if (moderator && (room === roomId || room === "*"))
        url.searchParams.set("token", token);
    return url.href;
}

// protocol.md section 4: 1 to 64 code points, no control characters. Checked before connecting so
// the user sees the problem next to the field instead of as a server error.
export function roomIdProblem(roomId)
{
    const length = [...roomId].length;
    if (length === 0)
        return "Enter a room name.";
    if (length > 64)
        return "Room names are at most 64 characters.";
    if (/[\u0000-\u001f\u007f]/.test(roomId))
        return "Room names cannot contain control characters.";
    return null;
}

export function nameProblem(name)
{
    if ([...name].length > 64)
        return "Names are at most 64 characters.";
    if (/[\u0000-\u001f\u007f]/.test(name))
        return "Names cannot contain control characters.";
    return null;
}
