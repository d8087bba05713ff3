#!/usr/bin/python3
"""Charts from hetero's JSON output (Debian's python3-matplotlib).

  plot.py scale   SCALE.json   -o scaling.png   what the study holds: strong scaling (speed-up
                                                with the Amdahl fit, efficiency against each
                                                set's own 1 worker), weak scaling, tile sweeps,
                                                and for a kernel workload each node's share of
                                                wall time on its link (from `hetero scale
                                                [--workload heat|triad] [--sweep tile] --json`)
  plot.py compare COMPARE.json -o compare.png   Giter/s per backend and all together
                                                (--together) against the machine's limits, or a
                                                kernel workload's G units/s per backend (from
                                                `hetero compare [--workload heat|triad] --json`)
  plot.py trace   TRACE.json   -o gantt.png     per-node, per-lane timeline of one run (from
                                                `hetero render --trace`)
"""

import argparse
import json
import sys
import textwrap


def fail(message):
    """One line on stderr and exit status 2, as hetero's own errors."""
    print(message, file=sys.stderr)
    sys.exit(2)


try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
    import matplotlib.ticker  # noqa: E402,F401
except ImportError:
    fail("plot.py: error: matplotlib is not installed; install python3-matplotlib (Debian) "
         "or `pip install matplotlib`")


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        fail(f"plot.py: error: cannot read '{path}': {error}")


def expect_schema(document, schema, path):
    if not isinstance(document, dict) or document.get("schema") != schema:
        fail(f"plot.py: error: '{path}' is not a {schema} document; "
             f"make it with the matching hetero command and --json")


def work_title(document):
    """What a scale study computed: the Mandelbrot job, or a kernel workload."""
    if "work" in document:
        return document["work"]
    job = document["job"]
    return (f"{job['preset']} {job['width']}x{job['height']}, max-iter {job['max_iter']}, "
            f"{job['precision']} {job['mode']}")


def plot_link_shares(axis, studies):
    """Each node's share of wall time on its link, per set, against the workers."""
    for study in studies:
        nodes = sorted({n for p in study["points"] for n in p.get("link_share", {})})
        for node in nodes:
            points = [p for p in study["points"] if node in p.get("link_share", {})]
            axis.plot([p["workers"] for p in points],
                      [100 * p["link_share"][node] for p in points], "o-",
                      label=f"{study['backend']}: {node}")
    axis.set(xlabel="workers", ylabel="% of wall time copying", title="link share per node")
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=7)


def integer_workers(axis):
    axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.set_xlabel("workers")


def plot_strong(speedup_axis, efficiency_axis, document, studies):
    """Speed-up over serial with each set's Amdahl fit, and each set's efficiency against its
    own one-worker time (against serial it would mean nothing for simd, whose one worker is
    already many times serial)."""
    max_workers = max(p["workers"] for s in studies for p in s["points"])
    for study in studies:
        points = study["points"]
        workers = [p["workers"] for p in points]
        line, = speedup_axis.plot(workers, [p["speedup"] for p in points], "o-",
                                  label=study["backend"])
        one = [p["median_s"] for p in points if p["workers"] == 1]
        if one:
            efficiency_axis.plot(workers, [one[0] / (p["workers"] * p["median_s"]) for p in points],
                                 "o-", color=line.get_color(), label=study["backend"])
        amdahl = study.get("amdahl")
        if amdahl:
            f = amdahl["serial_fraction"]
            # Amdahl relative to the backend at one worker, scaled to the serial baseline.
            base = document["baseline"]["median_s"] / amdahl["seconds_one"]
            grid = [1 + i * (max_workers - 1) / 50 for i in range(51)]
            speedup_axis.plot(grid, [base / (f + (1 - f) / p) for p in grid], "--",
                              color=line.get_color(), alpha=0.6,
                              label=f"{study['backend']} Amdahl f={f:.3f}")
    speedup_axis.plot([1, max_workers], [1, max_workers], ":", color="grey", label="ideal")
    speedup_axis.set(ylabel="speed-up over serial", title="strong scaling")
    efficiency_axis.axhline(1.0, linestyle=":", color="grey")
    efficiency_axis.set(ylabel="efficiency against its own 1 worker", ylim=(0, 1.15),
                        title="parallel efficiency")
    for axis in (speedup_axis, efficiency_axis):
        integer_workers(axis)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)


