// How well the mesh is doing, in words and one level per tile. In a mesh every member sends its
// own copy of its video to every other member, so the uplink is what gives out first, and the
// room size where that happens is known well enough to warn about. Pure functions: app.js feeds
// them stats.js's numbers and the room size, tiles.js and ui.js show what they say.

// The usual limits of a call a person still calls fine, per path. Past the first, "fair"; past
// the second, "poor".
const limits = {
    lossPercent: [2, 8],
    jitterMs: [30, 80],
    rttMs: [250, 500],
};
// A received video this slow is not fluid; only judged when video arrives at all.
const fps_fair = 20;
const fps_poor = 10;

const level_order = ["good", "fair", "poor"];

// { level: "unknown"|"good"|"fair"|"poor", text } for one peer: the worst of loss, jitter, RTT and
// frame rate, and a sentence naming the numbers.
export function connectionQuality(stats)
{
    if (!stats || stats.rttMs === null && stats.lossPercent === null)
        return { level: "unknown", text: "Connection quality: not measured yet" };
    let level = "good";
    const worse = (candidate) => {
        if (level_order.indexOf(candidate) > level_order.indexOf(level))
            level = candidate;
    };
    for (const [key, [fair, poor]] of Object.entries(limits)) {
        const value = stats[key];
        if (value === null || value === undefined)
            continue;
        worse(value > poor ? "poor" : value > fair ? "fair" : "good");
    }
    if (stats.width > 0 && stats.fps > 0)
        worse(stats.fps < fps_poor ? "poor" : stats.fps < fps_fair ? "fair" : "good");
    const parts = [];
    if (stats.lossPercent !== null && stats.lossPercent !== undefined)
        parts.push(`${stats.lossPercent.toFixed(stats.lossPercent < 10 ? 1 : 0)}% loss`);
    if (stats.jitterMs !== null && stats.jitterMs !== undefined)
        parts.push(`jitter ${Math.round(stats.jitterMs)} ms`);
    if (stats.rttMs !== null && stats.rttMs !== undefined)
        parts.push(`RTT ${Math.round(stats.rttMs)} ms`);
    if (stats.width > 0)
        parts.push(`${Math.round(stats.fps)} fps`);
    return { level, text: `Connection ${level}: ${parts.join(", ")}` };
}

// The warning for `members` people (us included) in one mesh, or null below the threshold.
export function meshSizeWarning(members, threshold)
{
    if (members <= threshold)
        return null;
    return `${members} people are in this call. Everyone sends their video to each of the others, ` +
        `so above ${threshold} a call like this usually starts to stutter. ` +
        "Choose a lower video quality, or turn off cameras that are not needed.";
}

// The warning when our uplink cannot carry one video per peer: `limited` of our `peers`
// connections send less than the encoder wants because the path is full. Null when none is.
export function uplinkWarning(limited, peers)
{
    if (limited === 0)
        return null;
    const whom = limited === peers ? "everyone" : `${limited} of the ${peers} people`;
    return `Your connection cannot send your video to ${whom} at this quality, so the picture they ` +
        "get is lowered. Choose a lower video quality, or turn your camera off to keep your voice clear.";
}

// Lowering what we send to one peer whose path is full, before the browser's own adaptation has
// to drop frames: halve the resolution after two rounds held back by the bandwidth (down to a
// quarter), and try the next size up only after 15 clear rounds (30 s), so a path that is full
// for good does not bounce up and down. Returns the scaleResolutionDownBy to use now.
export const max_send_scale = 4;
const limited_rounds_to_lower = 2;
const clear_rounds_to_raise = 15;

export function nextSendScale(scale, { limitedRounds, clearRounds })
{
    if (limitedRounds >= limited_rounds_to_lower && scale < max_send_scale)
        return scale * 2;
    if (clearRounds >= clear_rounds_to_raise && scale > 1)
        return scale / 2;
    return scale;
}
