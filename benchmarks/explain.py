"""The query plans behind ``best_by`` and ``top_runs``: ``python -m benchmarks.explain
[--runs N] [--epochs N]`` loads the benchmark sweep into a fresh database per backend, runs
both queries, and prints ``EXPLAIN QUERY PLAN`` (SQLite) / ``EXPLAIN (ANALYZE, BUFFERS)``
(PostgreSQL) of every statement they sent, with the same parameters."""

from __future__ import annotations

import argparse

from sqlalchemy import event

from tracker.store import db

from .bench_queries import load
from .common import Databases
from .workload import Sweep


def explain(url: str, sweep: Sweep) -> None:
    repo = load(url, sweep)
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
    ):
        sent.clear()
        call()
        print(f"\n### {engine.dialect.name}: {title}\n")
        for statement, parameters in list(sent):
            if "epoch_metrics" not in statement:
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
    args = parser.parse_args()
    dbs = Databases()
    try:
        for backend in args.backend.split(","):
            explain(dbs.new(backend), Sweep(args.runs, args.epochs))
    finally:
        dbs.close()


if __name__ == "__main__":
    main()
