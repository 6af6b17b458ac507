"""Bulk ingest: ``Repository.bulk_log_epochs`` against the raw driver's own bulk path
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) in the same run, each into a fresh run."""

from __future__ import annotations

import csv
import io

from tracker import Repository
from tracker.store import db

from .common import Databases, Report, interleaved, ratio, step

NAMES = ("loss", "accuracy", "val_loss", "val_accuracy")


def _rows(n: int) -> list[tuple[int, str, float]]:
    return [(i // 4, NAMES[i % 4], 0.5 + (i % 1000) * 1e-4) for i in range(n)]


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    n = {"full": 1_000_000, "small": 100_000, "smoke": 2_000}[size]
    rounds = 3
    data = _rows(n)
    for backend in backends:
        _one_backend(report, dbs.new(backend), backend, data, rounds)


def _one_backend(report: Report, url: str, backend: str, data: list, rounds: int) -> None:
    n = len(data)
    repo = Repository(url)
    engine = db.get_engine(url)

    def ours() -> float:
        key = repo.start_run("bulk")
        rows = [(key, epoch, name, value) for epoch, name, value in data]
        return n / _clock(lambda: repo.bulk_log_epochs(rows))

    def raw() -> float:
        run_id = repo.run(repo.start_run("bulk-raw")).id
        rows = [(run_id, name, epoch, value, 0) for epoch, name, value in data]
        return n / _clock(lambda: _raw_load(engine, rows))

    with step(f"bulk ingest, {backend}: {rounds} rounds x {n:,} rows"):
        rate = interleaved({"ours": ours, "raw": raw}, rounds)
    method = "executemany" if backend == "sqlite" else "COPY"
    report.add("bulk ingest (rows/s)", backend, f"{rate['ours']:,.0f}",
               f"raw {method} {rate['raw']:,.0f}", f"{ratio(rate['ours'], rate['raw'])} of raw",
               ">= 0.5x raw", rate["ours"] >= 0.5 * rate["raw"])


def _clock(call) -> float:
    import time

    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _raw_load(engine, rows: list[tuple]) -> None:
    """The driver alone: what a hand-written loader does, values already encoded."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(
                "INSERT INTO epoch_metrics (run_id, name, epoch, value, value_kind) "
                "VALUES (?, ?, ?, ?, ?)", rows)
            cursor.execute("COMMIT")
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            buffer.seek(0)
            cursor.copy_expert(
                "COPY epoch_metrics (run_id, name, epoch, value, value_kind) FROM STDIN "
                "WITH (FORMAT csv)", buffer)
            raw.commit()
    finally:
        raw.close()
