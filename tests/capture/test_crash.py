"""Crashes: a killed training process leaves a run that shows as `stale` and that `tracker gc`
marks failed; a write cut short mid-transaction leaves no partial epoch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa
from cli_helpers import run_cli

from tracker import DatabaseError, Repository
from tracker.store import db
from tracker.store.writes import epoch_metrics, runs


def heartbeat_of(url: str, key: str):
    with db.get_engine(url).connect() as conn:
        return conn.execute(sa.select(runs.c.heartbeat_at).where(runs.c.key == key)).scalar()


# A training process, as the callback records it, in the middle of a long epoch (no epoch
# ends for a minute: only the heartbeat says it is alive).
_IN_A_LONG_EPOCH = textwrap.dedent("""
    import sys, time
    from tracker.capture.recorder import RunRecorder
    recorder = RunRecorder(sys.argv[1])
    recorder.check_schema()
    key = recorder.start_run("killed", hyperparameters={"units": 4})
    for epoch in range(2):
        recorder.log_epoch(key, epoch, {"loss": 1.0 / (epoch + 1)})
    assert recorder.flush(timeout=30)
    print("long epoch", flush=True)
    time.sleep(60)
""")


def test_killed_run_goes_stale_and_gc_marks_it_failed(url):
    training = subprocess.Popen(
        [sys.executable, "-c", _IN_A_LONG_EPOCH, url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TRACKER_HEARTBEAT_INTERVAL": "0.2"},
    )
    try:
        line = training.stdout.readline()
        assert line.strip() == "long epoch", training.stderr.read()
        [run] = Repository(url).runs("killed")
        first = heartbeat_of(url, run.key)
        time.sleep(1.0)
        assert heartbeat_of(url, run.key) > first  # the heartbeat thread, during the epoch
    finally:
        training.kill()  # SIGKILL: no exit handler runs
        training.wait(timeout=30)
    killed_at = time.monotonic()

    repo = Repository(url, stale_after=1.5)
    assert repo.run(run.id).status == "running"  # not yet: seen under 1.5 s ago
    time.sleep(max(0.0, 1.6 - (time.monotonic() - killed_at)))
    assert repo.run(run.id).status == "stale"
    assert [r.id for r in repo.runs(status="stale")] == [run.id]
    assert repo.runs(status="running") == []

    out = run_cli("runs", "--status", "stale", "--stale-after", "1.5", "--url", url, "-f", "csv")
    assert out.code == 0, out.err
    assert [line.split(",")[3] for line in out.out.splitlines()[1:]] == ["stale"]
    out = run_cli("gc", "--stale-after", "1.5", "--url", url, "-f", "csv")
    assert out.code == 0, out.err
    assert out.out.splitlines()[1].startswith(f"{run.id},killed,")

    failed = Repository(url).run(run.id)
    assert failed.status == "failed" and "no heartbeat since" in failed.error
    assert failed.ended_at == heartbeat_of(url, run.key)
    assert {p.epoch for p in Repository(url).history(run.id)} == {0, 1}
    assert run_cli("gc", "--stale-after", "1.5", "--url", url).code == 0  # nothing left to do
    assert Repository(url).run(run.id).error == failed.error


def test_stale_needs_no_process_and_a_late_report_wins(url):
    """Derived at read time: a run reporting again is running again; gc's verdict is
    overwritten by the run's real end."""
    repo = Repository(url, stale_after=60)
    long_ago = time_ago(3600)
    key = repo.start_run("late", started_at=long_ago)
    fresh = repo.start_run("late")
    assert [r.status for r in repo.runs("late")] == ["stale", "running"]
    assert [r.key for r in repo.runs(status=["stale"])] == [key]
    frame = repo.to_dataframe("late")  # the DataFrame (and so exports, plots) agrees
    assert dict(zip(frame["key"], frame["status"], strict=True)) == {key: "stale", fresh: "running"}
    assert [r.key for r in repo.fail_stale_runs(experiment="late")] == [key]
    assert repo.fail_stale_runs() == []
    repo.log_epoch(key, 0, {"loss": 1.0})  # it was only cut off from the database
    repo.finish_run(key)
    assert {r.key: r.status for r in repo.runs("late")} == {key: "completed", fresh: "running"}
    with pytest.raises(Exception, match="unknown status 'zombie'"):
        repo.runs(status="zombie")


