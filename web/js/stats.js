// Turns RTCPeerConnection.getStats() into the few numbers a person wants to see per peer:
// round-trip time, inbound bitrate, received resolution and frame rate, packet loss and jitter,
// which candidate pair (addresses, host/srflx/relay) carries the media, and whether what we send
// is held back by the bandwidth (mesh-health.js judges these).

// The candidate pair in use: the transport names it; older reports only flag it as nominated.
function selectedPair(report)
{
    for (const stat of report.values()) {
        if (stat.type === "transport" && stat.selectedCandidatePairId)
            return report.get(stat.selectedCandidatePairId) ?? null;
    }
    for (const stat of report.values()) {
        if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded")
            return stat;
    }
    return null;
}

function candidateInfo(candidate)
{
    if (!candidate)
        return null;
    return {
        address: candidate.address ?? candidate.ip ?? "",
        port: candidate.port,
        protocol: candidate.protocol,
        type: candidate.candidateType,
        relayProtocol: candidate.relayProtocol,   // relay candidates: udp, tcp or tls to TURN
    };
}

// `previous` is what the last call returned (or null): bitrate is a difference over time.
export async function readStats(pc, previous)
{
    const report = await pc.getStats();
    let video = null;
    let audio = null;
    let sentVideo = null;
    for (const stat of report.values()) {
        if (stat.type === "inbound-rtp" && stat.kind === "video")
            video = stat;
        else if (stat.type === "inbound-rtp" && stat.kind === "audio")
            audio = stat;
        else if (stat.type === "outbound-rtp" && stat.kind === "video")
            sentVideo = stat;
    }
    const pair = selectedPair(report);
    const now = performance.now();
    const bytes = (video?.bytesReceived ?? 0) + (audio?.bytesReceived ?? 0);
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    // Loss over the last interval, not since the call began: a bad minute an hour ago is over.
    const lost = (video?.packetsLost ?? 0) + (audio?.packetsLost ?? 0);
    const received = (video?.packetsReceived ?? 0) + (audio?.packetsReceived ?? 0);
    const newLost = previous ? lost - previous.lost : lost;
    const newReceived = previous ? received - previous.received : received;
    const jitter = audio?.jitter ?? video?.jitter;
    return {
        at: now,
        bytes,
        inboundKbps: seconds > 0 ? Math.max(0, ((bytes - previous.bytes) * 8) / 1000 / seconds) : null,
        rttMs: pair?.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
        width: video?.frameWidth ?? 0,
        height: video?.frameHeight ?? 0,
        fps: video?.framesPerSecond ?? 0,
        framesDecoded: video?.framesDecoded ?? 0,
        lost,
        received,
        lossPercent: newLost + newReceived > 0 ? Math.max(0, (100 * newLost) / (newLost + newReceived)) : null,
        jitterMs: jitter !== undefined ? jitter * 1000 : null,
        // "bandwidth" when the encoder sends less than it would like because the path is full.
        sendLimitedBy: sentVideo?.qualityLimitationReason ?? "none",
        sentWidth: sentVideo?.frameWidth ?? 0,
        availableOutgoingKbps: pair?.availableOutgoingBitrate !== undefined ? pair.availableOutgoingBitrate / 1000 : null,
        local: candidateInfo(pair && report.get(pair.localCandidateId)),
        remote: candidateInfo(pair && report.get(pair.remoteCandidateId)),
    };
}

// "RTT 2 ms · ↓ 412 kb/s · 320×240 · 30 fps · host"
export function formatStats(stats)
{
    const parts = [];
    parts.push(stats.rttMs === null ? "RTT –" : `RTT ${Math.round(stats.rttMs)} ms`);
    if (stats.inboundKbps !== null)
        parts.push(`↓ ${Math.round(stats.inboundKbps)} kb/s`);
    if (stats.width > 0)
        parts.push(`${stats.width}×${stats.height}`);
    if (stats.fps > 0)
        parts.push(`${Math.round(stats.fps)} fps`);
    if (stats.local)
        parts.push(`${stats.local.type}/${stats.local.protocol}`);
    return parts.join(" · ");
}
