// The status page (/status): polls /metrics, keeps the last hour of what it read (also in
// sessionStorage, so a reload keeps it) and draws it. It owns the poll loop and the page's
// elements; reading the text (prometheus-text.js, status-snapshot.js), the hour of rows and rates
// (status-history.js) and drawing one chart (status-chart.js) are modules of their own. It never
// writes to signald: /metrics is its only request.

import { drawChart } from "./status-chart.js";
import { clockTimeSeconds, formatDuration, formatNumber } from "./status-format.js";
import { StatusHistory } from "./status-history.js";
import { parseExposition } from "./prometheus-text.js";
import { readSnapshot } from "./status-snapshot.js";
import { readStatusSettings } from "./status-settings.js";

const settings = readStatusSettings(new URL(location.href));
const storage_key = "signald-status-history";
// A certificate this close to expiry means the renewal did not happen (README "Monitoring").
const certificate_warn_days = 14;
// Two missed polls' worth of time without a point: the line breaks there.
const max_gap_ms = settings.everyMs * 2.5;

const $ = (id) => document.getElementById(id);

function loadHistory()
{
    try {
        return StatusHistory.fromJSON(JSON.parse(sessionStorage.getItem(storage_key)), Date.now());
    } catch {
        return new StatusHistory();
    }
}

function saveHistory()
{
    try {
        sessionStorage.setItem(storage_key, JSON.stringify(history));
    } catch {
        // Storage full or disabled: the page still works, a reload just starts empty.
    }
}

const history = loadHistory();
let latest = null;      // the latest snapshot read
let lastAnswer = null;  // when signald last answered (ms)
let polls = 0;

// ---- Polling -----------------------------------------------------------------------------------

async function fetchSnapshot()
{
    // A poll that hangs is a failure too: no answer within the interval (at least 3 s).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(3000, settings.everyMs));
    try {
        const response = await fetch("metrics", { cache: "no-store", signal: controller.signal });
        if (!response.ok)
            throw new Error(`/metrics answered ${response.status} ${response.statusText}`.trim());
        const parsed = parseExposition(await response.text());
        if (!parsed.families.has("signald_start_time_seconds"))
            throw new Error("/metrics is not signald's");
        if (parsed.problems.length > 0)
            console.warn("status: lines of /metrics skipped:", parsed.problems);
        return readSnapshot(parsed);
    } catch (err) {
        throw err.name === "AbortError" ? new Error("/metrics did not answer in time") : err;
    } finally {
        clearTimeout(timer);
    }
}

// One poll, then the next one an interval later (never two at once, however slow an answer).
async function poll()
{
    const t = Date.now();
    try {
        latest = await fetchSnapshot();
        history.record(t, latest);
        lastAnswer = t;
        showReachable(null);
    } catch (err) {
        history.recordFailure(t, err.message);
        // A TypeError from fetch is the network's "failed to fetch": say it plainly.
        showReachable(err instanceof TypeError ? "no connection to signald" : err.message);
    }
    // The next poll is due whatever drawing this one does.
    setTimeout(poll, settings.everyMs);
    ++polls;
    document.body.dataset.polls = String(polls);
    saveHistory();
    render();
}

// ---- Drawing -----------------------------------------------------------------------------------

function showReachable(problem)
{
    const banner = $("unreachable");
    const state = $("poll-state");
    document.body.dataset.reachable = problem === null ? "yes" : "no";
    const every = `every ${settings.everyMs / 1000} s`;
    if (problem === null) {
        banner.hidden = true;
        state.dataset.state = "live";
        $("poll-text").textContent = `Live, ${every}`;
        return;
    }
    banner.hidden = false;
    state.dataset.state = "down";
    $("poll-text").textContent = "Unreachable";
    const since = lastAnswer === null ? "No answer yet" : `Last answer at ${clockTimeSeconds(lastAnswer)}`;
    $("unreachable-text").textContent = `${problem}. ${since}; trying again ${every}.`;
}

function setText(id, text)
{
    const node = $(id);
    if (node.textContent !== text)
        node.textContent = text;
}

