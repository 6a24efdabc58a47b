// Read-only summaries of SDP for the log, to show what an offer or answer actually says.
// We only parse: an SDP is never edited here or anywhere else in the page (munging SDP is fragile
// and the browser's APIs - transceivers, directions, replaceTrack - cover everything we need).

// Codecs that protect or repeat others rather than carry media themselves.
const helper_codecs = new Set(["rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event"]);

// { bytes, sections: [{ kind, mid, direction, codecs: [...], helpers: [...] }], iceRestart }
export function summarizeSdp(sdp)
{
    const sections = [];
    let current = null;
    for (const line of sdp.split(/\r?\n/)) {
        if (line.startsWith("m=")) {
            // m=<kind> <port> <proto> <payload types...>
            const [kind] = line.slice(2).split(" ");
            current = { kind, mid: "", direction: "sendrecv", codecs: [], helpers: [] };
            sections.push(current);
        } else if (current === null) {
            continue;  // session-level lines
        } else if (line.startsWith("a=mid:")) {
            current.mid = line.slice(6);
        } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
            current.direction = line.slice(2);
        } else if (line.startsWith("a=rtpmap:")) {
            // a=rtpmap:<pt> <name>/<clock>[/<channels>]
            const name = line.split(" ")[1]?.split("/")[0] ?? "?";
            const list = helper_codecs.has(name.toLowerCase()) ? current.helpers : current.codecs;
            if (!list.includes(name))
                list.push(name);
        }
    }
    return { bytes: new TextEncoder().encode(sdp).length, sections };
}

// One line, e.g. "offer, 4.9 KB, 2 m-lines: audio sendrecv [opus, G722, PCMU] + red, CN | video ..."
export function describeSdp(description)
{
    const { bytes, sections } = summarizeSdp(description.sdp ?? "");
    const parts = sections.map((s) => {
        // SCTP for the data channels (the chat): no codecs and no direction to speak of.
        if (s.kind === "application")
            return "application (data channels)";
        const helpers = s.helpers.length ? ` + ${s.helpers.join(", ")}` : "";
        const codecs = s.codecs.length ? s.codecs.join(", ") : "no codecs";
        return `${s.kind} ${s.direction} [${codecs}]${helpers}`;
    });
    const size = bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`;
    const mlines = `${sections.length} m-line${sections.length === 1 ? "" : "s"}`;
    return `${description.type}, ${size}, ${mlines}: ${parts.join(" | ")}`;
}
