// What the status page reads from one scrape of GET /metrics: the few numbers it draws and
// heads the page with, taken from a parsed exposition (prometheus-text.js). Pure; knows the
// metric names (README "Operations") and nothing about charts or time.

import { byLabel, samplesOf, sumOf, valueOf } from "./prometheus-text.js";

// The gauges drawn as they are, by the key the history and the charts use.
export const gauge_metrics = {
    connections: "signald_connections",
    rooms: "signald_rooms",
    members: "signald_members",
    suspended: "signald_suspended_members",
};

// One scrape: {
//   startTime (Unix s) | null, version | null, node | null, certificateExpiry (Unix s) | null,
//   gauges: { connections, rooms, members, suspended } (each a number or null),
//   counters: { in, out } (messages, summed over actions; null when absent),
//   refusals: Map(reason -> count),
//   turn: Map(url -> { ok: true | false | null, seconds: number | null }) | null when signald
//         exposes no TURN self-test at all
// }
export function readSnapshot(parsed)
{
    const gauges = {};
    for (const [key, name] of Object.entries(gauge_metrics))
        gauges[key] = valueOf(parsed, name);

    let turn = null;
    const ok = samplesOf(parsed, "signald_turn_check_ok");
    const seconds = samplesOf(parsed, "signald_turn_check_seconds");
    if (ok.length > 0 || seconds.length > 0 || parsed.families.has("signald_turn_check_ok")) {
        turn = new Map();
        const entry = (url) => {
            if (!turn.has(url))
                turn.set(url, { ok: null, seconds: null });
            return turn.get(url);
        };
        for (const s of ok)
            entry(s.labels.url ?? "").ok = s.value === 1;
        for (const s of seconds)
            entry(s.labels.url ?? "").seconds = Number.isFinite(s.value) ? s.value : null;
    }

    return {
        startTime: valueOf(parsed, "signald_start_time_seconds"),
        version: samplesOf(parsed, "signald_build_info")[0]?.labels.version ?? null,
        node: samplesOf(parsed, "signald_cluster_node_info")[0]?.labels.node ?? null,
        certificateExpiry: valueOf(parsed, "signald_tls_certificate_expiry_seconds"),
        gauges,
        counters: {
            in: sumOf(parsed, "signald_messages_received_total"),
            out: sumOf(parsed, "signald_messages_sent_total"),
        },
        refusals: byLabel(parsed, "signald_rejections_total", "reason"),
        turn,
    };
}
