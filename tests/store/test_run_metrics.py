"""``run_metrics``, the per-run summary the database keeps with triggers, stays exactly equal
to a recomputation from ``epoch_metrics`` whatever path wrote the epochs, on both backends."""

from __future__ import annotations

import math
import random

import pytest
import sqlalchemy as sa

from tracker import Repository
from tracker.store import db, schema
from tracker.store.models import ValueKind

SUMMARY = sa.text(
    "SELECT run_id, name, high, low, last_epoch, last_value, last_kind FROM run_metrics"
)
EPOCHS = sa.text("SELECT run_id, name, epoch, value, value_kind FROM epoch_metrics")


def recomputed(url) -> dict:
    """The summary recomputed in Python from every epoch row."""
    with db.get_engine(url).connect() as conn:
        rows = conn.execute(EPOCHS).all()
    pairs: dict = {}
    for run_id, name, epoch, value, kind in rows:
        pairs.setdefault((run_id, name), []).append((epoch, value, kind))
    expected = {}
    for pair, points in pairs.items():
        finite = [v for _, v, _ in points if v is not None]
        last = max(points)
        expected[pair] = (
            max(finite, default=None), min(finite, default=None), last[0], last[1], last[2]
        )
    return expected


def stored(url) -> dict:
    with db.get_engine(url).connect() as conn:
        return {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(SUMMARY)}


def test_every_write_path_keeps_the_summary_exact(url):
    repo = Repository(url)
    rng = random.Random(3)
    keys = [repo.start_run("summary") for _ in range(4)]
    special = [math.nan, math.inf, -math.inf]

    def value():
        return rng.choice(special) if rng.random() < 0.15 else rng.uniform(-1, 1)

    # Per-epoch writes, in order and out of order.
    for epoch in [0, 1, 3, 2]:
        repo.log_epoch(keys[0], epoch, {"loss": value(), "acc": value()})
    assert stored(url) == recomputed(url)
    # Overwrite the maximum with something lower, and the last epoch with a NaN.
    top = max(repo.history(keys[0], "acc"), key=lambda p: -math.inf if math.isnan(p.value)
              else p.value)
    repo.log_epoch(keys[0], top.epoch, {"acc": -5.0})
    repo.log_epoch(keys[0], 3, {"loss": math.nan})
    assert stored(url) == recomputed(url)
    # Bulk loads (COPY / executemany), then the same rows again with other values (replay path).
    rows = [(k, e, n, value()) for k in keys[1:] for e in range(30) for n in ("loss", "acc")]
    repo.bulk_log_epochs(rows)
    assert stored(url) == recomputed(url)
    repo.bulk_log_epochs([(k, e, n, value()) for k, e, n, _ in rows[::3]])
    assert stored(url) == recomputed(url)
    # A whole run's epochs at once (importers), and a user's own SQL.
    repo.log_epochs(keys[3], {e: {"extra": value()} for e in range(5)})
    with db.get_engine(url).begin() as conn:
        conn.execute(sa.text("UPDATE epoch_metrics SET value = value - 10 WHERE epoch = 1 "
                             "AND value IS NOT NULL"))
        conn.execute(sa.text("INSERT INTO epoch_metrics (run_id, name, epoch, value, value_kind) "
                             "VALUES (:r, 'by_hand', 0, NULL, :k)"),
                     {"r": repo.run(keys[2]).id, "k": int(ValueKind.POS_INF)})
    assert stored(url) == recomputed(url)
    assert stored(url)[(repo.run(keys[2]).id, "by_hand")] == (None, None, 0, None, 2)


def test_deleting_a_run_deletes_its_summary(url):
    repo = Repository(url)
    key = repo.start_run("gone")
    repo.log_epoch(key, 0, {"loss": 1.0})
    with db.get_engine(url).begin() as conn:
        conn.execute(sa.text("DELETE FROM runs WHERE key = :k"), {"k": key})
    assert stored(url) == {}


def test_upgrade_fills_the_summary_from_existing_epochs(new_database):
    url = new_database()
    schema.upgrade(url, "0002")
    engine = db.get_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO experiments (name, created_at) "
                             "VALUES ('old', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO runs (key, experiment_id, execution, attempt, status, started_at) "
            "SELECT 'k' || CAST(n AS VARCHAR(8)), e.id, 0, 0, 'completed', CURRENT_TIMESTAMP "
            "FROM experiments e, (SELECT 1 AS n UNION ALL SELECT 2) AS runs_wanted"))
        conn.execute(sa.text(
            "INSERT INTO epoch_metrics (run_id, name, epoch, value, value_kind) "
            "SELECT r.id, 'loss', 0, 0.5, 0 FROM runs r UNION ALL "
            "SELECT r.id, 'loss', 1, NULL, 1 FROM runs r UNION ALL "
            "SELECT r.id, 'acc', 0, 0.25, 0 FROM runs r"))
    schema.upgrade(url)
    summary = stored(url)
    assert len(summary) == 4
    assert summary == recomputed(url)
    assert {v for (_, name), v in summary.items() if name == "loss"} == {(0.5, 0.5, 1, None, 1)}
    schema.downgrade(url, "0002")
    assert "run_metrics" not in sa.inspect(db.get_engine(url)).get_table_names()
    schema.upgrade(url)
    assert stored(url) == recomputed(url)


@pytest.mark.parametrize("epochs", [1, 3])
def test_summary_of_a_callback_style_run(url, epochs):
    repo = Repository(url)
    key = repo.start_run("cb")
    for epoch in range(epochs):
        repo.log_epoch(key, epoch, {"val_accuracy": 0.1 * (epoch + 1)})
    [(high, low, last_epoch, last_value, kind)] = stored(url).values()
    assert (high, low, last_epoch, kind) == (pytest.approx(0.1 * epochs), 0.1, epochs - 1, 0)
    assert last_value == pytest.approx(0.1 * epochs)
