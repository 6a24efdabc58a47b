// What a member shows the others about itself (docs/protocol.md 5.7): muted, camera off, sharing
// a screen, a raised hand, and a name chosen mid-call. The page sends its whole state on `join`
// and in every `update`; the others read it from `joined`, `peer-joined` and `peer-updated`.
// Pure functions only: app.js gathers the facts, tiles.js shows what these functions say.

// The fields the page sends, all of them every time: an update replaces the state whole.
export function presenceState({ muted, video, sharing, hand, name })
{
    const state = { muted: muted === true, video: video === true, sharing: sharing === true, hand: hand === true };
    if (typeof name === "string" && name !== "")
        state.name = name;
    return state;
}

// Another page's state is read defensively: the server relays it unread, so any JSON object
// (or none) may arrive. Unknown fields are ignored; a missing one means "nothing to show".
export function readPresence(state)
{
    const known = state !== null && typeof state === "object" && !Array.isArray(state) ? state : {};
    const name = typeof known.name === "string" ? known.name.trim().slice(0, 64) : "";
    return {
        muted: known.muted === true,
        // Only an explicit false is "camera off": a page that never said is not marked.
        cameraOff: known.video === false,
        sharing: known.sharing === true,
        hand: known.hand === true,
        name,
    };
}

// The name on a member's tile: its rename if it made one, else the name it joined with, else
// its clientId (an anonymous member is still someone to tell apart). In a private room the name
// it joined with may be its token's, which the server vouches for; there joinedNameWins, so that
// a rename (a member's own word, relayed unread) cannot pass for someone else.
export function displayName(state, joinedName, clientId, joinedNameWins = false)
{
    if (joinedNameWins && joinedName)
        return joinedName;
    return readPresence(state).name || joinedName || clientId;
}

// The badges a tile shows, in this order, with the words a screen reader says for each.
export const badge_kinds = ["hand", "muted", "camera-off", "sharing"];

export function presenceBadges(state)
{
    const presence = readPresence(state);
    return {
        "hand": presence.hand ? "raised their hand" : null,
        "muted": presence.muted ? "muted" : null,
        "camera-off": presence.cameraOff ? "camera off" : null,
        "sharing": presence.sharing ? "sharing their screen" : null,
    };
}
