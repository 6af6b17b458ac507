"""The journal file: what goes in comes out, torn or damaged lines are ignored (never
replayed as garbage), a live process's file is never taken over, and `sync` writes a damaged
journal's good records once."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from tracker import Repository
from tracker.capture.journal import JournalWriter, Op, claim, journal_files, read_journal
from tracker.capture.sync import sync
from tracker.store.db import mask_url, resolve_url

URL = "sqlite:////tmp/example.db"


def ops(key: str = "k-1") -> list[Op]:
    when = dt.datetime(2026, 11, 27, 12, 0, 0, 250_000, tzinfo=dt.timezone.utc)
    return [
        Op("start_run", ("sweep ü",), {"hyperparameters": {"bs": 32, "lr": 1e-3, "on": True,
                                                           "opt": "adam", "none": None,
                                                           "layers": [64, 32]},
                                       "key": key, "name": None, "started_at": when}),
        Op("log_epoch", (key, 0, {"loss": 0.5, "nan": math.nan, "up": math.inf,
                                   "down": -math.inf, "日本": 1e-300}), {"at": when}),
        Op("log_epoch", (key, 1, {"loss": 0.25}), {"at": when}),
        Op("finish_run", (key, "completed"), {"error": "x\n'; --", "ended_at": when}),
    ]


def same(a: Op, b: Op) -> bool:
    return repr(a) == repr(b)  # NaN != NaN, but its repr is stable


def written(tmp_path: Path, records: list[Op]) -> Path:
    writer = JournalWriter(tmp_path, URL)
    for op in records:
        writer.append(op)
    path = writer.path
    assert writer.close()  # kept: nothing was marked done
    return path


def test_what_goes_in_comes_out(tmp_path):
    path = written(tmp_path, ops())
    contents = read_journal(path)
    assert contents.url == URL and contents.done == 0 and contents.damaged == 0
    assert all(same(a, b) for a, b in zip(contents.ops, ops(), strict=True))
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_torn_tail_is_ignored_wherever_the_write_was_cut(tmp_path):
    data = written(tmp_path, ops()).read_bytes()
    header_end = data.index(b"\n") + 1
    for cut in range(header_end, len(data) + 1):
        contents = read_journal(Path("cut"), data[:cut])
        assert contents.damaged <= 1
        assert all(same(a, b) for a, b in zip(contents.ops, ops(), strict=False))
        complete = data[:cut].count(b"\n") - 1
        assert len(contents.ops) == complete


def test_a_damaged_line_is_skipped_not_replayed(tmp_path):
    path = written(tmp_path, ops())
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"0.5", b"9.5")  # one flipped digit in the first epoch
    path.write_bytes(b"\n".join(lines))
    contents = read_journal(path)
    assert contents.damaged == 1
    assert [op.method for op in contents.ops] == ["start_run", "log_epoch", "finish_run"]
    assert contents.ops[1].args[1] == 1


def test_progress_marks_and_the_file_shrinks_when_all_is_done(tmp_path):
    writer = JournalWriter(tmp_path, URL)
    for op in ops():
        writer.append(op)
    writer.mark_done()
    assert read_journal(writer.path).pending[0].method == "log_epoch"
    for _ in range(3):
        writer.mark_done()
    assert read_journal(writer.path).ops == []  # back to its header
    assert not writer.close() and not writer.path.exists()


def test_a_live_process_journal_is_never_taken_over(tmp_path):
    writer = JournalWriter(tmp_path, URL)
    writer.append(ops()[0])
    assert claim(writer.path) is None
    assert sync(journal_dir=tmp_path)[0].problem.startswith("in use")
    writer.close()
    claimed = claim(writer.path)
    assert claimed is not None and len(claimed.contents.pending) == 1
    assert claim(writer.path) is None  # and one sync at a time
    claimed.release()


def test_sync_writes_the_good_records_of_a_damaged_journal_once(url, tmp_path):
    key = "00000000-0000-4000-8000-00000000abcd"
    writer = JournalWriter(tmp_path, mask_url(resolve_url(url)))
    for op in ops(key):
        writer.append(op)
    path = writer.path
    writer.close()
    with open(path, "ab") as file:  # a process killed in the middle of an append
        file.write(b"1234abcd {\"op\":\"log_epoch\",\"args\":[\"" + key.encode())
    assert read_journal(path).url == mask_url(resolve_url(url))
    [result] = sync(url, journal_dir=tmp_path)
    assert (result.written, result.damaged, result.problem) == (4, 1, None)
    repo = Repository(url)
    run = repo.run(key)
    assert run.status == "completed" and run.hyperparameters["layers"] == [64, 32]
    values = {(p.epoch, p.name): p.value for p in repo.history(key)}
    assert values[(0, "日本")] == 1e-300 and values[(0, "down")] == -math.inf
    assert math.isnan(values[(0, "nan")]) and len(values) == 6
    assert journal_files(tmp_path) == [] and sync(url, journal_dir=tmp_path) == []


def test_a_password_url_needs_the_url_given(tmp_path):
    writer = JournalWriter(tmp_path, "postgresql+psycopg2://me:***@db.example/sweeps")
    writer.append(ops()[0])
    writer.close()
    [result] = sync(journal_dir=tmp_path)
    assert result.written == 0 and "password" in result.problem and "--url" in result.problem
    assert result.skipped and not result.stuck  # another database's: left as it is
    assert b"***" in next(tmp_path.iterdir()).read_bytes()


def test_dry_run_shows_what_waits_and_writes_nothing(url, tmp_path):
    from cli_helpers import run_cli

    key = "00000000-0000-4000-8000-0000000000d1"
    writer = JournalWriter(tmp_path, mask_url(resolve_url(url)))
    for op in ops(key):
        writer.append(op)
    writer.close()
    out = run_cli("sync", "--dry-run", "--journal-dir", str(tmp_path), "--url", url)
    assert out.code == 0, out.err
    assert "4 record(s) wait for" in out.out and "0 record(s) written" in out.out
    assert Repository(url).runs() == [] and len(journal_files(tmp_path)) == 1
    out = run_cli("sync", "--journal-dir", str(tmp_path), "--url", url)
    assert out.code == 0 and "4 record(s) written from 1 journal file(s)" in out.out
    assert Repository(url).run(key).status == "completed"


def test_a_new_process_clears_empty_orphans_and_points_at_tracker_sync(url, journal_dir):
    """Killed processes leave journal files behind: the empty ones are removed by the next
    process that journals; records still waiting are pointed out, once."""
    import warnings

    from tracker import TrackingWarning
    from tracker.capture.recorder import RunRecorder

    folder = Path(journal_dir)
    database = mask_url(resolve_url(url))
    empty = JournalWriter(folder, database)
    empty.abandon()  # as if killed once everything was written
    waiting = JournalWriter(folder, database)
    for op in ops("00000000-0000-4000-8000-0000000000e1")[:2]:
        waiting.append(op)
    waiting.abandon()  # killed with two records not written
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder = RunRecorder(url)
        key = recorder.start_run("after-a-crash")
        assert recorder.flush(timeout=30)
    said = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(said) == 1 and "2 tracking record(s) of earlier processes" in said[0]
    assert "tracker sync" in said[0]
    assert not empty.path.exists() and waiting.path.exists()
    assert Repository(url).run(key).experiment == "after-a-crash"


def _start_journaling(directory, url, barrier, done) -> None:
    from tracker.capture.journal import JournalWriter, tidy

    barrier.wait()
    writer = JournalWriter(Path(directory), url)  # what a process does on its first record...
    tidy(Path(directory), url)  # ...and then it tidies the folder
    writer.append(Op("log_epoch", ("k", 0, {"loss": 1.0}), {}))
    writer.abandon()  # killed: the file stays
    done.put(str(writer.path))


def test_processes_starting_together_never_remove_each_others_journal(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    for round_ in range(3):
        folder = tmp_path / str(round_)
        folder.mkdir()
        barrier, done = context.Barrier(8), context.Queue()
        workers = [context.Process(target=_start_journaling,
                                   args=(str(folder), URL, barrier, done)) for _ in range(8)]
        for worker in workers:
            worker.start()
        paths = {done.get(timeout=60) for _ in workers}
        for worker in workers:
            worker.join(timeout=30)
        assert {str(p) for p in journal_files(folder)} == paths
        assert all(len(read_journal(Path(p)).pending) == 1 for p in paths)
