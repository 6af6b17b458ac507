"""Start-up: ``tracker --help`` and ``tracker best`` on a small database, as a user runs them
(a new process each time), against a bare ``python -c pass``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tracker import Repository

from .common import Databases, Report, interleaved, ms, step


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    url = dbs.new("sqlite")
    repo = Repository(url)
    for i, batch_size in enumerate((16, 32, 64, 16, 32, 64)):
        key = repo.start_run("small", hyperparameters={"batch_size": batch_size})
        for epoch in range(5):
            repo.log_epoch(key, epoch, {"val_accuracy": 0.1 * epoch + 0.01 * i})
        repo.finish_run(key)
    tracker = shutil.which("tracker", path=os.path.dirname(sys.executable)) or "tracker"
    env = {**os.environ, "TRACKER_DATABASE_URL": url}

    def call(*args: str):
        return lambda: subprocess.run(args, env=env, check=True, capture_output=True) and None

    commands = {
        "python -c pass": call(sys.executable, "-c", "pass"),
        "tracker --help": call(tracker, "--help"),
        "tracker best": call(tracker, "best", "-g", "batch_size", "-m", "val_accuracy"),
    }
    rounds = 1 if size == "smoke" else 7
    with step(f"start-up: {rounds} interleaved rounds"):
        seconds = interleaved(commands, rounds)
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys; from tracker.cli import app; "
         "from tracker import Repository; "
         "print(','.join(m for m in ('tensorflow', 'keras', 'pandas', 'matplotlib') "
         "if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    for name in ("tracker --help", "tracker best"):
        report.add(f"start-up: {name}", "sqlite", ms(seconds[name]),
                   f"python -c pass {ms(seconds['python -c pass'])}", "", "< 0.5 s",
                   seconds[name] < 0.5)
    report.note(f"heavy modules imported by the CLI: {heavy or 'none'} (TensorFlow must not be)")
