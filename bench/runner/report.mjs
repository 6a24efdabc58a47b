// Turns the runs into the markdown table: median and range per server, the ratio between them,
// and the correctness line. A run that failed or saw a violation is shouted about in the table
// itself, so a pasted table can never hide it.

// Middle value; the mean of the two middle ones for an even count.
function median(values)
{
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Three significant digits is all a noisy benchmark supports; thousands get separators.
export function formatNumber(value)
{
    if (!Number.isFinite(value)) return String(value);
    const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    return value.toLocaleString("en-US", { minimumFractionDigits: digits,
                                           maximumFractionDigits: digits });
}

function summary(values)
{
    if (values.length === 0) return "no result";
    const middle = formatNumber(median(values));
    if (values.length === 1) return middle;
    const [low, high] = [Math.min(...values), Math.max(...values)];
    return `${middle} (${formatNumber(low)}–${formatNumber(high)})`;
}

// signald against Node as "how many times better": throughput is signald/Node, latency and memory
// are Node/signald. A factor below 1 is turned round and worded the other way.
function ratio(metric, signald, node)
{
    if (!metric.better || !signald.length || !node.length) return "";
    const [ours, theirs] = [median(signald), median(node)];
    if (ours <= 0 || theirs <= 0) return "";
    if (metric.better === "higher") return `${(ours / theirs).toFixed(2)}×`;
    const [better, worse] = metric.better === "less memory" ? ["less memory", "more memory"]
                                                            : ["lower", "higher"];
    return theirs >= ours ? `${(theirs / ours).toFixed(2)}× ${better}`
                          : `${(ours / theirs).toFixed(2)}× ${worse}`;
}

// A run counts when it completed; its violations are counted either way.
function completed(run)
{
    return !run.error;
}

function failureNote(runs)
{
    const failed = runs.filter((run) => !completed(run)).length;
    const flawed = runs.filter((run) => run.result?.violations > 0).length;
    return (failed ? ` **${failed} FAILED**` : "") +
           (flawed ? ` **${flawed} WITH VIOLATIONS**` : "");
}

// runs: [{ scenario, server, run, result?, error? }]; servers: [{ id, label }], signald first.
// A scenario's variants (signald with other options) get a row each under its first metric, in
// signald's column, and count as signald in the last two rows. So does the cluster, when given,
// but with a row under every metric of the scenarios that ran it, compared with Node.
export function buildTable(scenarios, servers, runs, cluster = null)
{
    const [signald, node] = servers;
    const variantIds = new Set(scenarios.flatMap((scenario) => scenario.variants ?? [])
        .map((variant) => variant.id));
    if (cluster) variantIds.add(cluster.id);
    const columnOf = (id) => (variantIds.has(id) ? signald.id : id);
    const header = [
        `| Scenario | Metric | ${signald.label} median (min–max) ` +
            `| ${node.label} median (min–max) | ${signald.label} vs ${node.label} |`,
        "|---|---|---:|---:|---|",
    ];
    const rows = [];
    for (const scenario of scenarios) {
        const runsOf = (server) =>
            runs.filter((run) => run.scenario === scenario.name && run.server === server.id);
        const [ours, theirs] = [runsOf(signald), runsOf(node)];
        const clustered = cluster ? runsOf(cluster) : [];
        if (ours.length + theirs.length === 0) continue;
        let first = true;
        const row = (label, a, b, c) => {
            rows.push(`| ${first ? scenario.name : ""} | ${label} | ${a} | ${b} | ${c} |`);
            first = false;
        };
        for (const [index, metric] of scenario.metrics.entries()) {
            const values = (serverRuns) => serverRuns.filter(completed)
                .map((run) => run.result[metric.key]).filter(Number.isFinite);
            // Failures and violations are flagged once per scenario, on its first row.
            const note = (serverRuns) => (first ? failureNote(serverRuns) : "");
            row(metric.label, summary(values(ours)) + note(ours),
                summary(values(theirs)) + note(theirs),
                ratio(metric, values(ours), values(theirs)));
            if (clustered.length) {
                row(`${metric.label}, 2-node cluster`,
                    summary(values(clustered)) + (index === 0 ? failureNote(clustered) : ""), "",
                    ratio(metric, values(clustered), values(theirs)));
            }
            if (index > 0) continue;
            for (const variant of scenario.variants ?? []) {
                const variantRuns = runsOf(variant);
                if (variantRuns.length === 0) continue;
                const [main, other] = [values(ours), values(variantRuns)];
                const compared = main.length && other.length
                    ? variant.compare(median(main), median(other)) : "";
                row(`${metric.label}, ${variant.label}`,
                    summary(other) + failureNote(variantRuns), "", compared);
            }
        }
        if (scenario.showsRateHeld) {
            const offered = [...ours, ...theirs].find(completed)?.result.offered_per_s;
            const held = (serverRuns) => {
                const done = serverRuns.filter(completed);
                const count = done.filter((run) => run.result.rate_held === true).length;
                const loud = count < done.length ? " **NOT HELD**" : "";
                return `${count}/${done.length} runs${loud}`;
            };
            const label = offered ? `rate held (${formatNumber(offered)}/s offered)` : "rate held";
            row(label, held(ours), held(theirs), "");
            if (clustered.length) row(`${label}, 2-node cluster`, held(clustered), "", "");
        }
    }

    const violations = (server) => runs.filter((run) => columnOf(run.server) === server.id)
        .reduce((sum, run) => sum + (run.result?.violations ?? 0), 0);
    const failed = (server) =>
        runs.filter((run) => columnOf(run.server) === server.id && !completed(run)).length;
    const loud = (count, word) => (count ? `**${count} ${word}**` : "0");
    rows.push(`| all | violations (must be 0) | ${loud(violations(signald), "VIOLATIONS")} ` +
              `| ${loud(violations(node), "VIOLATIONS")} | |`);
    rows.push(`| all | failed runs (must be 0) | ${loud(failed(signald), "FAILED")} ` +
              `| ${loud(failed(node), "FAILED")} | |`);
    return [...header, ...rows].join("\n");
}

// One line per run that failed or saw violations, for under the table. servers: every server that
// ran, variants included.
export function listProblems(servers, runs)
{
    const label = (id) => servers.find((server) => server.id === id).label;
    return runs.filter((run) => !completed(run) || run.result.violations > 0).map((run) => {
        const count = run.result?.violations;
        const what = completed(run) ? `${count} violation${count === 1 ? "" : "s"}` : run.error;
        return `- ${run.scenario}, ${label(run.server)}, run ${run.run}: ${what}`;
    });
}
