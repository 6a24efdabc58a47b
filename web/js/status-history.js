// The status page's memory: one row per poll of /metrics over the last hour, each row holding
// the values the charts draw (gauges as read, counters turned into per-second rates). Pure: the
// caller passes the time, so the tests drive it with made-up clocks. It never fetches or draws.
//
// A counter only grows until signald restarts, so a rate is the growth between two reads over
// the seconds between them. Where that cannot be known (the first read, a restart, a value that
// fell) the row holds null, which the charts draw as a gap rather than a lie.

export const history_window_ms = 60 * 60 * 1000;

// Rows kept at most, whatever the clock does: an hour at one poll a second.
const max_rows = 3600;

// The per-second rate of a counter read as `before` then `after`, `seconds` apart; null when
// unknown: a missing read, no time between, or a value that fell (a reset, i.e. a restart).
export function counterRate(before, after, seconds)
{
    if (before === null || before === undefined || after === null || after === undefined)
        return null;
    if (!(seconds > 0) || !Number.isFinite(before) || !Number.isFinite(after) || after < before)
        return null;
    return (after - before) / seconds;
}

export class StatusHistory
{
    constructor({ windowMs = history_window_ms } = {})
    {
        this.windowMs = windowMs;
        this.rows = [];     // { t (ms), down?: reason, restarted?: true, values: { key: number | null } }
        this.last = null;   // the latest successful read: { t, startTime, counters, refusals: Map }
    }

    // A successful scrape at time t (ms), its snapshot from status-snapshot.js; returns the row.
    record(t, snapshot)
    {
        const before = this.last;
        const restarted = before !== null && before.startTime !== null && snapshot.startTime !== null &&
            before.startTime !== snapshot.startTime;
        // After a restart the counters started again from zero: no rate spans it.
        const base = before !== null && !restarted ? before : null;
        const seconds = base ? (t - base.t) / 1000 : 0;
        const values = { ...snapshot.gauges };
        values.in = counterRate(base?.counters.in, snapshot.counters.in, seconds);
        values.out = counterRate(base?.counters.out, snapshot.counters.out, seconds);
        // A reason appears in /metrics at its first refusal: absent before means zero before.
        for (const [reason, count] of snapshot.refusals)
            values[`refusal:${reason}`] = base ? counterRate(base.refusals.get(reason) ?? 0, count, seconds) : null;
        for (const [url, check] of snapshot.turn ?? []) {
            values[`turn:${url}`] = check.ok === false || check.seconds === null ? null : check.seconds * 1000;
            values[`turnok:${url}`] = check.ok === null ? null : check.ok ? 1 : 0;
        }
        const row = { t, values };
        // Rates were computed for this row: a series it lacks was at zero then (a refusal
        // reason before its first refusal), not unknown.
        if (base)
            row.rated = true;
        if (restarted)
            row.restarted = true;
        this.rows.push(row);
        this.last = { t, startTime: snapshot.startTime, counters: { ...snapshot.counters }, refusals: new Map(snapshot.refusals) };
        this.trim(t);
        return row;
    }

    // A poll that failed at time t: a row with no values, so every chart shows the gap.
    recordFailure(t, reason)
    {
        this.rows.push({ t, down: String(reason), values: {} });
        this.trim(t);
    }

    trim(now)
    {
        const oldest = now - this.windowMs;
        let drop = 0;
        while (drop < this.rows.length && this.rows[drop].t < oldest)
            ++drop;
        drop = Math.max(drop, this.rows.length - max_rows);
        if (drop > 0)
            this.rows.splice(0, drop);
    }

    // [{ t, v }] for one key, v null where the row has none (a gap). zeroWhereRated: a rated
    // row without the key counts as 0 (for rates of counters that appear at their first count).
    series(key, { zeroWhereRated = false } = {})
    {
        return this.rows.map((row) => ({
            t: row.t, v: row.values[key] ?? (zeroWhereRated && row.rated && !(key in row.values) ? 0 : null),
        }));
    }

    // The keys starting with prefix that any row holds, sorted.
    keys(prefix)
    {
        const found = new Set();
        for (const row of this.rows)
            for (const key of Object.keys(row.values))
                if (key.startsWith(prefix))
                    found.add(key);
        return [...found].sort();
    }

    // The keys starting with prefix whose value was above zero at least once in the window.
    moved(prefix)
    {
        return this.keys(prefix).filter((key) => this.rows.some((row) => row.values[key] > 0));
    }

    // The latest value of key, or null when the latest row is a failure or lacks it.
    latest(key)
    {
        const row = this.rows.at(-1);
        return row ? row.values[key] ?? null : null;
    }

    // For sessionStorage: plain JSON, so a reload keeps the hour.
    toJSON()
    {
        const last = this.last && { ...this.last, refusals: [...this.last.refusals] };
        return { format: 1, rows: this.rows, last };
    }

    // The history saved by toJSON, trimmed to the window before now; an empty one when `saved`
    // is not such a thing (another version of the page, a hand-edited store).
    static fromJSON(saved, now, options = {})
    {
        const history = new StatusHistory(options);
        if (!saved || saved.format !== 1 || !Array.isArray(saved.rows))
            return history;
        const rowOk = (r) => r && Number.isFinite(r.t) && r.t <= now && r.values && typeof r.values === "object";
        if (!saved.rows.every(rowOk))
            return history;
        history.rows = saved.rows.filter((r, i, all) => i === 0 || r.t >= all[i - 1].t);
        const last = saved.last;
        if (last && Number.isFinite(last.t) && last.counters && Array.isArray(last.refusals))
            history.last = { ...last, refusals: new Map(last.refusals) };
        history.trim(now);
        return history;
    }
}
