"""The benchmarks still run (tiny sizes, SQLite only, a few seconds): ``python -m benchmarks``
is a deliverable, and code that nothing runs rots. The figures are not checked here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_benchmarks_run_at_smoke_size(tmp_path):
    out = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--backend", "sqlite",
         "--only", "epoch,batch,bulk,queries,fresh", "--markdown", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    table = out.read_text()
    for figure in ("per-epoch write p50", "per-batch hook cost", "bulk ingest", "best_by at",
                   "filtered runs, never analyzed"):
        assert figure in table


@pytest.mark.slow
def test_the_large_tier_loads_and_measures(tmp_path):
    """The 40 M-row tier's code, on a tiny sweep in a folder of its own (SQLite only)."""
    script = (
        "from benchmarks import large\n"
        "from benchmarks.common import Report\n"
        "from benchmarks.workload import WideSweep\n"
        "large.load('sqlite', WideSweep(12, 3, 6))\n"
        "report = Report()\n"
        "large.measure(report, 'sqlite', 1, True)\n"
        "large.explain('sqlite')\n"
        "print(report.markdown())\n"
    )
    env = {**os.environ, "TRACKER_BENCH_LARGE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for figure in ("best_by at 40 M rows", "filtered runs at 40 M rows", "### best_by"):
        assert figure in done.stdout
