"""Curation while sweeps still write, with real processes on both backends and exact row
counts: a run deleted while its process trains stays deleted (and journal replays keep it
so); purge loses no other run's rows; rename and move leave no run behind."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import sqlalchemy as sa

from tracker import Repository
from tracker.capture.journal import JournalWriter, Op
from tracker.capture.journal import journal_dir as journal_folder
from tracker.capture.sync import describe, sync
from tracker.store import db

# Children fork from a server that imported tracker once (as in test_concurrency).
_spawn = multiprocessing.get_context("forkserver")
_spawn.set_forkserver_preload(["tracker.capture.recorder", "tracker.store.repository",
                               "sqlalchemy"])
EPOCHS, METRICS = 12, 2


def _count(url: str, table: str, *where) -> int:
    """Rows of ``table`` (passing ``where``), read with plain SQL, not the repository."""
    stmt = sa.select(sa.func.count()).select_from(sa.table(table, sa.column("deleted_at")))
    with db.get_engine(url).connect() as conn:
        return conn.execute(stmt.where(*where)).scalar()


def _metrics(epoch: int) -> dict[str, float]:
    return {f"m{i}": epoch + i / 10 for i in range(METRICS)}


def _train(url: str, experiment: str, runs: int, pause: float, barrier, results) -> None:
    """A sweep worker: ``runs`` runs of ``EPOCHS`` epochs into ``experiment``, synchronously
    (each write committed before the next), a little pause between epochs."""
    error, keys = None, []
    try:
        repo = Repository(url)
        barrier.wait()
        for _ in range(runs):
            key = repo.start_run(experiment, hyperparameters={"units": 8}, trial_id="t")
            keys.append(key)
            for epoch in range(EPOCHS):
                repo.log_epoch(key, epoch, _metrics(epoch))
                time.sleep(pause)
            repo.finish_run(key)
    except BaseException as exc:  # reported to the parent, which fails the test
        error = repr(exc)
    results.put((keys, error))


def _record_through_the_journal(url: str, journal_dir: str, keys) -> None:
    """One fit as TrackingCallback writes it (background writer, journal), slowly."""
    from tracker.capture.recorder import RunRecorder

    recorder = RunRecorder(url, journal_dir=journal_dir)
    key = recorder.start_run("live", hyperparameters={"units": 8})
    keys.put(key)
    for epoch in range(EPOCHS * 3):
        recorder.log_epoch(key, epoch, _metrics(epoch))
        time.sleep(0.03)
    recorder.finish_run(key)
    assert recorder.flush(timeout=120)


def _start(url: str, experiment: str, workers: int, runs: int, pause: float):
    barrier, results = _spawn.Barrier(workers + 1), _spawn.Queue()
    processes = [_spawn.Process(target=_train, args=(url, experiment, runs, pause, barrier,
                                                      results)) for _ in range(workers)]
    for process in processes:
        process.start()
    barrier.wait(timeout=120)
    return processes, results


def _finish(processes, results) -> list[str]:
    found = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [error for _, error in found] == [None] * len(processes)
    return [key for keys, _ in found for key in keys]


def _wait_for(condition, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_run_deleted_while_it_trains_stays_deleted(url, journal_dir):
    repo = Repository(url)
    keys = _spawn.Queue()
    process = _spawn.Process(target=_record_through_the_journal, args=(url, journal_dir, keys))
    process.start()
    key = keys.get(timeout=120)
    _wait_for(lambda: _count(url, "epoch_metrics") >= 3 * METRICS)
    assert repo.delete_runs([key]).runs == 1
    process.join(timeout=180)
    assert process.exitcode == 0

    # Every later record was written, and the run is still deleted.
    assert repo.runs() == [] and repo.runs("live") == []
    [gone] = repo.runs(deleted=True)
    assert gone.key == key and gone.status == "completed" and gone.deleted_at is not None
    assert _count(url, "epoch_metrics") == EPOCHS * 3 * METRICS
    assert _count(url, "runs", sa.column("deleted_at").is_not(None)) == 1

    # A journal replay of its records (a process that could not reach the database) neither
    # brings it back nor duplicates anything, and sync says the run is deleted.
    writer = JournalWriter(journal_folder(journal_dir), db.mask_url(db.resolve_url(url)))
    writer.append(Op("start_run", ("live",), {"key": key, "hyperparameters": {"units": 8}}))
    for epoch in range(EPOCHS * 3):
        writer.append(Op("log_epoch", (key, epoch, _metrics(epoch))))
    writer.append(Op("finish_run", (key, "completed"), {}))
    writer.close()
    [result] = [r for r in sync(url, journal_dir=journal_dir) if r.path == writer.path]
    assert (result.written, result.deleted, result.problem) == (EPOCHS * 3 + 2, 1, None)
    assert "1 of its run(s) are deleted in the database and stay deleted" in describe(result)
    assert repo.runs() == [] and [r.key for r in repo.runs(deleted=True)] == [key]
    assert _count(url, "runs") == 1 and _count(url, "epoch_metrics") == EPOCHS * 3 * METRICS


@pytest.mark.slow
def test_purge_under_concurrent_writers_loses_no_other_row(url):
    repo = Repository(url)
    for _ in range(6):  # deleted sweep: 6 runs of EPOCHS epochs
        key = repo.start_run("old", hyperparameters={"units": 4})
        repo.log_epochs(key, {e: _metrics(e) for e in range(EPOCHS)})
        repo.finish_run(key)
    repo.delete_experiment("old")
    processes, results = _start(url, "live", workers=2, runs=4, pause=0.005)
    purged = 0
    while any(p.is_alive() for p in processes):  # purge again and again while they write
        purged += repo.purge().runs
        time.sleep(0.05)
    keys = _finish(processes, results)
    assert purged == 6 and len(keys) == 8
    assert _count(url, "experiments") == 1 and _count(url, "runs") == 8
    assert _count(url, "epoch_metrics") == 8 * EPOCHS * METRICS
    assert _count(url, "hyperparameters") == 8 and _count(url, "run_metrics") == 8 * METRICS
    assert {r.key for r in repo.runs("live", status="completed")} == set(keys)


@pytest.mark.slow
def test_rename_and_move_under_concurrent_writers_leave_no_run_behind(url):
    repo = Repository(url)
    processes, results = _start(url, "sweep", workers=2, runs=5, pause=0.01)
    _wait_for(lambda: _count(url, "runs") >= 2)
    repo.rename_experiment("sweep", "sweep-v2")  # the workers go on saying "sweep"
    _wait_for(lambda: _count(url, "runs") >= 5)
    moved = repo.move_runs(experiment="sweep-v2", to="archive").run_ids
    keys = _finish(processes, results)

    assert len(keys) == 10 and 3 <= len(moved) < 10
    names = {e.name: e.runs for e in repo.experiments()}
    assert names == {"sweep-v2": 10 - len(moved), "archive": len(moved)}  # no new "sweep"
    assert _count(url, "runs") == 10 and _count(url, "experiments") == 2
    by_key = {r.key: r for r in repo.runs()}
    assert set(by_key) == set(keys)
    assert {r.id for r in by_key.values() if r.experiment == "archive"} == set(moved)
    assert all(r.status == "completed" for r in by_key.values())
    # Runs moved while they trained kept every epoch written after the move.
    assert _count(url, "epoch_metrics") == 10 * EPOCHS * METRICS
    assert all(len(repo.history(i)) == EPOCHS * METRICS for i in moved)
