"""Records the database refuses for good (issue 11, item 2) and journal appends that fail
(item 3). A refused record is set aside in a dead-letter file next to the journal, with a
warning naming it, and never blocks the others; `tracker sync` reports what it set aside. A
record whose journal append hit a full disk or an I/O error stays queued in memory and is
written once the database answers; the counts said are exact."""

from __future__ import annotations

import errno
import logging
import os
import uuid
import warnings
from pathlib import Path

import pytest

from tracker import Repository, TrackingWarning
from tracker.capture import journal as journal_module
from tracker.capture.journal import JournalWriter, Op, journal_files
from tracker.capture.recorder import RunRecorder
from tracker.capture.sync import sync
from tracker.store import schema
from tracker.store.db import mask_url, resolve_url

LONG_WORKER = "worker-" + "x" * 293  # KERASTUNER_TUNER_ID of 300 characters


def test_a_refused_run_is_set_aside_and_every_other_record_is_written(url, journal_dir):
    from tracker.capture.deadletter import read_dead_letters

    recorder = RunRecorder(url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad = recorder.start_run("sweep", worker=LONG_WORKER, hyperparameters={"units": 1})
        good = recorder.start_run("sweep", worker="chief", hyperparameters={"units": 2})
        for epoch in range(4):
            recorder.log_epoch(bad, epoch, {"loss": 1.0})
            recorder.log_epoch(good, epoch, {"loss": 0.5})
        recorder.finish_run(bad)
        recorder.finish_run(good)
        assert recorder.flush(timeout=30)  # nothing blocked
    said = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(said) == 1, said  # one warning for the refused run, naming the file
    [dead] = Path(journal_dir).glob("*.rejected")
    assert str(dead) in said[0] and "300 characters long" in said[0]
    letters = read_dead_letters(dead)
    assert [d.record["op"] for d in letters] == ["start_run"] + ["log_epoch"] * 4 + ["finish_run"]
    assert letters[0].record["kwargs"]["worker"] == LONG_WORKER  # kept whole, to fix by hand
    repo = Repository(url)
    [run] = repo.runs("sweep")
    assert run.key == good and run.status == "completed" and run.worker == "chief"
    assert len(repo.history(good)) == 4  # written vs found: 4/4 epochs of the good run
    assert recorder.outbox.set_aside == 6


def test_sync_sets_a_refused_record_aside_and_goes_on(url, tmp_path):
    from cli_helpers import run_cli

    from tracker.capture.deadletter import read_dead_letters

    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    writer = JournalWriter(tmp_path, mask_url(resolve_url(url)))
    for op in [
        Op("start_run", ("sweep",), {"key": bad, "worker": LONG_WORKER}),
        Op("log_epoch", (bad, 0, {"loss": 1.0}), {}),
        Op("start_run", ("sweep",), {"key": good, "worker": "w1"}),
        Op("log_epoch", (good, 0, {"loss": 0.5}), {}),
        Op("log_epoch", (good, 1, {"loss": 0.4}), {}),
        Op("finish_run", (good, "completed"), {}),
    ]:
        writer.append(op)
    writer.abandon()
    out = run_cli("sync", "--url", url, "--journal-dir", str(tmp_path))
    assert out.code == 0, out.err
    assert "4 record(s) written" in out.out and "2 refused for good, set aside" in out.out
    [dead] = tmp_path.glob("*.rejected")
    assert str(dead) in out.out and "300 characters long" in out.out
    assert len(read_dead_letters(dead)) == 2
    repo = Repository(url)
    assert [r.key for r in repo.runs("sweep")] == [good]
    assert repo.run(good).status == "completed" and len(repo.history(good)) == 2
    assert journal_files(tmp_path) == []
    assert sync(url, journal_dir=tmp_path) == []  # nothing left to block a later sync


class FailingDisk:
    """The journal's writes fail from the moment ``fail()`` is called (ENOSPC by default):
    what a full disk or a dying one does to ``os.write``."""

    def __init__(self, monkeypatch) -> None:
        self.error: int | None = None
        original = JournalWriter._write

        def write(writer, data):
            if self.error is not None:
                raise OSError(self.error, os.strerror(self.error))
            original(writer, data)

        monkeypatch.setattr(JournalWriter, "_write", write)

    def fail(self, error: int = errno.ENOSPC) -> None:
        self.error = error


def gone(url: str, backend: str, request) -> str:
    """A database that is not there yet: a SQLite file not created, a PostgreSQL database
    not created. ``schema.upgrade`` (after ``create``) brings it."""
    if backend == "sqlite":
        return url.replace(".db", "-later.db")
    return resolve_url(url).set(database=f"later_{uuid.uuid4().hex[:10]}").render_as_string(
        hide_password=False)


def create(url: str, backend: str, request) -> None:
    if backend == "postgresql":
        from psycopg2 import sql

        server = request.getfixturevalue("postgres")
        name = resolve_url(url).database
        with server.admin.connect() as conn:
            with conn.connection.driver_connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        server.created.append(name)
    schema.upgrade(url)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_a_failed_append_keeps_the_record_and_it_is_written_later(
    url, backend, request, monkeypatch, error
):
    target = gone(url, backend, request)
    disk = FailingDisk(monkeypatch)
    recorder = RunRecorder(target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key = recorder.start_run("disk", hyperparameters={"units": 3})
        recorder.log_epoch(key, 0, {"loss": 1.0})
        disk.fail(error)
        for epoch in range(1, 4):
            recorder.log_epoch(key, epoch, {"loss": 1.0 / (epoch + 1)})
        recorder.finish_run(key)
        assert recorder.pending == 6  # every record queued, the failed append's too
        create(target, backend, request)
        assert recorder.flush(timeout=60)
    said = " ".join(str(w.message) for w in caught)
    assert "cannot be written" in said and os.strerror(error) in said
    repo = Repository(target)
    assert repo.run(key).status == "completed"
    assert sorted(p.epoch for p in repo.history(key)) == [0, 1, 2, 3]  # written vs found: 4/4
    recorder.outbox.close()
    assert journal_files(Path(os.environ["TRACKER_JOURNAL_DIR"])) == []  # shrank away


def test_the_counts_said_at_exit_are_exact(url, backend, request, monkeypatch, caplog):
    target = gone(url, backend, request)
    disk = FailingDisk(monkeypatch)
    recorder = RunRecorder(target)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        key = recorder.start_run("disk")
        recorder.log_epoch(key, 0, {"loss": 1.0})
        recorder.log_epoch(key, 1, {"loss": 0.9})
        disk.fail()
        recorder.log_epoch(key, 2, {"loss": 0.8})
        recorder.log_epoch(key, 3, {"loss": 0.7})
        recorder.finish_run(key)
        assert recorder.pending == 6
        with caplog.at_level(logging.WARNING, logger="tracker"):
            recorder.outbox.close(timeout=0.5)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("3 tracking record(s) could not be written") for m in messages)
    assert any(m.startswith("3 tracking record(s) for") and "lost" in m for m in messages)
    [path] = journal_files(Path(os.environ["TRACKER_JOURNAL_DIR"]))
    assert len(journal_module.read_journal(path).pending) == 3
