"""Per-epoch writes of 4 metrics through ``TrackingCallback.on_epoch_end`` against the raw
driver, MLflow's ``log_metrics`` and Optuna's ``trial.report``, interleaved.

Two ways of ours: ``on_error="raise"`` (synchronous: the row is committed to the database when
the call returns, like the others) and the default (journaled: the call returns once the record
is appended to the journal file, which survives the process dying, as a SQLite commit with
``synchronous = NORMAL`` does; a background thread writes it to the database)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings

from tracker.store import db

from .common import Databases, Report, installed, interleaved, ms, percentile, ratio, step

METRICS = {"loss": 0.51, "accuracy": 0.83, "val_loss": 0.62, "val_accuracy": 0.79}
GOAL_MS = {"sqlite": 0.5, "postgresql": 1.5}


def _timed(call, epochs: range) -> float:
    times = []
    for epoch in epochs:
        start = time.perf_counter()
        call(epoch)
        times.append(time.perf_counter() - start)
    return percentile(times, 0.5)


class Epochs:
    """A distinct range of epoch numbers per round, so that each write is a new row."""

    def __init__(self, per_round: int) -> None:
        self.per_round, self.next = per_round, 0

    def take(self) -> range:
        start, self.next = self.next, self.next + self.per_round
        return range(start, start + self.per_round)


def ours(url: str, on_error: str = "raise", journal_dir: str | None = None):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tracker import TrackingCallback

    callback = TrackingCallback(url, experiment="bench-epoch", on_error=on_error,
                                journal_dir=journal_dir)
    callback.on_train_begin()
    call = lambda epoch: callback.on_epoch_end(epoch, dict(METRICS))  # noqa: E731
    call.callback = callback
    return call


def raw(url: str):
    from tracker import Repository

    repo = Repository(url)
    run_id = repo.run(repo.start_run("bench-raw")).id
    engine = db.get_engine(url)
    if engine.dialect.name == "sqlite":
        import sqlite3

        conn = sqlite3.connect(engine.url.database, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")

        def write(epoch: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO epoch_metrics (run_id, name, epoch, value, value_kind) "
                "VALUES (?, ?, ?, ?, 0) ON CONFLICT DO UPDATE SET value = excluded.value",
                [(run_id, name, epoch, value) for name, value in METRICS.items()],
            )
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                         (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), run_id))
            conn.execute("COMMIT")

        return write
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(engine.url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg2", "postgresql"))

    def write_pg(epoch: int) -> None:
        with conn.cursor() as cursor:
            execute_values(
                cursor,
                "INSERT INTO epoch_metrics (run_id, name, epoch, value, value_kind) VALUES %s "
                "ON CONFLICT (run_id, name, epoch) DO UPDATE SET value = excluded.value",
                [(run_id, name, epoch, value, 0) for name, value in METRICS.items()],
            )
            cursor.execute("UPDATE runs SET heartbeat_at = now() WHERE id = %s", (run_id,))
        conn.commit()

    return write_pg


def mlflow_writer(url: str):
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench")
    mlflow.start_run()

    def log_metrics(epoch: int) -> None:
        mlflow.log_metrics(METRICS, step=epoch)

    return log_metrics


def optuna_writer(url: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(storage=url, study_name="bench", direction="maximize")
    trial = study.ask()
    return lambda epoch: trial.report(METRICS["val_accuracy"], epoch)


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    per_round, rounds = {"full": (500, 5), "small": (150, 3), "smoke": (10, 1)}[size]
    for backend in backends:
        with step(f"per-epoch writes, {backend}: {rounds} rounds x {per_round} epochs"):
            contenders = {
                "ours": ours(dbs.new(backend)),
                "journaled": ours(dbs.new(backend), "warn", dbs.scratch_dir("journal")),
                "raw": raw(dbs.new(backend)),
            }
            if installed("mlflow") and size != "smoke":
                url = dbs.new(backend, migrate=False)
                if backend == "postgresql":
                    url = url.replace("postgresql://", "postgresql+psycopg2://")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    contenders["mlflow"] = mlflow_writer(url)
            if installed("optuna") and size != "smoke":
                url = dbs.new(backend, migrate=False)
                if backend == "postgresql":
                    url = url.replace("postgresql://", "postgresql+psycopg2://")
                contenders["optuna"] = optuna_writer(url)
            epochs = Epochs(per_round)
            for call in contenders.values():  # warm-up: connections, caches, schema checks
                call(10**7 + epochs.next)
                epochs.next += 1
            p50 = interleaved(
                {name: (lambda c=call, e=epochs: _timed(c, e.take()))
                 for name, call in contenders.items()},
                rounds,
            )
            journaled = contenders["journaled"].callback
            journaled.on_train_end()  # waits for the background writer
            if journaled.pending:
                report.note(f"{journaled.pending} journaled epochs not in the database at the end")
            if "mlflow" in contenders:
                import mlflow

                mlflow.end_run()
        goal = GOAL_MS[backend]
        report.add("per-epoch write p50 (4 metrics)", backend, ms(p50["ours"]),
                   f"raw driver {ms(p50['raw'])}", f"{ratio(p50['ours'], p50['raw'])} of raw",
                   f"<= {goal} ms", p50["ours"] * 1e3 <= goal)
        report.add("per-epoch write p50, default (journaled)", backend, ms(p50["journaled"]),
                   f"synchronous {ms(p50['ours'])}", f"{ratio(p50['journaled'], p50['ours'])} "
                   "of synchronous", f"<= {goal} ms", p50["journaled"] * 1e3 <= goal)
        for other in ("mlflow", "optuna"):
            if other in p50:
                speedup = p50[other] / p50["journaled"]
                report.add(f"per-epoch write vs {other}, default (journaled)", backend,
                           ms(p50["journaled"]), f"{other} {ms(p50[other])}",
                           f"{speedup:.1f}x faster", "")
                speedup = p50[other] / p50["ours"]
                report.add(f"per-epoch write vs {other}", backend, ms(p50["ours"]),
                           f"{other} {ms(p50[other])}", f"{speedup:.1f}x faster",
                           ">= 10x faster" if other == "mlflow" else "",
                           speedup >= 10 if other == "mlflow" else None)
            elif size != "smoke":
                report.note(f"{other} not installed: per-epoch comparison skipped "
                            "(pip install -e '.[bench]')")