def plot_weak(axis, studies):
    """Scaled speed-up (Gustafson): the larger work's throughput over serial's."""
    max_workers = max(p["workers"] for s in studies for p in s["points"])
    for study in studies:
        axis.plot([p["workers"] for p in study["points"]],
                  [p["speedup"] for p in study["points"]], "o-", label=study["backend"])
    axis.plot([1, max_workers], [1, max_workers], ":", color="grey", label="ideal")
    axis.set(ylabel="scaled speed-up over serial", title="weak scaling (work grows)")
    integer_workers(axis)
    axis.legend(fontsize=8)


def plot_tile_sweeps(axis, studies):
    """Efficiency against the tile size, with the automatic choice marked."""
    for study in studies:
        points = study["points"]
        line, = axis.plot([p["tile_pixels"] for p in points], [p["efficiency"] for p in points],
                          "o-", label=f"{study['backend']} ({study['lanes']} lanes)")
        chosen = study.get("auto")
        if chosen:
            axis.plot([chosen["tile_pixels"]], [chosen["efficiency"]], "*", markersize=12,
                      color=line.get_color(), label=f"{study['backend']}: automatic tile")
    axis.set_xscale("log")
    axis.axhline(1.0, linestyle=":", color="grey")
    axis.set(xlabel="pixels per tile", ylabel="efficiency (serial time / lanes / time)",
             title="tile sweep")
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=8)


