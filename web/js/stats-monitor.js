// The stats round: every 2 s it reads each Peer's getStats (stats.js), puts the stats line and the
// quality level on its tile, and looks after our uplink: a peer whose video we send is held back
// by the bandwidth two rounds in a row (one round can be a passing hiccup) gets a smaller copy of
// our video (mesh-health.js's nextSendScale), and counts as one our uplink cannot carry until it
// is back to full size. It reads peers and writes tiles; it never creates or closes a Peer.

import { connectionQuality, nextSendScale, uplinkWarning } from "./mesh-health.js";
import { formatStats } from "./stats.js";

// getStats is cheap, but a 6-person mesh makes five calls each time.
const stats_interval_ms = 2000;

export class StatsMonitor
{
    #peers;
    #tiles;
    #showUplinkWarning;
    #onStats;
    #label;
    #log;
    #sendRounds = new Map();   // peerId -> { limitedRounds, clearRounds }, consecutive

    // peers: the app's Map clientId -> Peer; showUplinkWarning(text or null); onStats(peerId,
    // stats) after each peer's round; label(peerId).
    constructor({ peers, tiles, showUplinkWarning, onStats, label, log })
    {
        this.#peers = peers;
        this.#tiles = tiles;
        this.#showUplinkWarning = showUplinkWarning;
        this.#onStats = onStats;
        this.#label = label;
        this.#log = log;
    }

    start()
    {
        setInterval(() => this.#round(), stats_interval_ms);
    }

    async #round()
    {
        let heldBack = 0;
        for (const [peerId, peer] of this.#peers) {
            const stats = await peer.readStats().catch(() => null);
            if (!stats)
                continue;
            this.#onStats(peerId, stats);
            this.#tiles.setStats(peerId, formatStats(stats));
            this.#tiles.setQuality(peerId, connectionQuality(stats));
            const limited = stats.sendLimitedBy === "bandwidth";
            const rounds = this.#sendRounds.get(peerId) ?? { limitedRounds: 0, clearRounds: 0 };
            rounds.limitedRounds = limited ? rounds.limitedRounds + 1 : 0;
            rounds.clearRounds = limited ? 0 : rounds.clearRounds + 1;
            this.#sendRounds.set(peerId, rounds);
            if (rounds.limitedRounds >= 2 || peer.sendScale > 1)
                heldBack += 1;
            this.#adjustSendScale(peerId, peer, rounds);
        }
        for (const peerId of [...this.#sendRounds.keys()])
            if (!this.#peers.has(peerId))
                this.#sendRounds.delete(peerId);
        this.#showUplinkWarning(uplinkWarning(heldBack, this.#peers.size));
    }

    async #adjustSendScale(peerId, peer, rounds)
    {
        const scale = nextSendScale(peer.sendScale, rounds);
        if (scale === peer.sendScale)
            return;
        // Each step waits for its own evidence: the counts start again at the new size.
        rounds.limitedRounds = 0;
        rounds.clearRounds = 0;
        const done = await peer.setSendScale(scale).catch((err) => {
            this.#log("error", `${this.#label(peerId)}: could not rescale our video: ${err.message}`);
            return false;
        });
        if (done)
            this.#log("media", `${this.#label(peerId)}: sending our video at 1/${scale} of its size` +
                (scale > 1 ? ": the path to them is full" : ""));
    }
}
