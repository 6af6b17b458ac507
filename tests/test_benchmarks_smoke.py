"""The benchmarks still run (tiny sizes, SQLite only, a few seconds): ``python -m benchmarks``
is a deliverable, and code that nothing runs rots. The figures are not checked here."""

from __future__ import annotations

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
         "--only", "epoch,batch,bulk,queries", "--markdown", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    table = out.read_text()
    for figure in ("per-epoch write p50", "per-batch hook cost", "bulk ingest", "best_by at"):
        assert figure in table