function renderHeadline(now)
{
    setText("version", latest?.version ?? "–");
    setText("uptime", latest?.startTime ? formatDuration(now / 1000 - latest.startTime) : "–");
    $("node-item").hidden = !latest?.node;
    setText("node", latest?.node ?? "–");
    const expiry = latest?.certificateExpiry ?? null;
    $("certificate-item").hidden = expiry === null;
    if (expiry !== null) {
        const days = Math.floor((expiry - now / 1000) / 86400);
        setText("certificate", days < 0 ? "expired" : `${days} ${days === 1 ? "day" : "days"} left`);
        $("certificate-item").dataset.warn = days < certificate_warn_days ? "yes" : "no";
    }
    setText("now-connections", formatNumber(history.latest("connections")));
    setText("now-rooms", formatNumber(history.latest("rooms")));
    setText("now-members", formatNumber(history.latest("members")));
    const rate = (key) => formatNumber(history.latest(key));
    setText("now-messages", `${rate("in")} / ${rate("out")}`);
}

// One chart's series, from keys of the history: [key, label, tone].
function seriesOf(entries, { note, alert, zeroWhereRated = false } = {})
{
    return entries.map(([key, label, tone]) => ({
        key, label, tone, points: history.series(key, { zeroWhereRated }), current: history.latest(key),
        note: note?.(key), alert: alert?.(key) ?? false,
    }));
}

function chartText(series, unit, what)
{
    if (series.length === 0)
        return `${what}: nothing to show.`;
    const said = (s) => [s.current === null ? "" : `${formatNumber(s.current)}${unit}`, s.note ?? ""]
        .filter(Boolean).join(", ") || "no value";
    return `${what}, latest: ` + series.map((s) => `${s.label} ${said(s)}`).join("; ") + ".";
}

function renderCharts(now)
{
    const common = { rows: history.rows, now, windowMs: history.windowMs, maxGapMs: max_gap_ms };
    const draw = (id, title, series, options = {}) => drawChart($(id), {
        ...common, ...options, title, series,
        description: chartText(series, options.unit ?? "", title),
    });

    draw("chart-connections", "WebSocket connections", seriesOf([["connections", "connections", 0]]));
    draw("chart-rooms", "Rooms and members", seriesOf([
        ["rooms", "rooms", 0], ["members", "members", 1], ["suspended", "suspended members", 3],
    ]));
    draw("chart-messages", "Messages per second", seriesOf([
        ["in", "in (received)", 0], ["out", "out (sent)", 1],
    ]), { unit: "/s" });

    const reasons = history.moved("refusal:");
    draw("chart-refusals", "Refusals per second, by reason", seriesOf(
        reasons.map((key, i) => [key, key.slice("refusal:".length), (i + 2) % 8]),
        { note: (key) => `${formatNumber(latest?.refusals.get(key.slice("refusal:".length)) ?? null)} total`, zeroWhereRated: true },
    ), { unit: "/s", empty: "No refusals in this hour." });

    // Not configured: signald answered and has no TURN check, and none ran in the hour.
    const urls = history.keys("turn:").map((key) => key.slice("turn:".length));
    const notConfigured = latest !== null && latest.turn === null && urls.length === 0;
    $("turn-none").hidden = !notConfigured;
    $("chart-turn").hidden = notConfigured;
    if (!notConfigured)
        draw("chart-turn", "TURN self-test round trip, by server", seriesOf(
            urls.map((url, i) => [`turn:${url}`, url, i % 8]),
            {
                note: (key) => ({ 1: "ok", 0: "failing" })[history.latest(`turnok:${key.slice("turn:".length)}`)] ?? "",
                alert: (key) => history.latest(`turnok:${key.slice("turn:".length)}`) === 0,
            },
        ), { unit: " ms", floor: 10, empty: "No TURN check has run yet." });
}

function render()
{
    const now = Date.now();
    renderHeadline(now);
    renderCharts(now);
}

// Charts are drawn at the width they have, so a rotated phone or a resized window redraws them.
let redraw = 0;
new ResizeObserver(() => {
    cancelAnimationFrame(redraw);
    redraw = requestAnimationFrame(() => renderCharts(Date.now()));
}).observe($("charts"));

$("poll-every").textContent = String(settings.everyMs / 1000);
render();
poll();
