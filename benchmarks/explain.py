"""The query plans behind ``best_by``, ``top_runs`` and a filtered ``runs``:
``python -m benchmarks.explain [--runs N] [--epochs N] [--fresh]`` loads the benchmark sweep
into a new database per backend (``--fresh``: never analyzed), runs the queries, and prints
``EXPLAIN QUERY PLAN`` (SQLite) / ``EXPLAIN (ANALYZE, BUFFERS)`` (PostgreSQL) of every
statement that reads the runs' values, with the same parameters. The 40 M-row tier has its
own: ``python -m benchmarks.large explain``."""

from __future__ import annotations

import argparse

from sqlalchemy import event

from tracker.store import db

from .bench_fresh import WHERE, never_analyzed
from .bench_queries import load
from .common import Databases
from .workload import Sweep


def explain(url: str, sweep: Sweep, fresh: bool = False) -> None:
    if fresh:
        never_analyzed(url)
    repo = load(url, sweep, analyze=not fresh)
    engine = db.get_engine(url)
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    for title, call in (
        ("best_by('batch_size', 'val_accuracy')",
         lambda: repo.best_by("batch_size", "val_accuracy", experiment="bench")),
        ("top_runs('val_accuracy', 10)",
         lambda: repo.top_runs("val_accuracy", 10, experiment="bench")),
        (f"runs(where={WHERE!r})", lambda: repo.runs("bench", where=WHERE)),
    ):
        sent.clear()
        call()
        print(f"\n### {engine.dialect.name}: {title}\n")
        for statement, parameters in list(sent):
            if not any(t in statement for t in ("epoch_metrics", "run_metrics", "ORDER BY runs")):
                continue
            prefix = ("EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql"
                      else "EXPLAIN QUERY PLAN ")
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(prefix + statement, parameters)
                plan = [" | ".join(str(c) for c in row) for row in cursor.fetchall()]
                raw.rollback()
            finally:
                raw.close()
            print("```\n" + statement.strip() + "\n\n" + "\n".join(plan) + "\n```")
    event.remove(engine, "before_cursor_execute", capture)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.explain")
    parser.add_argument("--runs", type=int, default=2_500)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--fresh", action="store_true", help="never ANALYZE the database")
    args = parser.parse_args()
    dbs = Databases()
    try:
        for backend in args.backend.split(","):
            explain(dbs.new(backend), Sweep(args.runs, args.epochs), args.fresh)
    finally:
        dbs.close()


if __name__ == "__main__":
    main()
