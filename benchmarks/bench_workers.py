"""Many workers: N processes write their epochs into one PostgreSQL database at once, each
with its own engine (at most two pooled connections); per-epoch latency over all of them.

Each worker ends an epoch every ``PACE`` seconds (a very fast sweep: 32 workers x 10 epochs/s
is 320 epoch writes a second), starting at random offsets as real workers would. Two ways:
``sync`` (``Repository.log_epoch``: committed when it returns, as ``on_error="raise"``) and
``callback`` (the callback's default path, ``RunRecorder``: journaled, written by a background
thread). Afterwards the database must hold every epoch of every worker."""

from __future__ import annotations

import multiprocessing
import time

import sqlalchemy as sa

from tracker.store import db

from .common import Databases, Report, percentile, step

PACE = 0.1
METRICS = {"loss": 0.51, "accuracy": 0.83, "val_loss": 0.62, "val_accuracy": 0.79}


def _worker(way: str, url: str, journal: str, epochs: int, start_at: float, queue) -> None:
    from tracker import Repository
    from tracker.capture.recorder import RunRecorder

    try:
        repo = Repository(url) if way == "sync" else RunRecorder(url, journal_dir=journal)
        name = multiprocessing.current_process().name
        key = repo.start_run(f"workers-{way}", hyperparameters={"worker": name})
        import random

        start_at += random.random() * PACE
        while time.time() < start_at:
            time.sleep(0.001)
        times = []
        next_epoch = time.perf_counter()
        for epoch in range(epochs):
            next_epoch += PACE
            begin = time.perf_counter()
            repo.log_epoch(key, epoch, METRICS)
            times.append(time.perf_counter() - begin)
            time.sleep(max(0.0, next_epoch - time.perf_counter()))
        repo.finish_run(key)
        if way == "callback" and not repo.flush(timeout=60):
            raise RuntimeError(f"{repo.pending} records still pending after 60 s")
        pool = db.get_engine(url).pool
        queue.put(("ok", times, pool.size() + pool.overflow()))
    except Exception as exc:
        queue.put(("error", repr(exc), 0))


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    if "postgresql" not in backends:
        return
    workers, epochs = {"full": (32, 100), "small": (8, 30), "smoke": (2, 3)}[size]
    for way in ("sync", "callback"):
        _run_way(report, dbs, way, workers, epochs)


def _run_way(report: Report, dbs: Databases, way: str, workers: int, epochs: int) -> None:
    url = dbs.new("postgresql")
    journal = dbs.scratch_dir("journal")
    database = sa.engine.make_url(url).database
    with step(f"{workers} writer processes x {epochs} epochs, {way}, postgresql"):
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        start_at = time.time() + 10  # every process connected and waiting before the first write
        processes = [
            context.Process(target=_worker, args=(way, url, journal, epochs, start_at, queue))
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        most_connections = 0
        admin = db.get_engine(url)
        results = []
        while len(results) < workers:
            with admin.connect() as conn:
                count = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :d"), {"d": database}
                ).scalar()
            most_connections = max(most_connections, count - 1)  # not ours
            while not queue.empty():
                results.append(queue.get())
            time.sleep(0.05)
        for process in processes:
            process.join()
        with admin.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM epoch_metrics")).scalar()
    expected = workers * epochs * len(METRICS)
    errors = [r[1] for r in results if r[0] == "error"]
    times = [t for r in results if r[0] == "ok" for t in r[1]]
    p50, p99 = (percentile(times, 0.5) * 1e3, percentile(times, 0.99) * 1e3) if times else (0, 0)
    report.add(f"{workers} concurrent writers, {way}, p99 per epoch "
               f"({1 / PACE:.0f} epochs/s each)",
               "postgresql",
               f"p99 {p99:.1f} ms, p50 {p50:.1f} ms",
               f"{len(errors)} errors, {rows}/{expected} rows, at most {most_connections} "
               "connections",
               f"{most_connections / workers:.2g} conn/worker",
               "no error, all rows, p99 < 20 ms, <= 2 conn/worker",
               not errors and rows == expected and p99 < 20 and most_connections <= 2 * workers)
    for error in errors[:3]:
        report.note(f"worker error: {error}")
