"""keras-tuner's distributed mode: a chief and two workers on 127.0.0.1, every worker writing
to one PostgreSQL database. Every execution of every trial is recorded exactly once, by the
worker that ran it, with the final status and score that only the chief decides."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("keras_tuner")
pytest.importorskip("grpc")

from distributed_search import EXECUTIONS, MAX_TRIALS
from tuner_helpers import STATUS, trial_files

from tracker import Repository
from tracker.store import schema

pytestmark = [pytest.mark.keras, pytest.mark.slow]
SCRIPT = Path(__file__).parents[1] / "support" / "distributed_search.py"
WORKERS = ("worker0", "worker1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(tuner_id: str, port: int, directory: Path, url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(port),
    }
    log = open(directory / f"{tuner_id}.log", "w")
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(directory), url, str(len(WORKERS))],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def test_chief_and_two_workers_on_postgresql(postgres, tmp_path):
    url = postgres.create()
    schema.upgrade(url)
    port = _free_port()
    chief = _start("chief", port, tmp_path, url)
    workers = [_start(name, port, tmp_path, url) for name in WORKERS]
    try:
        for worker in workers:
            worker.wait(timeout=300)
    finally:
        for process in (*workers, chief):
            if process.poll() is None:
                process.kill()  # the chief only serves the oracle: its work is done
            process.wait()
    logs = {p.stem: p.read_text()[-3000:] for p in tmp_path.glob("*.log")}
    assert [w.returncode for w in workers] == [0, 0], logs

    ran_by = {
        trial_id: path.stem.removeprefix("ran-")
        for path in tmp_path.glob("ran-*.txt")
        for trial_id in path.read_text().split()
    }
    files = trial_files(tmp_path / "distributed")  # written by the chief
    assert len(files) == MAX_TRIALS and sorted(ran_by) == sorted(files)
    assert set(ran_by.values()) == set(WORKERS), "each worker should have run trials"

    repo = Repository(url)
    runs = repo.runs("distributed")
    assert len(runs) == MAX_TRIALS * EXECUTIONS  # exactly once each
    assert sorted((r.trial_id, r.execution) for r in runs) == sorted(
        (trial_id, n) for trial_id in files for n in range(EXECUTIONS))
    for run in runs:
        state = files[run.trial_id]
        assert run.worker == ran_by[run.trial_id]
        assert run.hyperparameters == state["hyperparameters"]["values"]
        assert (run.status, run.score, run.attempt) == (
            STATUS[state["status"]], state["score"], 0)
        assert len(repo.history(run.id)) == 2 * 4  # 2 epochs x (loss, accuracy, val_...)
    for summary in repo.trials("distributed"):
        assert summary.mean == files[summary.trial_id]["score"] == summary.score
