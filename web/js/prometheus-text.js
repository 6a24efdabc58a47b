// Reads the Prometheus text exposition format 0.0.4, what GET /metrics answers, into families of
// samples. Pure: no DOM, no fetch; the status page (status.js) and the Node tests use it alike.
//
// It follows the format as written (https://prometheus.io/docs/instrumenting/exposition_formats/):
// `# HELP name text` (text escapes \\ and \n), `# TYPE name type`, other `#` lines are comments;
// a sample is `name{label="value",...} value [timestamp]`, label values escaping \\ \" and \n,
// values being Go floats (NaN, +Inf, -Inf too), timestamps integer milliseconds. A line it cannot
// read is skipped and named in `problems`, so one odd line never blanks the whole page.

const name_pattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const label_name_pattern = /^[a-zA-Z_][a-zA-Z0-9_]*/;

// The suffixes a summary's or histogram's samples add to the family name.
const family_suffixes = ["_bucket", "_count", "_sum"];

// A Go float as the format writes it; NaN when the text is none (the caller checks with isNumber).
export function parseValue(text)
{
    switch (text) {
    case "NaN": return NaN;
    case "+Inf": case "Inf": return Infinity;
    case "-Inf": return -Infinity;
    }
    // Number("") is 0 and Number("0x10") is 16: neither is a Go float literal.
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text))
        return undefined;
    return Number(text);
}

function unescapeHelp(text)
{
    return text.replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\"));
}

// Reads `{a="x",b="y"}` from text at `at` (the brace); returns [labels, index after the brace] or
// a string saying what is wrong.
function readLabels(text, at)
{
    const labels = {};
    let i = at + 1;
    const skipSpace = () => { while (text[i] === " " || text[i] === "\t") ++i; };
    for (;;) {
        skipSpace();
        if (text[i] === "}")
            return [labels, i + 1];
        const name = label_name_pattern.exec(text.slice(i));
        if (!name)
            return "bad label name";
        i += name[0].length;
        skipSpace();
        if (text[i] !== "=")
            return `no = after label ${name[0]}`;
        ++i;
        skipSpace();
        if (text[i] !== "\"")
            return `label ${name[0]} is not quoted`;
        ++i;
        let value = "";
        for (;;) {
            if (i >= text.length)
                return `label ${name[0]} is not closed`;
            const c = text[i++];
            if (c === "\"")
                break;
            if (c !== "\\") {
                value += c;
                continue;
            }
            const escaped = text[i++];
            if (escaped === "\\" || escaped === "\"")
                value += escaped;
            else if (escaped === "n")
                value += "\n";
            else
                return `bad escape \\${escaped ?? ""} in label ${name[0]}`;
        }
        if (Object.hasOwn(labels, name[0]))
            return `label ${name[0]} twice`;
        labels[name[0]] = value;
        skipSpace();
        if (text[i] === ",")
            ++i;
        else if (text[i] !== "}")
            return `expected , or } after label ${name[0]}`;
    }
}

// One sample line, or a string saying what is wrong with it.
export function parseSampleLine(line)
{
    const name = name_pattern.exec(line);
    if (!name)
        return "bad metric name";
    let i = name[0].length;
    let labels = {};
    if (line[i] === "{") {
        const read = readLabels(line, i);
        if (typeof read === "string")
            return read;
        [labels, i] = read;
    }
    const rest = line.slice(i).trim().split(/[ \t]+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === "")
        return "expected a value and at most a timestamp";
    const value = parseValue(rest[0]);
    if (value === undefined)
        return `bad value ${JSON.stringify(rest[0])}`;
    let timestamp = null;
    if (rest.length === 2) {
        if (!/^-?\d+$/.test(rest[1]))
            return `bad timestamp ${JSON.stringify(rest[1])}`;
        timestamp = Number(rest[1]);
    }
    return { name: name[0], labels, value, timestamp };
}

// The family a sample belongs to: its own name, or the summary/histogram it is a part of.
function familyOf(families, sampleName)
{
    if (families.has(sampleName))
        return families.get(sampleName);
    for (const suffix of family_suffixes)
        if (sampleName.endsWith(suffix)) {
            const base = families.get(sampleName.slice(0, -suffix.length));
            if (base && (base.type === "summary" || base.type === "histogram"))
                return base;
        }
    return null;
}

// The whole text: { families: Map(name -> { name, help, type, samples: [...] }), problems: [...] }.
// A sample without HELP or TYPE gets a family of type "untyped", as the format says.
export function parseExposition(text)
{
    const families = new Map();
    const problems = [];
    const family = (name) => {
        if (!families.has(name))
            families.set(name, { name, help: "", type: "untyped", samples: [] });
        return families.get(name);
    };
    const lines = text.split("\n");
    lines.forEach((raw, index) => {
        const line = raw.replace(/\r$/, "");
        if (line.trim() === "")
            return;
        if (line.startsWith("#")) {
            const meta = /^#[ \t]+(HELP|TYPE)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(.*))?$/.exec(line);
            if (!meta)
                return; // a comment
            const [, kind, name, rest = ""] = meta;
            if (kind === "HELP")
                family(name).help = unescapeHelp(rest);
            else if (["counter", "gauge", "histogram", "summary", "untyped"].includes(rest.trim()))
                family(name).type = rest.trim();
            else
                problems.push(`line ${index + 1}: unknown type ${JSON.stringify(rest)}`);
            return;
        }
        const sample = parseSampleLine(line.trim());
        if (typeof sample === "string") {
            problems.push(`line ${index + 1}: ${sample}`);
            return;
        }
        (familyOf(families, sample.name) ?? family(sample.name)).samples.push(sample);
    });
    return { families, problems };
}

// ---- Reading what was parsed ------------------------------------------------------------------

function matches(sample, labels)
{
    return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

// Every sample named exactly `name` (a family's own samples, not its _sum or _count).
export function samplesOf(parsed, name)
{
    const family = parsed.families.get(name);
    return family ? family.samples.filter((s) => s.name === name) : [];
}

// The value of the first sample named `name` whose labels include `labels`; null when none.
export function valueOf(parsed, name, labels = {})
{
    const sample = samplesOf(parsed, name).find((s) => matches(s, labels));
    return sample ? sample.value : null;
}

// The sum over every sample named `name`; null when the family has no sample at all.
export function sumOf(parsed, name)
{
    const samples = samplesOf(parsed, name);
    return samples.length === 0 ? null : samples.reduce((sum, s) => sum + s.value, 0);
}

// Map(label value -> summed value) of the samples named `name`, by one label.
export function byLabel(parsed, name, label)
{
    const out = new Map();
    for (const s of samplesOf(parsed, name)) {
        const key = s.labels[label] ?? "";
        out.set(key, (out.get(key) ?? 0) + s.value);
    }
    return out;
}
