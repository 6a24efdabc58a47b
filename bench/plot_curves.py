#!/usr/bin/python3
"""Draws the cost curves from one `bench/run --curves` result file (bench/README.md, "Cost curves").

    /usr/bin/python3 bench/plot_curves.py build/bench/curves-<time>.json [bench/curves]

Writes deliveries-vs-room-size.svg, rss-vs-idle-connections.svg and latency-vs-rate.svg to the
output directory (bench/curves by default). Needs Debian's python3-matplotlib; no network.
A run that failed or counted a violation is left off its curve and counted in the caption.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "signald"  # the same data gives the same file
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

COLOURS = {"signald": "tab:blue", "node-ws": "tab:orange"}


def colour(record):
    return COLOURS.get(record["server"].removesuffix("-wss"), "tab:gray")


def usable(record):
    return "error" not in record and not record.get("result", {}).get("violations")


def series(records, curve):
    """{series label: [records sorted by x]} of the usable runs of one curve."""
    out = {}
    for record in records:
        if record["curve"] == curve and usable(record):
            out.setdefault(record["series"], []).append(record)
    return {label: sorted(runs, key=lambda r: r["x"]) for label, runs in out.items()}


def thousands(value, _position=None):
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def log_axis(axis, ticks=None):
    """A log axis labelled 1k, 2k, 5k, 10k, ... (or at the given ticks), minor ticks unlabelled."""
    if ticks:
        axis.set_ticks(ticks)
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    axis.set_major_formatter(FuncFormatter(thousands))
    axis.set_minor_formatter(NullFormatter())


def xs_of(data, curve):
    return sorted({r["x"] for r in data["runs"] if r["curve"] == curve})


def label_points(ax, xs, ys, text):
    for x, y in zip(xs, ys):
        ax.annotate(text(y), (x, y), textcoords="offset points", xytext=(0, 6), ha="center",
                    fontsize=7)


def caption(data, curve):
    machine = data["machine"]
    options = data["options"]
    clean = "" if machine.get("worktree_clean") is True else " (uncommitted changes)"
    mode = (f"--quick: {options['warmup']:g} s warm-up + {options['duration']:g} s measured, "
            "quick run on a shared machine: noisy, not final figures"
            if options.get("quick") else
            f"{options['warmup']:g} s warm-up + {options['duration']:g} s measured per point")
    lines = [
        f"{machine['cpu']}, {machine['cpus']} CPUs, {machine['memory_gib']} GiB, "
        f"Linux {machine['kernel']}; commit {machine['commit']}{clean}; {data['started']}",
        f"server on CPU 1, generator on CPU 0; one run per point, each server fresh; {mode}",
    ]
    dropped = [r for r in data["runs"] if r["curve"] == curve and not usable(r)]
    if dropped:
        lines.append(f"{len(dropped)} run(s) failed or counted violations and are not drawn")
    prefix = {"fanout": "fanout", "idle": "idle", "latency": "latency"}[curve]
    lines += [note for note in data.get("notes", []) if note.startswith(prefix)]
    return "\n".join(lines)


def finish(fig, ax, data, curve, path):
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.legend(fontsize=8)
    text = caption(data, curve)
    fig.text(0.01, 0.01, text, fontsize=6.5, va="bottom", ha="left", wrap=True)
    fig.subplots_adjust(bottom=0.13 + 0.025 * text.count("\n"))
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"plot_curves: wrote {path}")


def deliveries(data, path):
    fig, ax = plt.subplots(figsize=(8, 5.4))
    for label, runs in series(data["runs"], "fanout").items():
        xs = [r["x"] for r in runs]
        ys = [r["result"]["delivered_per_s"] for r in runs]
        ax.plot(xs, ys, marker="o", color=colour(runs[0]), label=label)
        label_points(ax, xs, ys, lambda y: thousands(round(y, -3)))
    ax.set_xscale("log", base=2)
    log_axis(ax.xaxis, xs_of(data, "fanout"))
    ax.set_yscale("log")
    log_axis(ax.yaxis)
    ax.set_xlabel("room size (members; about 1,000 clients in all: 500×2 … 32×32)")
    ax.set_ylabel("delivered messages per second (log)")
    ax.set_title("Fan-out throughput against room size (closed loop, saturated)")
    finish(fig, ax, data, "fanout", path)


def rss(data, path):
    fig, ax = plt.subplots(figsize=(8, 5.4))
    for label, runs in series(data["runs"], "idle").items():
        tls = "wss" in label
        xs = [r["x"] for r in runs]
        ys = [r["result"]["bytes_per_connection"] for r in runs]
        ax.plot(xs, ys, marker="s" if tls else "o", linestyle="--" if tls else "-",
                color=colour(runs[0]), label=label)
        label_points(ax, xs, ys, lambda y: f"{y:,.0f} B")
    ax.set_xscale("log")
    log_axis(ax.xaxis, xs_of(data, "idle"))
    ax.set_yscale("log")
    log_axis(ax.yaxis)
    ax.set_xlabel("idle joined connections (log; rooms of 4)")
    ax.set_ylabel("server RSS per connection, bytes (log)")
    ax.set_title("Memory per idle connection against connections held")
    finish(fig, ax, data, "idle", path)


def latency(data, path):
    fig, ax = plt.subplots(figsize=(8, 5.4))
    for label, runs in series(data["runs"], "latency").items():
        for key, name, style in (("p50_ms", "p50", "-"), ("p99_ms", "p99", "--")):
            xs = [r["x"] for r in runs]
            ys = [r["result"][key] for r in runs]
            ax.plot(xs, ys, linestyle=style, color=colour(runs[0]), label=f"{label}, {name}")
            held = [r["result"].get("rate_held") is True for r in runs]
            ax.scatter([x for x, h in zip(xs, held) if h], [y for y, h in zip(ys, held) if h],
                       marker="o", color=colour(runs[0]), zorder=3)
            ax.scatter([x for x, h in zip(xs, held) if not h],
                       [y for y, h in zip(ys, held) if not h],
                       marker="o", facecolors="white", edgecolors=colour(runs[0]), zorder=3)
    ax.scatter([], [], marker="o", facecolors="white", edgecolors="black",
               label="hollow: rate not held (a queue, not the server)")
    ax.set_xscale("log")
    log_axis(ax.xaxis, xs_of(data, "latency"))
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("offered sends per second (log; 500 rooms of 4, each send is 3 deliveries)")
    ax.set_ylabel("relay latency, ms (log)")
    ax.set_title("Open-loop latency against offered rate")
    finish(fig, ax, data, "latency", path)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as file:
        data = json.load(file)
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(__file__), "curves")
    os.makedirs(out, exist_ok=True)
    deliveries(data, os.path.join(out, "deliveries-vs-room-size.svg"))
    rss(data, os.path.join(out, "rss-vs-idle-connections.svg"))
    latency(data, os.path.join(out, "latency-vs-rate.svg"))


if __name__ == "__main__":
    main()