def time_ago(seconds: float):
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)


def test_failure_between_statements_leaves_no_partial_epoch(url):
    """An error right after the epoch's metric rows went out: the epoch (rows and heartbeat)
    is all there or not at all; retried, it is written once."""
    repo = Repository(url)
    key = repo.start_run("atomic")
    repo.log_epoch(key, 0, {"loss": 1.0, "acc": 0.5})
    engine = db.get_engine(url)
    before = heartbeat_of(url, key)

    def explode(conn, cursor, statement, parameters, context, executemany):
        if "epoch_metrics" in statement:
            raise RuntimeError("power cut after the metric rows")

    sa.event.listen(engine, "after_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            repo.log_epoch(key, 1, {"loss": 0.5, "acc": 0.75})
    finally:
        sa.event.remove(engine, "after_cursor_execute", explode)
    epoch_1 = [p for p in repo.history(key) if p.epoch == 1]
    # In a transaction (SQLite; PostgreSQL unless the epoch is one autocommit statement) the
    # rows are rolled back; a single statement is whole. Never metrics without heartbeat.
    assert (len(epoch_1), heartbeat_of(url, key) == before) in ((0, True), (2, False))
    repo.log_epoch(key, 1, {"loss": 0.5, "acc": 0.75})  # the retry writes it whole, once
    assert len(repo.history(key)) == 4


_KILLED_MID_WRITE = textwrap.dedent("""
    import sys, time
    import sqlalchemy as sa
    from tracker import Repository
    from tracker.store import db
    url, key = sys.argv[1], sys.argv[2]
    repo = Repository(url)
    armed = False

    def stall(conn, cursor, statement, parameters, context, executemany):
        if armed and "epoch_metrics" in statement:
            print("inside the transaction", flush=True)
            time.sleep(60)

    sa.event.listen(db.get_engine(url), "after_cursor_execute", stall)
    for epoch in range(5):
        armed = epoch == 2
        repo.log_epoch(key, epoch, {"loss": 1.0 / (epoch + 1), "acc": epoch / 5, "x": 1.0})
""")


def test_process_killed_mid_transaction_leaves_no_partial_epoch(url):
    """The writer is killed after the epoch's metric rows went out but before COMMIT."""
    key = Repository(url).start_run("killed-mid-write")
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_MID_WRITE, url, key],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = writer.stdout.readline()
        assert line.strip() == "inside the transaction", writer.stderr.read()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    db.dispose_engines()
    with db.get_engine(url).connect() as conn:
        counts = dict(conn.execute(
            sa.select(epoch_metrics.c.epoch, sa.func.count()).group_by(epoch_metrics.c.epoch)
        ).all())
    assert counts.get(0) == counts.get(1) == 3
    assert counts.get(2, 0) in (0, 3)  # never 1 or 2 of the epoch's 3 rows
    assert set(counts) <= {0, 1, 2}
    repo = Repository(url)
    repo.log_epoch(key, 2, {"loss": 1 / 3, "acc": 0.4, "x": 1.0})  # nothing blocks the retry
    assert len(repo.history(key)) == 9


def test_write_waits_and_then_gives_up_boundedly(url, backend):
    """A held lock is waited for (then retried with jittered backoff) and, past the attempts,
    reported as a DatabaseError, never a hang."""
    repo = Repository(url, fail_fast=True)
    key = repo.start_run("locked")
    holder = db.get_engine(url).connect()
    transaction = holder.execution_options(tracker_write=True).begin()
    holder.execute(sa.update(runs).where(runs.c.key == key).values(name="holding the lock"))
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseError, match=r"locked|lock timeout"):
            repo.heartbeat(key)
    finally:
        transaction.rollback()
        holder.close()
    waited = time.monotonic() - started
    fast = db.FAIL_FAST
    assert fast.lock_timeout * fast.attempts * 0.9 <= waited
    assert waited <= fast.attempts * (fast.lock_timeout + fast.max_backoff) + 2
    repo.heartbeat(key)  # and it works once the lock is gone
