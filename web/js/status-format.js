// How the status page writes numbers, durations and times: short enough for a phone, exact
// enough to compare two charts. Pure; used by status.js and status-chart.js.

// A value as the charts and headlines write it: 3, 0.4, 12.5, 1.2k, 34k, 3.4M; "–" for none.
export function formatNumber(value)
{
    if (value === null || value === undefined || Number.isNaN(value))
        return "–";
    if (!Number.isFinite(value))
        return value > 0 ? "∞" : "-∞";
    const abs = Math.abs(value);
    if (abs >= 1e6)
        return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
    if (abs >= 1e4)
        return `${(value / 1e3).toFixed(0)}k`;
    if (abs >= 1e3)
        return `${(value / 1e3).toFixed(1)}k`;
    if (Number.isInteger(value) || abs >= 100)
        return String(Math.round(value));
    if (abs >= 10)
        return value.toFixed(1);
    return String(Number(value.toFixed(abs >= 1 ? 1 : 2)));
}

// Seconds as the two largest units: "45 s", "12 min 5 s", "3 h 20 min", "4 d 6 h".
export function formatDuration(seconds)
{
    if (seconds === null || !Number.isFinite(seconds))
        return "–";
    const s = Math.max(0, Math.floor(seconds));
    const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
    const first = units.findIndex(([, size]) => s >= size);
    if (first === -1)
        return "0 s";
    const [name, size] = units[first];
    const whole = Math.floor(s / size);
    const next = units[first + 1];
    const rest = next ? Math.floor((s % size) / next[1]) : 0;
    return rest > 0 ? `${whole} ${name} ${rest} ${next[0]}` : `${whole} ${name}`;
}

function two(n)
{
    return String(n).padStart(2, "0");
}

// HH:MM in local time (chart axes).
export function clockTime(t)
{
    const d = new Date(t);
    return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

// HH:MM:SS in local time (the last answer, in the banner).
export function clockTimeSeconds(t)
{
    const d = new Date(t);
    return `${clockTime(t)}:${two(d.getSeconds())}`;
}
