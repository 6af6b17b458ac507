"""The 40 M-row tier: 10,000 runs x 100 epochs x 40 metrics, loaded once, measured many times.

``python -m benchmarks.large load`` writes the sweep (``WideSweep``) into a SQLite file and a
PostgreSQL database that stay between runs (an hour or more on a small machine; PostgreSQL's
autovacuum is off for these tables, so they are **never analyzed** unless you ask);
``measure`` times ``best_by``, ``top_runs``, a filtered ``runs``, the runs DataFrame and
``importance`` (when this build has it) against the goal (< 1 s) and hand-written SQL;
``explain`` prints each statement's plan; ``analyze`` runs ANALYZE (measure again to compare);
``drop`` removes both databases.

Where: ``$TRACKER_BENCH_LARGE_DIR`` (default ``~/.cache/sweep-tracker/bench``) holds the SQLite
file; the PostgreSQL database ``tracker_bench_large`` lives on ``$TRACKER_BENCH_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tracker import Repository
from tracker.store import db, schema

from .bench_queries import HAND_BEST_BY, HAND_RUNS, HAND_TOP, _hand
from .common import PG_ADMIN_URL, Report, installed, interleaved, ms, ratio, step
from .workload import WideSweep

SWEEP = WideSweep(10_000, 100, 40)
EXPERIMENT = "bench-large"
LOADED = "bench-large-loaded"  # an experiment created last: the load completed
PG_DATABASE = "tracker_bench_large"
WHERE = "learning_rate < 1e-3 and optimizer == 'adam' and best.val_accuracy > 0.5"
GOAL_S = 1.0


def sqlite_url() -> str:
    folder = Path(os.environ.get("TRACKER_BENCH_LARGE_DIR",
                                 Path.home() / ".cache" / "sweep-tracker" / "bench"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'large.db'}"


def postgres_url() -> str:
    return db.resolve_url(PG_ADMIN_URL).set(database=PG_DATABASE).render_as_string(
        hide_password=False)


def url_of(backend: str) -> str:
    return sqlite_url() if backend == "sqlite" else postgres_url()


def _admin(sql_text) -> None:
    """One statement on the PostgreSQL server, outside a transaction (CREATE/DROP DATABASE)."""
    engine = sa.create_engine(db.resolve_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            with conn.connection.driver_connection.cursor() as cursor:
                cursor.execute(sql_text)
    finally:
        engine.dispose()


def _pg_database(action: str) -> None:
    from psycopg2 import sql

    statement = {"create": "CREATE DATABASE {}", "drop": "DROP DATABASE IF EXISTS {} WITH (FORCE)"}
    _admin(sql.SQL(statement[action]).format(sql.Identifier(PG_DATABASE)))


def is_loaded(url: str) -> bool:
    if schema.missing_database(url) is not None:
        return False
    try:
        return any(e.name == LOADED for e in Repository(url).experiments())
    except Exception:  # no database, no tables, another schema: not loaded
        return False


def drop(backend: str) -> None:
    db.dispose_engines()
    if backend == "sqlite":
        path = Path(sa.engine.make_url(sqlite_url()).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        _pg_database("drop")


def load(backend: str, sweep: WideSweep = SWEEP) -> None:
    url = url_of(backend)
    if is_loaded(url):
        print(f"{backend}: already loaded ({db.mask_url(url)})")
        return
    drop(backend)
    if backend == "postgresql":
        _pg_database("create")
    schema.upgrade(url)
    if backend == "postgresql":
        _no_autovacuum(url)
    repo = Repository(url)
    keys = sweep.keys()
    with step(f"{backend}: {sweep.runs:,} runs with their hyperparameters"):
        for i, key in enumerate(keys):
            repo.start_run(EXPERIMENT, hyperparameters=sweep.hyperparameters(i), key=key,
                           objective="val_accuracy", direction="max")
    started, written = time.perf_counter(), 0
    per_step = 100
    for start in range(0, sweep.runs, per_step):
        stop = min(start + per_step, sweep.runs)
        written += repo.bulk_log_epochs(sweep.rows(keys, start, stop), chunk_rows=100_000)
        elapsed = time.perf_counter() - started
        print(f"  {backend}: {written:,} rows, {written / elapsed:,.0f} rows/s, "
              f"{elapsed / 60:.0f} min", flush=True)
    for key in keys:
        repo.finish_run(key)
    repo.start_run(LOADED)
    print(f"{backend}: loaded {written:,} rows in {(time.perf_counter() - started) / 60:.0f} min")


def _no_autovacuum(url: str) -> None:
    """Never analyzed unless asked: measure the plans a freshly loaded store gets."""
    from psycopg2 import sql

    engine = db.get_engine(url)
    with engine.begin() as conn:
        with conn.connection.driver_connection.cursor() as cursor:
            for table in ("experiments", "runs", "hyperparameters", "epoch_metrics",
                          "run_metrics", "batch_metrics"):
                cursor.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)")
                               .format(sql.Identifier(table)))


def statistics_state(url: str) -> str:
    engine = db.get_engine(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar()
        return "analyzed" if found else "never analyzed"
    with engine.connect() as conn:
        analyzed = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'epoch_metrics' AND "
            "(last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)").scalar()
    return "analyzed" if analyzed else "never analyzed"


def contenders(repo: Repository) -> dict:
    found = {
        "best_by": lambda: repo.best_by("batch_size", "val_accuracy", experiment=EXPERIMENT),
        "top_runs": lambda: repo.top_runs("val_accuracy", 10, experiment=EXPERIMENT),
        "filtered runs": lambda: repo.runs(EXPERIMENT, where=WHERE),
    }
    if installed("pandas"):
        found["runs frame"] = lambda: repo.to_dataframe(EXPERIMENT)
    if hasattr(repo, "importance"):
        found["importance"] = lambda: repo.importance("val_accuracy", experiment=EXPERIMENT)
    return found


def measure(report: Report, backend: str, rounds: int, hand: bool) -> None:
    url = url_of(backend)
    if not is_loaded(url):
        report.note(f"{backend}: the 40 M-row tier is not loaded: python -m benchmarks.large "
                    f"load --backend {backend}")
        return
    repo = Repository(url)
    state = statistics_state(url)
    calls = contenders(repo)
    with step(f"{backend} ({state}): {rounds} rounds at {SWEEP.metric_rows / 1e6:.0f} M rows"):
        for call in calls.values():
            call()
        seconds = interleaved(calls, rounds)
    baselines = {}
    if hand:
        with step(f"{backend}: hand-written SQL, once each"):
            baselines = interleaved({
                "best_by": lambda: _hand(url, [HAND_BEST_BY]),
                "top_runs": lambda: _hand(url, [HAND_TOP]),
                "runs frame": lambda: _hand(url, HAND_RUNS),
            }, 1)
    for name, ours in seconds.items():
        baseline = baselines.get(name)
        report.add(f"{name} at 40 M rows ({state})", backend, ms(ours),
                   f"hand SQL {ms(baseline)}" if baseline else "",
                   f"{ratio(ours, baseline)} of hand SQL" if baseline else "",
                   "< 1 s", ours < GOAL_S)
    if "importance" not in seconds:
        report.note("importance: not in this build yet (its slot in this tier is ready)")


def explain(backend: str) -> None:
    from sqlalchemy import event

    url = url_of(backend)
    repo = Repository(url)
    engine = repo.engine
    sent: list = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    print(f"\n## {backend} ({statistics_state(url)})")
    for title, call in contenders(repo).items():
        sent.clear()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        print(f"\n### {title}\n")
        for statement, parameters in list(sent):
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


def analyze(backend: str) -> None:
    from .common import vacuum_analyze

    with step(f"{backend}: vacuum and analyze"):
        vacuum_analyze(url_of(backend))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.large", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["load", "measure", "explain", "analyze", "drop"])
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-hand", action="store_true",
                        help="skip the hand-written SQL baselines (each reads all 40 M rows)")
    parser.add_argument("--markdown", help="also write the results table to this file")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    report = Report()
    try:
        for backend in backends:
            if args.action == "load":
                load(backend)
            elif args.action == "measure":
                measure(report, backend, args.rounds, not args.no_hand)
            elif args.action == "explain":
                explain(backend)
            elif args.action == "analyze":
                analyze(backend)
            else:
                drop(backend)
    finally:
        db.dispose_engines()
    if args.action == "measure":
        table = report.markdown()
        print("\n" + table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n")
        return 1 if any(row.ok is False for row in report.rows) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
