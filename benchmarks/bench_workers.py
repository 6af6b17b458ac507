"""Many workers: N processes write their epochs into one PostgreSQL database at once, each
with its own engine (at most two pooled connections); per-epoch latency over all of them.

Each worker ends an epoch every ``PACE`` seconds (a very fast sweep: 32 workers x 10 epochs/s
is 320 epoch writes a second), starting at random offsets as real workers would. Two ways:
``sync`` (``Repository.log_epoch``: committed when it returns, as ``on_error="raise"``) and
``callback`` (the callback's default path, ``RunRecorder``: journaled, written by a background
thread). Afterwards the database must hold every epoch of every worker.

Each way runs twice: straight to PostgreSQL, then through PgBouncer in transaction pooling mode
(Debian's ``pgbouncer``, started on a free loopback port by ``tests/support/pgbouncer.py``, with
a pool of a quarter as many server connections as workers), as teams with hundreds of workers
deploy it. Both figures are printed, with their ratio."""

from __future__ import annotations

import importlib.util
import multiprocessing
import time
from pathlib import Path

import sqlalchemy as sa

from tracker.store import db

from .common import PG_ADMIN_URL, Databases, Report, percentile, step

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
    bouncer = _start_pgbouncer(report, pool_size=max(2, workers // 4))
    try:
        for way in ("sync", "callback"):
            direct = _run_way(report, dbs, way, workers, epochs)
            if bouncer is not None:
                pooled = _run_way(report, dbs, way, workers, epochs, bouncer)
                if direct and pooled:
                    report.note(f"{way}, {workers} workers: p99 through PgBouncer "
                                f"{pooled:.1f} ms vs {direct:.1f} ms direct "
                                f"({pooled / direct:.2g}x)")
    finally:
        if bouncer is not None:
            bouncer.remove()


def _start_pgbouncer(report: Report, pool_size: int):
    """A started PgBouncer (transaction pooling) in front of the benchmark's server, or None
    (with a note) when Debian's pgbouncer is not installed."""
    path = Path(__file__).resolve().parents[1] / "tests" / "support" / "pgbouncer.py"
    spec = importlib.util.spec_from_file_location("tracker_bench_pgbouncer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    binary = module.find_pgbouncer()
    if binary is None:
        report.note("pgbouncer not installed (apt-get install pgbouncer): the through-PgBouncer "
                    "case did not run")
        return None
    bouncer = module.Bouncer(binary, PG_ADMIN_URL, pool_size=pool_size)
    bouncer.start()
    return bouncer


def _run_way(report: Report, dbs: Databases, way: str, workers: int, epochs: int,
             bouncer=None) -> float | None:
    """Run the workers (through ``bouncer`` when given); add a row; return the p99 in ms."""
    direct = dbs.new("postgresql")
    url = bouncer.url(direct) if bouncer is not None else direct
    journal = dbs.scratch_dir("journal")
    database = sa.engine.make_url(direct).database
    where = "postgresql" if bouncer is None else (
        f"postgresql via PgBouncer (transaction pooling, {bouncer.pool_size} server conns)")
    with step(f"{workers} writer processes x {epochs} epochs, {way}, {where}"):
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
        admin = db.get_engine(direct)
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
    most_allowed = 2 * workers if bouncer is None else bouncer.pool_size
    report.add(f"{workers} concurrent writers, {way}, p99 per epoch "
               f"({1 / PACE:.0f} epochs/s each)",
               where,
               f"p99 {p99:.1f} ms, p50 {p50:.1f} ms",
               f"{len(errors)} errors, {rows}/{expected} rows, at most {most_connections} "
               "server connections",
               f"{most_connections / workers:.2g} conn/worker",
               f"no error, all rows, p99 < 20 ms, <= {most_allowed} server conns",
               not errors and rows == expected and p99 < 20 and most_connections <= most_allowed)
    for error in errors[:3]:
        report.note(f"worker error: {error}")
    return p99 if times else None
