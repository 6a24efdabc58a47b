// What a person reads when the server refused a request of ours (an `error`, protocol.md 7.2) or
// a moderator removed us: one sentence in plain words, saying what happened and what they can
// do about it. The server's own message is for the log; app.js shows these. Pure functions of
// their arguments (the current time is one, for a ban's end), so they are tested in plain Node.

// The sentence for an `error` message: { code, message, request }. now: for a ban's end.
export function refusalExplanation({ code, message, request } = {}, now = Date.now())
{
    switch (code) {
    case "room-full":
        return "That room is full. Try another room name.";
    case "unauthorized":
        return unauthorizedExplanation(message);
    case "banned":
        return bannedExplanation(message, now);
    case "room-locked":
        return "This room is locked: a moderator has closed it to newcomers. Ask a moderator to unlock it, then press Connect again.";
    case "forbidden":
        return request === "lock" ? "Only moderators can lock or unlock the room."
            : request === "kick" ? "Only moderators can remove someone from the call."
            : "Only moderators can do that.";
    case "unknown-action":
        // A moderator's invite used on a server started without --auth-secret-file.
        if (request === "kick" || request === "lock")
            return "This server has no moderators: it admits everyone without an invite, so nobody can be removed and the room cannot be locked.";
        break;
    case "unknown-peer":
        if (request === "kick")
            return "That person had already left the call.";
        break;
    }
    return request === "join" ? `The server refused to join: ${message}.` : `The server refused that: ${message}.`;
}

// The server refused our token (`unauthorized`: its message names the check that failed).
export function unauthorizedExplanation(message)
{
    const check = /\(([a-z ]+)\)/.exec(message ?? "")?.[1] ?? "";
    switch (check) {
    case "missing":
        return "This room is private: you need an invite link to join it.";
    case "expired":
        return "Your invite link has expired. Ask for a new one.";
    case "not yet valid":
        return "Your invite link is not valid yet. Check this computer's clock, or try again later.";
    case "wrong room":
        return "Your invite link is for another room. Open the link as you received it, without changing the room.";
    default:
        return "Your invite link is not valid (it may be cut short or altered). Ask for a new one.";
    }
}

// `left` with reason "kicked": we are out, and the page does not come back by itself.
export function removedExplanation()
{
    return "A moderator removed you from this call. You may not be able to join it again for a while.";
}

// `banned`: a moderator removed us lately. The message ends "... again in N s"; the wait is said
// in the unit a person thinks in, with the clock time once it is minutes away, since the notice
// stays up while the wait runs down.
export function bannedExplanation(message, now = Date.now())
{
    const removed = "A moderator removed you from this call.";
    const seconds = Number(/again in (\d+) s\b/.exec(message ?? "")?.[1] ?? NaN);
    if (!(seconds > 0))
        return `${removed} You cannot join it again for now.`;
    const wait = waitInWords(seconds);
    if (seconds < 60)
        return `${removed} You can join it again in ${wait}.`;
    const at = new Date(now + seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return `${removed} You can join it again in ${wait} (at ${at}).`;
}

// 45 → "45 seconds", 300 → "5 minutes", 61 → "2 minutes" (never promise too early), 7200 →
// "about 2 hours".
export function waitInWords(seconds)
{
    const plural = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
    if (seconds < 60)
        return plural(seconds, "second");
    const minutes = Math.ceil(seconds / 60);
    if (minutes < 90)
        return plural(minutes, "minute");
    return `about ${plural(Math.round(minutes / 60), "hour")}`;
}