def plot_scale(document, out):
    def having(kind):
        return [s for s in document["studies"] if s["study"] == kind and s["points"]]

    strong, weak, sweeps = having("strong"), having("weak"), having("tile")
    workload = document.get("workload", "mandelbrot") != "mandelbrot"
    panels = ((2 if strong else 0) + (1 if weak else 0) + (1 if sweeps else 0) +
              (1 if workload and strong else 0))
    if panels == 0:
        fail("plot.py: error: the study has no points; run `hetero scale` with workers that "
             "the backends can run on")
    width = max(7.0, 5.5 * panels)
    figure, axes = plt.subplots(1, panels, figsize=(width, 4.5), squeeze=False)
    axes = list(axes[0])
    if strong:
        plot_strong(axes.pop(0), axes.pop(0), document, strong)
    if weak:
        plot_weak(axes.pop(0), weak)
    if sweeps:
        plot_tile_sweeps(axes.pop(0), sweeps)
    if workload and strong:
        plot_link_shares(axes.pop(0), strong)
    title = (f"hetero scale: {work_title(document)}, policy {document['policy']} on "
             f"{document['host']['cpu']}")
    figure.suptitle(textwrap.fill(title, width=int(14 * width)), fontsize=9)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def plot_compare(document, out):
    """Giter/s per backend (and all of them together), against the machine's limits. The
    figures sit under each bar, where no limit line crosses them."""
    rows = document["backends"]
    names = [f"{r['backend']}\n{r['giters_per_s']:.2f} Giter/s\n{r['speedup_over_serial']:.1f}x"
             for r in rows]
    rates = [r["giters_per_s"] for r in rows]
    colours = ["#3b75af"] * len(rows)
    together = document.get("together")
    if together:
        best = together.get("best_alone") or {}
        names.append(f"together ({together['policy']})\n{together['giters_per_s']:.2f} Giter/s\n"
                     f"{best.get('efficiency', 0):.2f}x best alone")
        rates.append(together["giters_per_s"])
        colours.append("#8e44ad")
    figure, axis = plt.subplots(figsize=(max(8, 1.6 * len(names)), 5))
    axis.bar(range(len(names)), rates, color=colours)
    axis.set_xticks(range(len(names)))
    axis.set_xticklabels(names, fontsize=8)
    host = document.get("host")
    if host:
        axis.axhline(host["peak_giters_per_s"], color="#c0392b", linestyle="--",
                     label=f"host limit {host['peak_giters_per_s']:.1f} Giter/s "
                           f"({host['isa']}, {host['cores']} threads)")
        axis.axhline(host["peak_giters_per_s_per_core"], color="#e67e22", linestyle=":",
                     label=f"one core {host['peak_giters_per_s_per_core']:.1f} Giter/s")
        axis.set_yscale("log")
        axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    job = document["job"]
    axis.set(ylabel="Giter/s (median)", title=f"hetero compare: {job['preset']} "
             f"{job['width']}x{job['height']}, max-iter {job['max_iter']}, "
             f"{job['precision']} {job['mode']}")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def plot_compare_workload(document, out):
    """A kernel workload's G units/s per backend, each alone, with its speed-up over serial and
    the bytes its last run moved over its link under each bar."""
    rows = document["backends"]
    names = [f"{r['backend']}\n{r['gunits_per_s']:.2f} G units/s\n{r['speedup']:.1f}x\n"
             f"{r['link_bytes_last_run'] / 1e6:.1f} MB on its link, last run" for r in rows]
    figure, axis = plt.subplots(figsize=(max(8, 1.9 * len(rows)), 5))
    axis.bar(range(len(rows)), [r["gunits_per_s"] for r in rows], color="#3b75af")
    axis.set_xticks(range(len(rows)))
    axis.set_xticklabels(names, fontsize=8)
    axis.set(ylabel="G units/s (median)",
             title=f"hetero compare: {document['workload']}, each backend alone")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def plot_trace(document, out):
    events = [e for e in document.get("traceEvents", []) if e.get("ph") == "X"]
    if not events:
        fail("plot.py: error: the trace has no events; make it with `hetero render --trace`")
    names = {e["pid"]: e["args"]["name"] for e in document["traceEvents"]
             if e.get("ph") == "M" and e.get("name") == "process_name"}
    rows = sorted({(e["pid"], e["tid"]) for e in events})
    row_of = {key: i for i, key in enumerate(rows)}
    colours = {"compute": "#3b75af", "copy_to_device": "#e67e22", "copy_to_host": "#27ae60",
               "copy_peer": "#8e44ad", "wait": "#bbbbbb"}
    figure, axis = plt.subplots(figsize=(11, max(3.0, 1 + 0.35 * len(rows))))
    for event in events:
        row = row_of[(event["pid"], event["tid"])]
        axis.broken_barh([(event["ts"] / 1e3, max(event["dur"], 0.5) / 1e3)], (row - 0.4, 0.8),
                         facecolors=colours.get(event.get("cat"), "#888888"),
                         edgecolor="white", linewidth=0.3)
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels([f"{names.get(pid, pid)} lane {tid}" for pid, tid in rows], fontsize=8)
    axis.invert_yaxis()
    axis.set(xlabel="ms since the run started", title="hetero render: per-node timeline")
    # The legend names only what the trace holds, outside the bars.
    present = {e.get("cat") for e in events}
    handles = [matplotlib.patches.Patch(color=c, label=k) for k, c in colours.items()
               if k in present]
    axis.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["scale", "compare", "trace"])
    parser.add_argument("input")
    parser.add_argument("-o", "--out", required=True, help="PNG file to write")
    args = parser.parse_args()
    document = load(args.input)
    try:
        if args.kind == "scale":
            expect_schema(document, "hetero.scale", args.input)
            plot_scale(document, args.out)
        elif args.kind == "compare":
            if isinstance(document, dict) and document.get("schema") == "hetero.compare_workload":
                plot_compare_workload(document, args.out)
            else:
                expect_schema(document, "hetero.compare", args.input)
                plot_compare(document, args.out)
        else:
            plot_trace(document, args.out)
    except OSError as error:
        fail(f"plot.py: error: cannot write '{args.out}': {error.strerror or error}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
