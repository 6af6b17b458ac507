"""`tracker sync` through PgBouncer in transaction pooling mode: a worker whose pooler was
down journals its records; once the pooler is back, `tracker sync` writes each exactly once."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from cli_helpers import run_cli
from pgbouncer import Bouncer

from tracker.capture.journal import journal_files
from tracker.store import db
from tracker.store.writes import epoch_metrics, runs

RUNS, EPOCHS = 3, 5

# A worker that records 3 runs of 5 epochs while its pooler is down, and ends.
_WORKER = """
import sys
from tracker.capture.recorder import RunRecorder

recorder = RunRecorder(sys.argv[1], journal_dir=sys.argv[2])
for run in range(int(sys.argv[3])):
    key = recorder.start_run("offline", hyperparameters={"run": run})
    for epoch in range(int(sys.argv[4])):
        recorder.log_epoch(key, epoch, {"loss": run + epoch / 10, "acc": epoch / 10})
    recorder.finish_run(key)
print("flushed" if recorder.flush(timeout=1) else "journaled", flush=True)
"""


def test_sync_through_pgbouncer_writes_what_a_worker_journaled(
    pgbouncer, postgres_migrated, pooled_url, tmp_path
):
    # A pooler of its own, not started yet: the worker finds nothing listening.
    bouncer = Bouncer(pgbouncer.binary, postgres_migrated)
    try:
        url = bouncer.url(postgres_migrated)
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, url, str(tmp_path), str(RUNS), str(EPOCHS)],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "journaled", done.stderr
        assert len(journal_files(tmp_path)) == 1
        bouncer.start()
        out = run_cli("sync", "--url", url, "--journal-dir", str(tmp_path))
        assert out.code == 0, out.err
        records = RUNS * (EPOCHS + 2)  # start, epochs, finish
        assert f"{records} record(s) written from 1 journal file(s)" in out.out, out.out
        again = run_cli("sync", "--url", url, "--journal-dir", str(tmp_path))
        assert again.code == 0 and "nothing to sync" in again.out, again.out
    finally:
        bouncer.remove()
    assert journal_files(tmp_path) == []
    with db.get_engine(postgres_migrated).connect() as conn:
        statuses = conn.execute(sa.select(runs.c.status)).scalars().all()
        rows = conn.execute(sa.select(epoch_metrics.c.epoch, epoch_metrics.c.name,
                                      epoch_metrics.c.value)).all()
    assert statuses == ["completed"] * RUNS
    assert len(rows) == RUNS * EPOCHS * 2
    assert sorted(v for e, n, v in rows if n == "acc") == sorted(
        e / 10 for _ in range(RUNS) for e in range(EPOCHS))
