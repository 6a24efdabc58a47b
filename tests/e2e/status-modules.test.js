// The status page's pure modules in plain Node (no browser): the Prometheus text parser against
// tricky exposition text, what the page reads from a scrape, the hour of rows with its rates and
// counter resets, the chart's scales and broken lines, and the formats and settings.

import assert from "node:assert/strict";
import { test } from "node:test";
import { byLabel, parseExposition, parseSampleLine, parseValue, sumOf, valueOf } from "../../web/js/prometheus-text.js";
import { readSnapshot } from "../../web/js/status-snapshot.js";
import { StatusHistory, counterRate, history_window_ms } from "../../web/js/status-history.js";
import { downRanges, linePath, niceScale, timeSpan, timeTicks } from "../../web/js/status-chart.js";
import { formatDuration, formatNumber } from "../../web/js/status-format.js";
import { readStatusSettings } from "../../web/js/status-settings.js";

// ---- prometheus-text.js -----------------------------------------------------------------------

test("HELP and TYPE lines name a family, its help unescaped, other comments ignored", () => {
    const parsed = parseExposition([
        "# A plain comment, HELP and TYPE not first",
        "# HELP x_total Two lines:\\nand a backslash \\\\ here.",
        "# TYPE x_total counter",
        "x_total 3",
        "",
    ].join("\n"));
    assert.deepEqual(parsed.problems, []);
    const family = parsed.families.get("x_total");
    assert.equal(family.type, "counter");
    assert.equal(family.help, "Two lines:\nand a backslash \\ here.");
    assert.equal(valueOf(parsed, "x_total"), 3);
});

test("label values keep their escapes' meaning: backslash, quote and newline", () => {
    const sample = parseSampleLine("m{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\",d=\"\",e=\"} , {\"} 1");
    assert.deepEqual(sample.labels, { a: "q\"uote", b: "back\\slash", c: "new\nline", d: "", e: "} , {" });
    assert.equal(sample.value, 1);
    // A trailing comma and spaces are allowed by the format.
    assert.deepEqual(parseSampleLine("m{ a = \"1\" , } 2").labels, { a: "1" });
});

test("values are Go floats: NaN, +Inf, -Inf, exponents; timestamps are kept", () => {
    assert.ok(Number.isNaN(parseValue("NaN")));
    assert.equal(parseValue("+Inf"), Infinity);
    assert.equal(parseValue("-Inf"), -Infinity);
    assert.equal(parseValue("1.5e3"), 1500);
    assert.equal(parseValue("-0.25"), -0.25);
    for (const bad of ["", "0x10", "1,5", "one", "Infinity"])
        assert.equal(parseValue(bad), undefined, bad);
    const stamped = parseSampleLine("m{a=\"1\"} 7 1700000000123");
    assert.equal(stamped.value, 7);
    assert.equal(stamped.timestamp, 1700000000123);
    assert.equal(parseSampleLine("m 7").timestamp, null);
});

test("a line that cannot be read is skipped and named; the rest still counts", () => {
    const parsed = parseExposition([
        "# TYPE good gauge",
        "good 1",
        "bad{a=\"x\\q\"} 1",     // bad escape
        "bad{a=1} 1",            // unquoted
        "bad{a=\"open} 1",       // never closed
        "bad{a=\"1\",a=\"2\"} 1", // label twice
        "bad one",               // not a number
        "bad 1 2 3",             // too many fields
        "bad 1 1.5",             // a timestamp is an integer
        "# TYPE weird nonsense",
        "9bad 1",
        "good2 2\r",             // CRLF line ends are read
    ].join("\n"));
    assert.equal(valueOf(parsed, "good"), 1);
    assert.equal(valueOf(parsed, "good2"), 2);
    assert.equal(parsed.problems.length, 9, parsed.problems.join("\n"));
    assert.ok(parsed.problems[0].startsWith("line 3:"), parsed.problems[0]);
});

