"""``benchmarks/ui.py`` still runs (a tiny sweep, SQLite only); its figures are not checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.slow
def test_the_dashboard_benchmark_runs_at_smoke_size():
    done = subprocess.run([sys.executable, "-m", "benchmarks.ui", "--smoke", "--backend",
                           "sqlite"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for figure in ("ui: runs as columns, not cached", "ui: best", "ui: live refresh, nothing new"):
        assert figure in done.stdout
