#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Charts of what tools/joyride bench measured.

    tools/bench/plot.py [--svg] RESULTS OUT

RESULTS is a directory of results as the benchmarks write them when
JR_BENCH_RESULTS names it (tools/joyride bench does: build/bench-results/
<time>/): *.jsonl files, one JSON object a line, each with "bench" (vm,
vm-engines, host), "case" and, for per-round numbers, "round" and "stack"
(linux or joyride).  The cases used here:

  stream_size  vm: one stream by write size: size, bytes_per_s
  rr           vm, host: 64-byte request/response on one connection:
               tps, p50_us, p99_us, hist_us ([[bin's upper bound, count]])
  cps          vm: connect, one request, close: cps
  survival     vm (kind "cold start"), vm-engines (kind "standby"): per kill
               of the netserver (or an engine), kept, total, blackout_ms and
               the bytes delivered per bin_ms from start_ms (ms from the
               kill), successor_ms (when the kill returned)

Writes into OUT, each chart that has data: throughput-by-size.png,
rr-latency-cdf.png, connections-per-second.png, recovery-timeline.png
(with --svg, an .svg of each too).  Per-round numbers are drawn as the
median of the rounds with their range as error bars (or a band); a ratio is
the median of the rounds' Joyride/Linux ratios, each taken within a round,
as the benchmarks' own text lines give them.  Needs matplotlib
(tools/jr-deps --plot).
"""
import argparse
import bisect
import collections
import glob
import json
import os
import statistics
import sys

import matplotlib
matplotlib.use("Agg")   # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

STACKS = ("linux", "joyride")
LABEL = {"linux": "Linux", "joyride": "Joyride"}
COLOR = {"linux": "tab:blue", "joyride": "tab:orange"}
BENCH_TITLE = {"vm": "vm: AF_INET vs AF_JOYRIDE in one guest",
               "host": "host: Linux over veth vs jr-netserver (client library)"}


def load(where):
    rows = []
    for path in sorted(glob.glob(os.path.join(where, "*.jsonl"))):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    print("plot: %s:%d: not JSON, left out (%s)" % (path, n, e), file=sys.stderr)
    return rows


def select(rows, bench=None, case=None):
    return [r for r in rows if (bench is None or r.get("bench") == bench)
            and (case is None or r.get("case") == case)]


def spread(values):
    """(median, median - min, max - median): a point with its error bar."""
    m = statistics.median(values)
    return m, m - min(values), max(values) - m


def paired_ratio(rows, key):
    """Joyride's value over Linux's, per round: "1.23x (1.10-1.40)", or
    None without a round that has both."""
    per_round = collections.defaultdict(dict)
    for r in rows:
        per_round[r.get("round")][r["stack"]] = r[key]
    ratios = [x["joyride"] / x["linux"] for x in per_round.values()
              if x.get("linux") and "joyride" in x]
    if not ratios:
        return None
    return "%.2fx (%.2f-%.2f)" % (statistics.median(ratios), min(ratios), max(ratios))


def rounds_note(rows):
    n = len({r.get("round") for r in rows})
    return "median of %d round%s, bars: range" % (n, "" if n == 1 else "s")


def size_label(size):
    return "%d B" % size if size < 1024 else "%d KiB" % (size // 1024)


def throughput_by_size(rows):
    rows = select(rows, "vm", "stream_size")
    if not rows:
        return None
    sizes = sorted({r["size"] for r in rows})
    fig, ax = plt.subplots(figsize=(8, 5))
    for stack in STACKS:
        points = [(s, [r["bytes_per_s"] / 1e6 for r in rows
                       if r["stack"] == stack and r["size"] == s]) for s in sizes]
        points = [(s, spread(v)) for s, v in points if v]
        if not points:
            continue
        ax.errorbar([s for s, _ in points], [m for _, (m, _, _) in points],
                    yerr=[[lo for _, (_, lo, _) in points], [hi for _, (_, _, hi) in points]],
                    marker="o", capsize=4, color=COLOR[stack], label=LABEL[stack])
    # Each size's ratio goes under its tick.
    ratios = [paired_ratio([r for r in rows if r["size"] == s], "bytes_per_s") for s in sizes]
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v))
    ax.set_xticks(sizes)
    ax.set_xticklabels(["%s\n%s" % (size_label(s), t.split()[0] if t else "")
                        for s, t in zip(sizes, ratios)])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("write size (bytes per send); under each: Joyride/Linux")
    ax.set_ylabel("throughput (MB/s, log scale)")
    ax.set_title("One TCP stream by write size, the guest sending (vm)\n%s"
                 % rounds_note(rows), fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left")
    return fig


def cdf_at(hist, grid):
    """Fraction of round trips below each grid point, from a histogram of
    [upper bound, count] bins."""
    ends = [end for end, _ in hist]
    total = sum(n for _, n in hist)
    cum, acc = [], 0
    for _, n in hist:
        acc += n
        cum.append(acc / total)
    return [cum[i - 1] if i else 0.0 for i in (bisect.bisect_right(ends, x) for x in grid)]


def latency_panel(ax, rows, bench):
    right = 0.0
    for stack in STACKS:
        hists = [r["hist_us"] for r in rows if r["stack"] == stack and r.get("hist_us")]
        if not hists:
            continue
        grid = sorted({end for h in hists for end, _ in h})
        # From 0 just below the first bin (bins are at most 1/16 wide).
        grid.insert(0, grid[0] * 16 / 17)
        at = list(zip(*(cdf_at(h, grid) for h in hists)))
        middle = [statistics.median(c) for c in at]
        ax.plot(grid, middle, color=COLOR[stack], label=LABEL[stack])
        if len(hists) > 1:
            ax.fill_between(grid, [min(c) for c in at], [max(c) for c in at],
                            color=COLOR[stack], alpha=0.2, linewidth=0)
        # The chart ends a little after p99.9; the rest is the ratio box's p99.
        right = max(right, grid[min(bisect.bisect_left(middle, 0.999), len(grid) - 1)])
    for q in (0.5, 0.99):
        ax.axhline(q, color="gray", linestyle=":", linewidth=1)
        ax.annotate("p%d" % round(q * 100), (0.005, q), xycoords=("axes fraction", "data"),
                    va="bottom" if q < 0.9 else "top", fontsize=8, color="gray")
    notes = ["%s Joyride/Linux %s" % (k, t) for k, t in
             (("p50", paired_ratio(rows, "p50_us")), ("p99", paired_ratio(rows, "p99_us")))
             if t]
    if notes:
        ax.text(0.98, 0.04, "\n".join(notes), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=9, bbox=dict(boxstyle="round", fc="white", ec="lightgray"))
    ax.set_xscale("log")
    ax.set_xlim(right=right * 1.5)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v))
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("round trip (µs, log scale)")
    ax.set_ylabel("fraction of requests answered within")
    ax.set_title("%s\n%s" % (BENCH_TITLE.get(bench, bench), rounds_note(rows).replace(
        "bars", "band")), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="center right")


def rr_latency_cdf(rows):
    benches = [b for b in ("vm", "host") if any(r.get("hist_us") for r in select(rows, b, "rr"))]
    if not benches:
        return None
    fig, axes = plt.subplots(1, len(benches), figsize=(7 * len(benches), 5), squeeze=False)
    for ax, bench in zip(axes[0], benches):
        latency_panel(ax, select(rows, bench, "rr"), bench)
    fig.suptitle("Request/response latency, 64-byte messages on one connection (CDF)")
    fig.tight_layout()
    return fig


def connections_per_second(rows):
    rows = select(rows, "vm", "cps")
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 5.5))
    stacks = [s for s in STACKS if any(r["stack"] == s for r in rows)]
    for x, stack in enumerate(stacks):
        values = [r["cps"] for r in rows if r["stack"] == stack]
        m, lo, hi = spread(values)
        ax.bar(x, m, yerr=[[lo], [hi]], capsize=6, color=COLOR[stack], width=0.6,
               label=LABEL[stack])
        ax.plot([x] * len(values), values, "k.", alpha=0.6)
        ax.annotate("%.0f" % m, (x, m + hi), xytext=(0, 4), textcoords="offset points",
                    ha="center", fontsize=9)
    text = paired_ratio(rows, "cps")
    if text:
        ax.text(0.03, 0.95, "Joyride/Linux %s" % text, transform=ax.transAxes, ha="left",
                va="top", fontsize=10, bbox=dict(boxstyle="round", fc="white", ec="lightgray"))
    ax.set_xticks(range(len(stacks)))
    ax.set_xticklabels(["AF_INET (Linux)" if s == "linux" else "AF_JOYRIDE" for s in stacks])
    ax.set_ylim(0, max(r["cps"] for r in rows) * 1.3)
    ax.set_ylabel("connections per second")
    ax.set_title("Connections per second, one after another (vm)\nconnect, one 64-byte request "
                 "and response, close\n%s, dots: rounds" % rounds_note(rows), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper right")
    return fig


KIND_TITLE = {"cold start": "vm, cold start: a new netserver starts (dashed: it is up)",
              "standby": "vm-engines, standby: a standby takes over engine 1"}


def timeline_panel(ax, k):
    """One kill: bytes delivered per bin, as MB/s."""
    t = [k["start_ms"] + i * k["bin_ms"] for i in range(len(k["bytes"]))]
    mbps = [b / (k["bin_ms"] / 1000) / 1e6 for b in k["bytes"]]
    ax.fill_between(t, mbps, step="post", color=COLOR["joyride"], alpha=0.45, linewidth=0)
    ax.step(t, mbps, where="post", color=COLOR["joyride"], linewidth=0.6)
    ax.axvline(0, color="black", linewidth=1)
    if k.get("successor_ms", 0) > 5 * k["bin_ms"]:
        ax.axvline(k["successor_ms"], color="black", linestyle="--", linewidth=0.8)
    ax.text(0.99, 0.93, "kill %d: %d/%d connections kept, blackout %.0f ms" % (
        k.get("kill", 0), k["kept"], k["total"], k["blackout_ms"]), transform=ax.transAxes,
        ha="right", va="top", fontsize=8, bbox=dict(boxstyle="round", fc="white", ec="lightgray"))
    ax.set_ylim(0, max(mbps + [1]) * 1.35)
    ax.grid(True, alpha=0.3)


def recovery_timeline(rows):
    rows = [r for r in select(rows, case="survival") if r.get("bytes")]
    kinds = [k for k in ("cold start", "standby") if any(r["kind"] == k for r in rows)]
    if not kinds:
        return None
    kills = {k: sorted((r for r in rows if r["kind"] == k), key=lambda r: r.get("kill", 0))
             for k in kinds}
    n = max(len(v) for v in kills.values())
    fig, axes = plt.subplots(n, len(kinds), figsize=(7 * len(kinds), 1.8 * n + 1.6),
                             squeeze=False, sharex="col")
    for col, kind in enumerate(kinds):
        for row in range(n):
            ax = axes[row][col]
            if row >= len(kills[kind]):
                ax.set_visible(False)
                continue
            timeline_panel(ax, kills[kind][row])
            if row == 0:
                ax.set_title(KIND_TITLE.get(kind, kind), fontsize=10)
                ax.annotate("kill -9", (0, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(3, -10), textcoords="offset points", fontsize=8)
            if row == len(kills[kind]) - 1:
                ax.set_xlabel("time from the kill (ms)")
                ax.xaxis.set_tick_params(labelbottom=True)
            if row == len(kills[kind]) // 2:
                ax.set_ylabel("delivered (MB/s in %g-ms bins)" % rows[0]["bin_ms"])
    fig.suptitle("Joyride through netserver kills: data delivered to a Joyride listener by %d "
                 "connections from Linux, per %g ms" % (rows[0]["total"], rows[0]["bin_ms"]))
    fig.tight_layout()
    return fig


CHARTS = (("throughput-by-size", throughput_by_size, "vm stream_size"),
          ("rr-latency-cdf", rr_latency_cdf, "rr with hist_us"),
          ("connections-per-second", connections_per_second, "vm cps"),
          ("recovery-timeline", recovery_timeline, "survival with bytes"))


def main():
    ap = argparse.ArgumentParser(description="Charts of tools/joyride bench's results.")
    ap.add_argument("results", help="directory of *.jsonl results (JR_BENCH_RESULTS)")
    ap.add_argument("out", help="directory for the charts")
    ap.add_argument("--svg", action="store_true", help="an .svg of each chart too")
    args = ap.parse_args()
    rows = load(args.results)
    if not rows:
        sys.exit("plot: no results in %s (*.jsonl)" % args.results)
    os.makedirs(args.out, exist_ok=True)
    wrote = 0
    for name, chart, needs in CHARTS:
        fig = chart(rows)
        if fig is None:
            print("plot: %s left out: no %s results in %s" % (name, needs, args.results))
            continue
        for ext in ("png", "svg") if args.svg else ("png",):
            path = os.path.join(args.out, "%s.%s" % (name, ext))
            fig.savefig(path, dpi=120)
            print("plot: wrote %s" % path)
        plt.close(fig)
        wrote += 1
    if not wrote:
        sys.exit("plot: nothing to chart in %s" % args.results)


if __name__ == "__main__":
    main()