test("summary and histogram samples join their family; sums and label groups add up", () => {
    const parsed = parseExposition([
        "# TYPE rpc summary",
        "rpc{quantile=\"0.5\"} 0.2",
        "rpc_sum 10",
        "rpc_count 40",
        "# TYPE msgs_total counter",
        "msgs_total{action=\"join\"} 2",
        "msgs_total{action=\"signal\"} 5",
        "msgs_total{action=\"signal\",extra=\"x\"} 1",
    ].join("\n"));
    assert.deepEqual([...parsed.families.keys()], ["rpc", "msgs_total"]);
    assert.equal(parsed.families.get("rpc").samples.length, 3);
    assert.equal(valueOf(parsed, "rpc"), 0.2, "the family's own sample, not _sum");
    assert.equal(sumOf(parsed, "msgs_total"), 8);
    assert.equal(sumOf(parsed, "absent_total"), null);
    assert.deepEqual([...byLabel(parsed, "msgs_total", "action")], [["join", 2], ["signal", 6]]);
    assert.equal(valueOf(parsed, "msgs_total", { action: "signal" }), 5);
});

// ---- status-snapshot.js -----------------------------------------------------------------------

const exposition = ({ start = 1700000000, inJoin = 1, inSignal = 0, out = 0, origin = null, turn = null, tls = null, node = null } = {}) => [
    "# HELP signald_build_info The running version.",
    "# TYPE signald_build_info gauge",
    "signald_build_info{version=\"1.2.3\"} 1",
    "# TYPE signald_start_time_seconds gauge",
    `signald_start_time_seconds ${start}`,
    "# TYPE signald_connections gauge",
    "signald_connections 4",
    "# TYPE signald_rooms gauge",
    "signald_rooms 2",
    "# TYPE signald_members gauge",
    "signald_members 4",
    "# TYPE signald_suspended_members gauge",
    "signald_suspended_members 1",
    "# TYPE signald_messages_received_total counter",
    `signald_messages_received_total{action="join"} ${inJoin}`,
    `signald_messages_received_total{action="signal"} ${inSignal}`,
    "# TYPE signald_messages_sent_total counter",
    `signald_messages_sent_total{action="joined"} ${out}`,
    "# TYPE signald_rejections_total counter",
    "signald_rejections_total{reason=\"flood\"} 0",
    ...(origin === null ? [] : [`signald_rejections_total{reason="origin"} ${origin}`]),
    ...(tls === null ? [] : ["# TYPE signald_tls_certificate_expiry_seconds gauge", `signald_tls_certificate_expiry_seconds ${tls}`]),
    ...(node === null ? [] : ["# TYPE signald_cluster_node_info gauge", `signald_cluster_node_info{node="${node}"} 1`]),
    ...(turn === null ? [] : [
        "# TYPE signald_turn_check_ok gauge",
        ...turn.map(([url, ok]) => `signald_turn_check_ok{url="${url}"} ${ok ? 1 : 0}`),
        "# TYPE signald_turn_check_seconds gauge",
        ...turn.map(([url, , seconds]) => `signald_turn_check_seconds{url="${url}"} ${seconds}`),
    ]),
    "",
].join("\n");

const snapshot = (options) => readSnapshot(parseExposition(exposition(options)));

test("a scrape gives the page its gauges, summed counters, refusals and build facts", () => {
    const s = snapshot({ inJoin: 3, inSignal: 7, out: 9, origin: 2, tls: 1800000000, node: "nodeA" });
    assert.equal(s.version, "1.2.3");
    assert.equal(s.startTime, 1700000000);
    assert.equal(s.node, "nodeA");
    assert.equal(s.certificateExpiry, 1800000000);
    assert.deepEqual(s.gauges, { connections: 4, rooms: 2, members: 4, suspended: 1 });
    assert.deepEqual(s.counters, { in: 10, out: 9 });
    assert.deepEqual([...s.refusals], [["flood", 0], ["origin", 2]]);
    assert.equal(s.turn, null, "no TURN metrics: no self-test configured");
    const plain = snapshot();
    assert.equal(plain.node, null);
    assert.equal(plain.certificateExpiry, null);
});

test("TURN checks are read per URL: ok, failing, and the round trip", () => {
    const s = snapshot({ turn: [["turn:a.example:3478", true, 0.012], ["turns:b.example:5349", false, "NaN"]] });
    assert.deepEqual([...s.turn], [
        ["turn:a.example:3478", { ok: true, seconds: 0.012 }],
        ["turns:b.example:5349", { ok: false, seconds: null }],
    ]);
});

// ---- status-history.js ------------------------------------------------------------------------

