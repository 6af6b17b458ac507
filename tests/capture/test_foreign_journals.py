"""Journals are data, not code (issue 11, item 4): replay takes only the record types the
callback and the tuner recorder write, with checked fields, and calls nothing a file names; a
journal folder or file that is not the user's own, or that others may write, is refused with
a clear message (as ssh refuses such key files); hostile or unreadable journals never crash
`tracker sync`; and a journal never makes sync write to a database the user did not name."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
import zlib
from pathlib import Path

import pytest
from cli_helpers import run_cli

from tracker import Repository
from tracker.capture.journal import JournalWriter, Op, journal_files
from tracker.capture.sync import sync
from tracker.store import schema
from tracker.store.db import mask_url, resolve_url

NOBODY = 65534


def journal_for(url: str, folder: Path, records: list[Op]) -> Path:
    writer = JournalWriter(folder, mask_url(resolve_url(url)))
    for op in records:
        writer.append(op)
    writer.abandon()
    return writer.path


def a_run(key: str, experiment: str = "sweep") -> list[Op]:
    return [
        Op("start_run", (experiment,), {"key": key}),
        Op("log_epoch", (key, 0, {"loss": 0.5}), {}),
        Op("finish_run", (key, "completed"), {}),
    ]


def test_replay_calls_nothing_a_file_names(url, tmp_path):
    from tracker.capture.deadletter import read_dead_letters

    repo = Repository(url)
    hour_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    key = repo.start_run("sweep", started_at=hour_ago)  # stale: fail_stale_runs would fail it
    journal_for(url, tmp_path, [
        Op("fail_stale_runs", (), {}),  # a real Repository method, not a record type
        Op("__init__", ("sqlite:////tmp/elsewhere.db",), {}),
        Op("log_epoch", (key, 0, {"loss": 1.0}), {"at": hour_ago, "experiment": "x"}),
        Op("log_epoch", (key, "zero", {"loss": 1.0}), {}),
        Op("finish_run", (key, "running"), {}),  # not a final status
        Op("log_epoch", (key, 1, {"loss": 0.5}), {}),  # the one good record
    ])
    [result] = sync(url, journal_dir=tmp_path)
    assert (result.written, result.set_aside, result.stuck) == (1, 5, False)
    reasons = [d.reason for d in read_dead_letters(result.dead_letters)]
    assert "unknown record type 'fail_stale_runs'" in reasons[0]
    assert "log_epoch has no field 'experiment'" in reasons[2]
    assert Repository(url).run(key).status != "failed"
    assert [(p.epoch, p.value) for p in Repository(url).history(key)] == [(1, 0.5)]


def _line(body: bytes) -> bytes:
    return b"%08x %s\n" % (zlib.crc32(body), body)


def test_hostile_lines_never_crash_sync(url, tmp_path):
    path = journal_for(url, tmp_path, [])
    key = str(uuid.uuid4())
    hostile = [
        b'{"done": "all"}',
        b'{"op": "log_epoch", "args": 5}',
        b'{"op": ["start_run"], "args": []}',
        b'{"op": "finish_run", "args": ["k", "completed"], '
        b'"kwargs": {"ended_at": {"$datetime": 5}}}',
        b'{"op": "log_epoch", "args": [], "kwargs": [1, 2]}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"context": {"op": "start_run", "args": "x"}}',
        json.dumps({"op": "start_run", "args": ["sweep"], "kwargs": {"key": key}}).encode(),
    ]
    with open(path, "ab") as file:
        for body in hostile:
            file.write(_line(body))
    [result] = sync(url, journal_dir=tmp_path)
    assert result.problem is None and result.written == 1
    assert Repository(url).run(key).experiment == "sweep"


def test_a_journal_folder_others_may_write_is_refused(url, tmp_path):
    from tracker.capture.private import UnsafeJournal
    from tracker.capture.recorder import RunRecorder

    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(UnsafeJournal, match=r"others may write it \(mode 0777\).*chmod go-w"):
        sync(url, journal_dir=folder)
    out = run_cli("sync", "--url", url, "--journal-dir", str(folder))
    assert out.code != 0 and "chmod go-w" in out.err and "Traceback" not in out.err
    # The training side does not journal there either: records are kept in memory.
    recorder = RunRecorder(url, journal_dir=folder)
    with pytest.warns(UserWarning, match="refusing journal folder"):
        key = recorder.start_run("sweep")
    assert recorder.flush(timeout=30) and Repository(url).run(key).experiment == "sweep"
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_foreign_unsafe_and_unreadable_journals_are_skipped(url, tmp_path):
    foreign, unsafe, mine = (str(uuid.uuid4()) for _ in range(3))
    os.chown(journal_for(url, tmp_path, a_run(foreign)), NOBODY, NOBODY)
    journal_for(url, tmp_path, a_run(unsafe)).chmod(0o666)
    (tmp_path / "00000000-link.journal").symlink_to("/etc/hostname")
    journal_for(url, tmp_path, a_run(mine))
    out = run_cli("sync", "--url", url, "--journal-dir", str(tmp_path))
    assert out.code == 0 and "Traceback" not in out.err, out.err
    assert f"belongs to user id {NOBODY}, not to you" in out.out
    assert "others may write it (mode 0666)" in out.out
    assert "00000000-link.journal: skipped: refusing journal" in out.out
    assert "it is a symbolic link" in out.out
    assert "3 record(s) written from 4 journal file(s)" in out.out
    assert [run.key for run in Repository(url).runs()] == [mine]
    assert len(journal_files(tmp_path)) == 3  # left where they are


def test_sync_writes_only_to_the_database_named(url, new_database, tmp_path):
    other = new_database()
    schema.upgrade(other)
    key = str(uuid.uuid4())
    path = journal_for(other, tmp_path, a_run(key))
    [result] = sync(url, journal_dir=tmp_path)
    assert result.written == 0 and result.skipped and not result.stuck
    assert mask_url(resolve_url(other)) in result.problem and "--url" in result.problem
    assert Repository(other).runs() == [] and Repository(url).runs() == [] and path.exists()
    [result] = sync(other, journal_dir=tmp_path)
    assert result.written == 3 and Repository(other).run(key).status == "completed"
