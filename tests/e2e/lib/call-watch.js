// What the browser tests that cut signaling under a live call (resume.test.js, cluster.test.js)
// watch inside each page: every WebSocket with what it sent and received and how it closed, the
// RTCPeerConnections made and closed, each remote tile's longest stall in decoding frames, and
// every clientId the page had. instrument runs before the page's scripts (an init script);
// startSampler once the call is up. Both run in the page, so they use only its globals, and
// leave what they saw in window.__callWatch.

// Runs before the page's scripts: records every WebSocket with what it sent and received and how
// it closed, and counts RTCPeerConnections made and closed.
export function instrument()
{
    const t = window.__callWatch = { created: 0, closed: 0, sockets: [] };
    const NativePC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends NativePC {
        constructor(...args)
        {
            super(...args);
            t.created += 1;
        }

        close()
        {
            t.closed += 1;
            return super.close();
        }
    };
    const NativeWS = window.WebSocket;
    window.WebSocket = class extends NativeWS {
        constructor(...args)
        {
            super(...args);
            const record = { createdAt: Date.now(), sent: [], received: [], closedAt: null, code: null };
            t.sockets.push(record);
            this.record = record;
            this.addEventListener("message", (e) => {
                let msg;
                try {
                    msg = JSON.parse(e.data);
                } catch {
                    msg = { action: "(not json)" };
                }
                record.received.push({ at: Date.now(), msg });
            });
            this.addEventListener("close", (e) => {
                record.closedAt = Date.now();
                record.code = e.code;
            });
        }

        send(text)
        {
            this.record.sent.push({ at: Date.now(), msg: JSON.parse(text) });
            return super.send(text);
        }
    };
}

// Every 50 ms: each remote tile's presented frame count (the longest time it stood still, and
// when that was) and the page's clientId (every value it had).
export function startSampler()
{
    const t = window.__callWatch;
    t.maxGap = {};
    t.maxGapEnd = {};
    t.clientIds = [document.body.dataset.clientId ?? null];
    const last = new Map();
    t.sampler = setInterval(() => {
        const now = performance.now();
        const id = document.body.dataset.clientId ?? null;
        if (!t.clientIds.includes(id))
            t.clientIds.push(id);
        for (const video of document.querySelectorAll("#remote-videos video[data-peer-id]")) {
            const peerId = video.dataset.peerId;
            const frames = video.getVideoPlaybackQuality().totalVideoFrames;
            const seen = last.get(peerId);
            if (!seen) {
                last.set(peerId, { frames, at: now });
                t.maxGap[peerId] = 0;
                continue;
            }
            const gap = now - seen.at;
            if (gap > t.maxGap[peerId]) {
                t.maxGap[peerId] = gap;
                t.maxGapEnd[peerId] = Date.now();
            }
            if (frames > seen.frames) {
                seen.frames = frames;
                seen.at = now;
            }
        }
    }, 50);
}
