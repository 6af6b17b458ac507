"""A distributed keras-tuner search (a chief and two workers on 127.0.0.1, one PostgreSQL
database) with a ``MedianPruner``: a worker prunes its runs because of the other worker's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("keras_tuner")
pytest.importorskip("grpc")

from distributed_pruning import HEAD_START, PRUNER

from tracker import Repository
from tracker.store import db, schema

pytestmark = [pytest.mark.keras, pytest.mark.slow]
SCRIPT = Path(__file__).parents[1] / "support" / "distributed_pruning.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(tuner_id: str, port: int, directory: Path, url: str) -> subprocess.Popen:
    env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(port)}
    log = open(directory / f"{tuner_id}.log", "w")
    return subprocess.Popen([sys.executable, str(SCRIPT), str(directory), url], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def test_a_worker_prunes_because_of_the_other_workers_runs(postgres, tmp_path):
    url = postgres.create()
    schema.upgrade(url)
    port = _free_port()
    chief = _start("chief", port, tmp_path, url)
    workers = [_start(name, port, tmp_path, url) for name in ("worker0", "worker1")]
    try:
        for worker in workers:
            worker.wait(timeout=400)
    finally:
        for process in (*workers, chief):
            if process.poll() is None:
                process.kill()
            process.wait()
    logs = {p.stem: p.read_text()[-3000:] for p in tmp_path.glob("*.log")}
    assert [w.returncode for w in workers] == [0, 0], logs

    repo = Repository(url)
    runs = repo.runs("pruned-distributed")
    mine = [r for r in runs if r.worker == "worker1"]
    assert mine and all(r.status == "pruned" for r in mine), [(r.worker, r.status) for r in runs]
    with db.get_engine(url).connect() as conn:
        decided = dict(conn.execute(sa.text(
            "SELECT id, pruned_threshold FROM runs WHERE worker = 'worker1'")).all())
    own_best = max(p.value for r in mine for p in repo.history(r.id, "val_accuracy"))
    first = min(mine, key=lambda r: r.started_at)
    # Its first run had no earlier run of its own worker: only worker0's could count (at least
    # min_runs of them), and the threshold it missed is above anything worker1 ever reached.
    assert PRUNER.min_runs == HEAD_START
    assert decided[first.id] > own_best
    assert all(threshold > own_best for threshold in decided.values())
    assert any(r.status == "completed" for r in runs if r.worker == "worker0")
