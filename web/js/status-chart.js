// Draws one line chart of the status page as plain SVG: y grid with values, x axis in clock
// time, one line per series (broken where a value is missing or a poll failed), the spans when
// signald could not be reached, and a legend with each series' current value. Knows nothing of
// /metrics: status.js hands it points. The scale and path helpers are pure and tested in Node.

import { clockTime, formatNumber } from "./status-format.js";

const svg_ns = "http://www.w3.org/2000/svg";

// Room for the y labels on the left and the time labels below.
const margin = { top: 8, right: 10, bottom: 22, left: 44 };
const height_px = 150;
// Two minutes at least: a page just opened shows its first points spread out, not in a sliver.
const min_span_ms = 2 * 60 * 1000;

// A y axis from 0 to a round number at or above max: { top, step, ticks }. `floor` keeps an idle
// chart from magnifying noise (a rate of 0.01/s drawn as tall as 100/s would be).
export function niceScale(max, { floor = 1, count = 4 } = {})
{
    const wanted = Math.max(Number.isFinite(max) ? max : 0, floor) / count;
    const power = 10 ** Math.floor(Math.log10(wanted));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= wanted - 1e-12);
    const ticks = [];
    for (let i = 0; i <= count; ++i)
        ticks.push(Number((step * i).toPrecision(12)));
    return { top: ticks.at(-1), step, ticks };
}

// The time axis: from the oldest point (at least two minutes back, at most the window) to now.
export function timeSpan(now, oldest, windowMs)
{
    const span = Math.min(windowMs, Math.max(min_span_ms, now - (oldest ?? now)));
    return { from: now - span, to: now };
}

// Round clock times inside [from, to] at most `most` of them, each `step` minutes apart.
export function timeTicks(from, to, most)
{
    const minute = 60 * 1000;
    const step = [1, 2, 5, 10, 15, 20, 30, 60].map((m) => m * minute)
        .find((s) => (to - from) / s <= Math.max(most, 1)) ?? 60 * minute;
    const ticks = [];
    for (let t = Math.ceil(from / step) * step; t <= to; t += step)
        ticks.push(t);
    return ticks;
}

