"""Memory: peak RSS of ``to_dataframe(kind="epochs")`` and of ``tracker export`` at two store
sizes, each in its own process (the figure is that process's own peak)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from .bench_queries import load
from .common import Databases, Report, installed, step
from .workload import Sweep

PROBE = r"""
import json, sys, time
from tracker import Repository
kind, url = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if kind == "frame":
    frame = Repository(url).to_dataframe("bench", kind="epochs")
    rows = len(frame)
else:
    from tracker.cli import main
    sys.argv = ["tracker", "export", "--kind", "epochs", "--url", url, "-o", sys.argv[3]]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
    rows = None
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the (forked) parent.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"peak_mb": peak / 1024,
                  "rows": rows, "seconds": time.perf_counter() - start}))
"""


def _probe(kind: str, url: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, kind, url, os.path.join(folder, "epochs.csv")],
            capture_output=True, text=True, check=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    if not installed("pandas"):
        report.note("pandas not installed: memory benchmarks skipped (the analysis extra)")
        return
    small, large = {
        "full": (Sweep(2_500, 100), Sweep(10_000, 100)),
        "small": (Sweep(250, 30), Sweep(1_000, 30)),
        "smoke": (Sweep(5, 3), Sweep(10, 3)),
    }[size]
    full = size == "full"
    for backend in backends:
        measured = {}
        for sweep in (small, large):
            url = dbs.new(backend)
            with step(f"memory at {sweep.metric_rows:,} rows, {backend}"):
                load(url, sweep)
                measured[sweep] = {"frame": _probe("frame", url), "export": _probe("export", url)}
        frame = measured[large]["frame"]
        report.add(f"to_dataframe(epochs) peak RSS, {large.metric_rows / 1e6:.2g} M rows", backend,
                   f"{frame['peak_mb']:.0f} MB", f"{frame['seconds']:.1f} s", "",
                   "< 1.5 GB" if full else "< 1.5 GB at 4 M rows (--full)",
                   frame["peak_mb"] < 1536)
        a, b = measured[small]["export"], measured[large]["export"]
        report.add("tracker export peak RSS", backend,
                   f"{a['peak_mb']:.0f} MB at {small.metric_rows / 1e6:.2g} M, "
                   f"{b['peak_mb']:.0f} MB at {large.metric_rows / 1e6:.2g} M rows",
                   f"{b['seconds']:.1f} s at the larger", f"{b['peak_mb'] / a['peak_mb']:.2f}x",
                   "flat as the store grows", b["peak_mb"] < 1.25 * a["peak_mb"])
