"""A database that changes under a sweep (issue 11, item 1): dropped and re-created, downgraded
to base and upgraded, its SQLite file deleted. Records always reach their own run, found by
its key: the run is recreated from its start record when the database lost it, and records
wait while there is no database. Never into another worker's run (which may hold the same id
now), and `tracker sync` never fails forever with "call start_run first"."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest

from tracker import Repository, TrackingWarning
from tracker.capture.journal import JournalWriter, Op, journal_files
from tracker.capture.recorder import RunRecorder
from tracker.capture.sync import sync
from tracker.store import db, schema
from tracker.store.db import mask_url, resolve_url

# Another worker, in a process of its own, migrates the database and starts its run.
_OTHER_WORKER = """
import sys
from tracker import Repository
from tracker.store import schema
url, how, key = sys.argv[1:]
if how == "downgraded":
    schema.downgrade(url, "base")
schema.upgrade(url)
Repository(url).start_run("theirs", key=key, hyperparameters={"units": 99})
"""


def other_worker(url: str, how: str) -> str:
    key = str(uuid.uuid4())
    subprocess.run([sys.executable, "-c", _OTHER_WORKER, url, how, key], check=True,
                   timeout=120)
    return key


def take_away(url: str, backend: str, request) -> None:
    """Delete the SQLite file, or drop the PostgreSQL database (its connections too)."""
    if backend == "sqlite":
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    from psycopg2 import sql

    name = resolve_url(url).database
    with request.getfixturevalue("postgres").admin.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def bring_back(url: str, backend: str, request) -> None:
    if backend == "postgresql":
        from psycopg2 import sql

        name = resolve_url(url).database
        with request.getfixturevalue("postgres").admin.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def started(url: str) -> tuple[RunRecorder, str]:
    recorder = RunRecorder(url)
    key = recorder.start_run("mine", hyperparameters={"units": 8})
    for epoch in range(3):
        recorder.log_epoch(key, epoch, {"loss": 1.0 / (epoch + 1)})
    assert recorder.flush(timeout=30)
    return recorder, key


def finished(recorder: RunRecorder, key: str) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(3, 6):
            recorder.log_epoch(key, epoch, {"loss": 1.0 / (epoch + 1)})
        recorder.finish_run(key)
        assert recorder.flush(timeout=60), "records still pending"
        recorder.outbox._show_warning()
    return [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]


@pytest.mark.parametrize("how", ["recreated", "downgraded"])
def test_records_never_go_into_the_run_that_took_our_id(backend, new_database, request, how):
    url = new_database()
    schema.upgrade(url)
    recorder, key = started(url)
    mine_before = Repository(url).run(key).id
    if how == "recreated":
        take_away(url, backend, request)
        bring_back(url, backend, request)
    theirs_key = other_worker(url, how)
    repo = Repository(url)
    assert repo.run(theirs_key).id == mine_before  # the scenario: our old id is theirs now

    said = finished(recorder, key)

    theirs = repo.run(theirs_key)
    assert theirs.status == "running" and repo.history(theirs_key) == []
    assert theirs.hyperparameters == {"units": 99}
    mine = repo.run(key)
    assert mine.status == "completed" and mine.experiment == "mine"
    assert mine.hyperparameters == {"units": 8}
    assert sorted({p.epoch for p in repo.history(key)}) == [3, 4, 5]  # written vs found: 3/3
    assert any("recreated from its start record" in text for text in said), said


def test_records_wait_while_the_database_is_gone(backend, new_database, request):
    url = new_database()
    schema.upgrade(url)
    recorder, key = started(url)
    take_away(url, backend, request)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder.log_epoch(key, 3, {"loss": 0.25})
        assert not recorder.flush(timeout=3)
    assert any("tracking paused" in str(w.message) for w in caught)
    assert recorder.pending == 1
    if backend == "sqlite":  # never silently replaced by an empty file
        assert not os.path.exists(url.removeprefix("sqlite:///"))
    bring_back(url, backend, request)
    schema.upgrade(url)
    said = finished(recorder, key)
    repo = Repository(url)
    assert repo.run(key).status == "completed"
    assert sorted({p.epoch for p in repo.history(key)}) == [3, 4, 5]
    assert any("recreated" in text for text in said), said


def _journal(url: str, folder: Path, records: list[Op], done: int) -> Path:
    writer = JournalWriter(folder, mask_url(resolve_url(url)))
    for op in records:
        writer.append(op)
    for _ in range(done):
        writer.mark_done()
    writer.abandon()  # the process died
    return writer.path


def _run_records(key: str, experiment: str, epochs: range) -> list[Op]:
    return [
        Op("start_run", (experiment,), {"key": key, "hyperparameters": {"units": 4}}),
        *(Op("log_epoch", (key, e, {"loss": float(e)}), {}) for e in epochs),
        Op("finish_run", (key, "completed"), {}),
    ]


def test_sync_recreates_a_lost_run_from_its_start_record(url, tmp_path):
    """The process wrote its start and first epoch, then the database was replaced (empty
    now) and the process died: sync recreates the run instead of failing forever."""
    key = str(uuid.uuid4())
    path = _journal(url, tmp_path, _run_records(key, "lost", range(4)), done=2)
    [result] = sync(url, journal_dir=tmp_path)
    assert (result.written, result.recreated, result.problem) == (4, 1, None)
    repo = Repository(url)
    assert repo.run(key).status == "completed" and repo.run(key).hyperparameters == {"units": 4}
    assert sorted({p.epoch for p in repo.history(key)}) == [1, 2, 3]
    assert not path.exists() and sync(url, journal_dir=tmp_path) == []


def test_sync_sets_aside_what_it_cannot_recreate_and_writes_the_rest(url, tmp_path):
    from tracker.capture.deadletter import read_dead_letters

    orphan, other = str(uuid.uuid4()), str(uuid.uuid4())
    records = _run_records(orphan, "orphan", range(2))[1:]  # its start record is lost
    path = _journal(url, tmp_path, records + _run_records(other, "fine", range(3)), done=0)
    [result] = sync(url, journal_dir=tmp_path)
    assert (result.written, result.set_aside, result.stuck) == (5, 3, False)
    letters = read_dead_letters(result.dead_letters)
    assert [d.record["op"] for d in letters] == ["log_epoch", "log_epoch", "finish_run"]
    assert all("no start record" in d.reason for d in letters)
    assert Repository(url).run(other).status == "completed"
    assert journal_files(tmp_path) == [] and not path.exists()
    db.dispose_engines()