// The SVG path of points [{ t, v }] through x(t) and y(v), lifted wherever v is null or two
// points lie more than maxGapMs apart (a poll was missed: nothing is known in between).
export function linePath(points, x, y, maxGapMs)
{
    let d = "";
    let previous = null;
    for (const p of points) {
        if (p.v === null || !Number.isFinite(p.v)) {
            previous = null;
            continue;
        }
        const joined = previous !== null && p.t - previous.t <= maxGapMs;
        d += `${joined ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
        previous = p;
    }
    return d;
}

// Time ranges [from, to] covered by failed polls (rows with `down`), merged when consecutive.
export function downRanges(rows)
{
    const ranges = [];
    let open = null;
    rows.forEach((row, i) => {
        if (row.down) {
            if (!open)
                open = { from: rows[i - 1]?.t ?? row.t, to: row.t };
            open.to = row.t;
        } else if (open) {
            open.to = row.t;
            ranges.push(open);
            open = null;
        }
    });
    if (open)
        ranges.push(open);
    return ranges;
}

function el(name, attributes = {}, text)
{
    const node = document.createElementNS(svg_ns, name);
    for (const [key, value] of Object.entries(attributes))
        node.setAttribute(key, String(value));
    if (text !== undefined)
        node.textContent = text;
    return node;
}

// Draws into `figure` (which holds an <svg> and a <ul class="legend">):
//   title, description: what the chart shows, in words (the <title> and <desc>);
//   series: [{ key, label, points: [{ t, v }], tone (0-7), current, note, alert }] (note: words
//           after the value; alert: the note is bad news, drawn in the danger colour);
//   rows: the history's rows (for the spans without data); now, windowMs, maxGapMs;
//   unit: appended to current values ("/s", " ms"); floor: the smallest y top;
//   empty: what to say when there is no series at all.
export function drawChart(figure, { title, description, series, rows, now, windowMs, maxGapMs, unit = "", floor = 1, empty = "No data yet." })
{
    const svg = figure.querySelector("svg");
    const legend = figure.querySelector(".legend");
    const width = Math.max(240, Math.round(svg.getBoundingClientRect().width) || 600);
    svg.setAttribute("viewBox", `0 0 ${width} ${height_px}`);
    svg.setAttribute("height", String(height_px));
    svg.replaceChildren();

    const id = figure.id || figure.dataset.chart;
    svg.append(el("title", { id: `${id}-title` }, title), el("desc", { id: `${id}-desc` }, description));
    svg.setAttribute("aria-labelledby", `${id}-title ${id}-desc`);

    const oldest = rows.length > 0 ? rows[0].t : now;
    const { from, to } = timeSpan(now, oldest, windowMs);
    const visible = series.flatMap((s) => s.points.filter((p) => p.t >= from && p.v !== null).map((p) => p.v));
    const scale = niceScale(Math.max(0, ...visible.filter(Number.isFinite)), { floor });
    const plot = { left: margin.left, right: width - margin.right, top: margin.top, bottom: height_px - margin.bottom };
    const x = (t) => plot.left + ((t - from) / (to - from)) * (plot.right - plot.left);
    const y = (v) => plot.bottom - (Math.min(v, scale.top) / scale.top) * (plot.bottom - plot.top);

    // Spans when signald did not answer, behind everything else.
    for (const range of downRanges(rows)) {
        if (range.to < from)
            continue;
        const left = x(Math.max(range.from, from));
        svg.append(el("rect", { class: "down-span", x: left.toFixed(1), y: plot.top,
            width: Math.max(2, x(range.to) - left).toFixed(1), height: plot.bottom - plot.top }));
    }
    // With no series there is nothing to scale: only the zero line, so the words stand alone.
    for (const v of series.length === 0 ? [0] : scale.ticks) {
        svg.append(el("line", { class: v === 0 ? "axis" : "grid", x1: plot.left, x2: plot.right, y1: y(v), y2: y(v) }));
        svg.append(el("text", { class: "tick", x: plot.left - 6, y: y(v) + 4, "text-anchor": "end" }, formatNumber(v)));
    }
    const labelsFit = Math.floor((plot.right - plot.left) / 64);
    for (const t of timeTicks(from, to, labelsFit)) {
        // A time right at the left edge would sit on the y axis' "0".
        if (x(t) < plot.left + 18)
            continue;
        svg.append(el("line", { class: "grid", x1: x(t), x2: x(t), y1: plot.top, y2: plot.bottom }));
        svg.append(el("text", { class: "tick", x: x(t), y: height_px - 6, "text-anchor": "middle" }, clockTime(t)));
    }
    for (const row of rows)
        if (row.restarted && row.t >= from)
            svg.append(el("line", { class: "restart", x1: x(row.t), x2: x(row.t), y1: plot.top, y2: plot.bottom }));

    for (const s of series) {
        const points = s.points.filter((p) => p.t >= from);
        svg.append(el("path", { class: `line tone-${s.tone}`, d: linePath(points, x, y, maxGapMs) }));
        const last = points.at(-1);
        if (last && last.v !== null && Number.isFinite(last.v))
            svg.append(el("circle", { class: `dot tone-${s.tone}`, cx: x(last.t).toFixed(1), cy: y(last.v).toFixed(1), r: 3 }));
    }
    if (series.length === 0)
        svg.append(el("text", { class: "empty", x: (plot.left + plot.right) / 2, y: (plot.top + plot.bottom) / 2, "text-anchor": "middle" }, empty));

    legend.replaceChildren(...series.map((s) => {
        const item = document.createElement("li");
        item.dataset.series = s.key;
        const swatch = document.createElement("span");
        swatch.className = `swatch tone-${s.tone}`;
        swatch.setAttribute("aria-hidden", "true");
        const label = document.createElement("span");
        label.className = "legend-label";
        label.textContent = s.label;
        const value = document.createElement("span");
        value.className = s.alert ? "legend-value alert" : "legend-value";
        const known = s.current !== null && s.current !== undefined;
        value.dataset.value = known ? String(s.current) : "";
        const number = known ? `${formatNumber(s.current)}${unit}` : "";
        value.textContent = [number, s.note ?? ""].filter(Boolean).join(" · ") || "–";
        item.append(swatch, label, value);
        return item;
    }));
}
