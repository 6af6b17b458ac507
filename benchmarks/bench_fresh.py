"""Queries on a database that was never analyzed: a sweep bulk-loaded into a fresh store and
queried at once, before any ANALYZE (PostgreSQL's autovacuum is off for these tables, SQLite
has no ``sqlite_stat1``). Without statistics PostgreSQL estimates "1 row" for most conditions,
and a plan that hinges on that estimate can go quadratic; ours must stay within 2x of the
hand-written SQL measured in the same run (the issue measured 143 ms against 13 ms)."""

from __future__ import annotations

from tracker.store import db

from .bench_queries import HAND_BEST_BY, HAND_RUNS, HAND_TOP, _hand, load
from .common import Databases, Report, installed, interleaved, ms, ratio, step
from .workload import Sweep

WHERE = "learning_rate < 1e-3 and optimizer == 'adam' and best.val_accuracy > 0.5"
HAND_FILTERED = (
    "SELECT r.id, r.key, r.status, r.started_at FROM runs r "
    "JOIN hyperparameters lr ON lr.run_id = r.id AND lr.name = 'learning_rate' "
    "JOIN hyperparameters o ON o.run_id = r.id AND o.name = 'optimizer' "
    "JOIN run_metrics s ON s.run_id = r.id AND s.name = 'val_accuracy' "
    "WHERE lr.num_value < 0.001 AND o.text_value = 'adam' AND s.high > 0.5 ORDER BY r.id",
    "SELECT h.run_id, h.name, h.kind, h.num_value, h.text_value FROM hyperparameters h "
    "WHERE h.run_id IN (SELECT r.id FROM runs r "
    "JOIN hyperparameters lr ON lr.run_id = r.id AND lr.name = 'learning_rate' "
    "JOIN hyperparameters o ON o.run_id = r.id AND o.name = 'optimizer' "
    "JOIN run_metrics s ON s.run_id = r.id AND s.name = 'val_accuracy' "
    "WHERE lr.num_value < 0.001 AND o.text_value = 'adam' AND s.high > 0.5) "
    "ORDER BY h.run_id, h.name",
)
# The tables whose statistics the planner would use.
TABLES = ("experiments", "runs", "hyperparameters", "epoch_metrics", "run_metrics")


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    sweeps = {
        "full": [Sweep(180, 100), Sweep(2_000, 30)],
        "small": [Sweep(180, 100)],
        "smoke": [Sweep(20, 5)],
    }[size]
    rounds = 1 if size == "smoke" else 5
    for backend in backends:
        for sweep in sweeps:
            _fresh(report, dbs.new(backend), backend, sweep, rounds)


def never_analyzed(url: str) -> None:
    """Keep autovacuum from analyzing the tables behind the benchmark's back (PostgreSQL)."""
    engine = db.get_engine(url)
    if engine.dialect.name != "postgresql":
        return
    from psycopg2 import sql

    with engine.begin() as conn:
        with conn.connection.driver_connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)")
                               .format(sql.Identifier(table)))


def _fresh(report: Report, url: str, backend: str, sweep: Sweep, rounds: int) -> None:
    never_analyzed(url)
    with step(f"load {sweep.metric_rows:,} rows ({sweep.runs:,} runs), {backend}, no ANALYZE"):
        repo = load(url, sweep, analyze=False)
    pairs = {
        "best_by": (lambda: repo.best_by("batch_size", "val_accuracy", experiment="bench"),
                    lambda: _hand(url, [HAND_BEST_BY])),
        "top_runs": (lambda: repo.top_runs("val_accuracy", 10, experiment="bench"),
                     lambda: _hand(url, [HAND_TOP])),
        "filtered runs": (lambda: repo.runs("bench", where=WHERE),
                          lambda: _hand(url, HAND_FILTERED)),
    }
    if installed("pandas"):
        pairs["runs frame"] = (lambda: repo.to_dataframe("bench"), lambda: _hand(url, HAND_RUNS))
    contenders = {}
    for name, (ours, hand) in pairs.items():
        contenders[name], contenders[f"hand {name}"] = ours, hand
    with step(f"queries at {sweep.metric_rows:,} rows, never analyzed, {backend}"):
        for call in contenders.values():
            call()
        seconds = interleaved(contenders, rounds)
    for name in pairs:
        ours, baseline = seconds[name], seconds[f"hand {name}"]
        report.add(f"{name}, never analyzed, {sweep.metric_rows / 1e3:,.0f} k rows", backend,
                   ms(ours), f"hand SQL {ms(baseline)}", f"{ratio(ours, baseline)} of hand SQL",
                   "<= 2x hand", ours <= 2 * baseline)
