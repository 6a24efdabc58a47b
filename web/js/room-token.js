// What the page may read from its signed room token (an invite link's ?token=, protocol.md 7.3):
// the claims in the payload, decoded without checking the signature. The server checks the
// token on every join and decides what the member may do; the page reads it only to decide
// what to offer (the moderator's controls, which invite link to copy), never what is allowed.
// A token the page cannot read is treated as an ordinary member's.

// The payload of a compact JWT (header.payload.signature) as an object, or null when it is not
// one: base64url without padding, UTF-8 JSON.
export function tokenClaims(token)
{
    const parts = typeof token === "string" ? token.split(".") : [];
    if (parts.length !== 3 || !/^[A-Za-z0-9_-]+$/.test(parts[1]))
        return null;
    try {
        const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
        const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
        const claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
        return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
    } catch {
        return null;
    }
}

// The page's view of a token: whether it makes us a moderator, the room it admits to ("*" for
// any) and the name it imposes (the server uses it whatever the form says).
export function readRoomToken(token)
{
    const claims = tokenClaims(token);
    return {
        moderator: claims?.role === "moderator",
        room: typeof claims?.room === "string" ? claims.room : null,
        name: typeof claims?.name === "string" ? claims.name : null,
    };
}