test("a counter's rate is its growth per second; unknown across a reset or without time", () => {
    assert.equal(counterRate(10, 40, 5), 6);
    assert.equal(counterRate(10, 10, 5), 0);
    assert.equal(counterRate(40, 10, 5), null, "a value that fell is a restart");
    assert.equal(counterRate(null, 10, 5), null);
    assert.equal(counterRate(10, null, 5), null);
    assert.equal(counterRate(10, 20, 0), null);
    assert.equal(counterRate(10, NaN, 5), null);
});

test("rates come from consecutive polls; the first poll has none", () => {
    const history = new StatusHistory();
    const t0 = 1_000_000;
    const first = history.record(t0, snapshot({ inJoin: 10, out: 0 }));
    assert.equal(first.values.in, null);
    assert.equal(first.values.connections, 4);
    const second = history.record(t0 + 5000, snapshot({ inJoin: 20, inSignal: 10, out: 50 }));
    assert.equal(second.values.in, 4);
    assert.equal(second.values.out, 10);
    assert.deepEqual(history.series("in").map((p) => p.v), [null, 4]);
    assert.equal(history.latest("out"), 10);
});

test("a restart (new start time, or a counter that fell) is a gap, not a negative rate", () => {
    const history = new StatusHistory();
    history.record(0, snapshot({ inJoin: 100 }));
    history.record(5000, snapshot({ inJoin: 150 }));
    const restarted = history.record(10000, snapshot({ start: 1700000500, inJoin: 3 }));
    assert.equal(restarted.values.in, null);
    assert.equal(restarted.restarted, true);
    assert.equal(history.record(15000, snapshot({ start: 1700000500, inJoin: 8 })).values.in, 1);
    // Same start time but the value fell (a start time signald could not report): also a gap.
    const fell = history.record(20000, snapshot({ start: 1700000500, inJoin: 2 }));
    assert.equal(fell.values.in, null);
    assert.equal(history.record(25000, snapshot({ start: 1700000500, inJoin: 12 })).values.in, 2);
});

test("a refusal reason that appears counts from zero, and only reasons that moved are drawn", () => {
    const history = new StatusHistory();
    history.record(0, snapshot());
    const row = history.record(2000, snapshot({ origin: 4 }));
    assert.equal(row.values["refusal:origin"], 2, "absent before means zero before");
    assert.equal(row.values["refusal:flood"], 0);
    assert.deepEqual(history.keys("refusal:"), ["refusal:flood", "refusal:origin"]);
    assert.deepEqual(history.moved("refusal:"), ["refusal:origin"]);
    // Drawn from zero, not from nowhere: the rated row before its first count reads 0.
    history.record(4000, snapshot({ origin: 4 }));
    history.rows.splice(1, 1);
    assert.deepEqual(history.series("refusal:origin", { zeroWhereRated: true }).map((p) => p.v), [null, 0]);
    const again = new StatusHistory();
    again.record(0, snapshot());
    again.record(2000, snapshot());
    again.recordFailure(3000, "down");
    again.record(4000, snapshot({ origin: 2 }));
    assert.deepEqual(again.series("refusal:origin", { zeroWhereRated: true }).map((p) => p.v), [null, 0, null, 1],
        "the first row (no rates) and a failed poll stay unknown");
});

test("a failed poll is a row without values; the rate after it spans the outage", () => {
    const history = new StatusHistory();
    history.record(0, snapshot({ inJoin: 0 }));
    history.recordFailure(5000, "no connection");
    assert.equal(history.latest("connections"), null);
    assert.equal(history.rows[1].down, "no connection");
    assert.equal(history.record(10000, snapshot({ inJoin: 20 })).values.in, 2);
});

test("TURN rows hold the round trip in ms, none while failing, and whether it passed", () => {
    const history = new StatusHistory();
    const row = history.record(0, snapshot({ turn: [["turn:a", true, 0.02], ["turn:b", false, 0.5]] }));
    assert.equal(row.values["turn:turn:a"], 20);
    assert.equal(row.values["turnok:turn:a"], 1);
    assert.equal(row.values["turn:turn:b"], null);
    assert.equal(row.values["turnok:turn:b"], 0);
});

test("the history keeps one hour, and survives a trip through JSON (sessionStorage)", () => {
    const history = new StatusHistory();
    for (let t = 0; t <= history_window_ms + 60_000; t += 30_000)
        history.record(t, snapshot({ inJoin: t / 1000 }));
    const now = history.rows.at(-1).t;
    assert.ok(history.rows[0].t >= now - history_window_ms);
    assert.equal(history.rows.length, history_window_ms / 30_000 + 1);

    const restored = StatusHistory.fromJSON(JSON.parse(JSON.stringify(history)), now + 10 * 60_000);
    assert.ok(restored.rows.length < history.rows.length, "ten minutes later, ten minutes fewer");
    assert.equal(restored.rows[0].t >= now + 10 * 60_000 - history_window_ms, true);
    // The counters read last come back too, so the next poll after a reload has a rate.
    assert.equal(restored.record(now + 10 * 60_000, snapshot({ inJoin: now / 1000 + 600 })).values.in, 1);

    for (const junk of [null, 42, { format: 2, rows: [] }, { format: 1, rows: [{ t: "x" }] }, { format: 1, rows: [{ t: now * 2, values: {} }] }])
        assert.deepEqual(StatusHistory.fromJSON(junk, now).rows, [], JSON.stringify(junk));
});

// ---- status-chart.js, status-format.js, status-settings.js -----------------------------------

test("the y axis tops at a round number at or above the largest value, with a floor", () => {
    assert.deepEqual(niceScale(0), { top: 1, step: 0.25, ticks: [0, 0.25, 0.5, 0.75, 1] });
    assert.equal(niceScale(7).top, 8);
    assert.equal(niceScale(13).top, 20);
    assert.equal(niceScale(101).top, 200);
    assert.equal(niceScale(0.2, { floor: 0.1 }).top, 0.2);
    assert.equal(niceScale(NaN).top, 1);
    for (const max of [0.3, 3, 45, 999, 12345])
        assert.ok(niceScale(max).top >= max, String(max));
});

test("a line breaks where a value is missing and where polls were too far apart", () => {
    const id = (v) => v;
    const points = [{ t: 0, v: 1 }, { t: 5, v: 2 }, { t: 10, v: null }, { t: 15, v: 3 }, { t: 20, v: 4 }, { t: 60, v: 5 }];
    assert.equal(linePath(points, id, id, 12), "M0.0,1.0L5.0,2.0M15.0,3.0L20.0,4.0M60.0,5.0");
    assert.equal(linePath([], id, id, 12), "");
});

test("spans of failed polls run from the last answer to the next one", () => {
    const rows = [{ t: 0 }, { t: 5, down: "x" }, { t: 10, down: "x" }, { t: 15 }, { t: 20, down: "y" }];
    assert.deepEqual(downRanges(rows), [{ from: 0, to: 15 }, { from: 15, to: 20 }]);
});

test("the time axis covers the data (two minutes at least, the hour at most), ticks on the minute", () => {
    const minute = 60_000;
    assert.deepEqual(timeSpan(100 * minute, 99 * minute, 60 * minute), { from: 98 * minute, to: 100 * minute });
    assert.deepEqual(timeSpan(100 * minute, 95 * minute, 60 * minute), { from: 95 * minute, to: 100 * minute });
    assert.deepEqual(timeSpan(100 * minute, 10 * minute, 60 * minute), { from: 40 * minute, to: 100 * minute });
    const ticks = timeTicks(40 * minute, 100 * minute, 5);
    assert.ok(ticks.length <= 5 && ticks.length >= 2, String(ticks));
    assert.ok(ticks.every((t) => t % (15 * minute) === 0));
});

test("numbers and durations are written short", () => {
    assert.deepEqual([0, 3, 0.2, 0.25, 1.26, 12.34, 250.4, 1234, 56789, 3.4e6, null, NaN, Infinity].map(formatNumber),
        ["0", "3", "0.2", "0.25", "1.3", "12.3", "250", "1.2k", "57k", "3.4M", "–", "–", "∞"]);
    assert.deepEqual([0, 45, 65, 3600, 3 * 3600 + 20 * 60, 4 * 86400 + 6 * 3600 + 59, -5, null].map(formatDuration),
        ["0 s", "45 s", "1 min 5 s", "1 h", "3 h 20 min", "4 d 6 h", "0 s", "–"]);
});

test("?every= sets the poll interval, 1 to 60 seconds, 5 otherwise", () => {
    const at = (query) => readStatusSettings(new URL(`http://h/status${query}`)).everyMs;
    assert.equal(at(""), 5000);
    assert.equal(at("?every=1"), 1000);
    assert.equal(at("?every=60"), 60000);
    for (const odd of ["0", "61", "2.5", "-1", "x", ""])
        assert.equal(at(`?every=${odd}`), 5000, odd);
});
