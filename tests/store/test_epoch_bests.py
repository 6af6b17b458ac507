"""``epoch_bests``, the running best the database keeps with triggers, stays exactly equal to a
recomputation from ``epoch_metrics`` whatever path wrote the epochs, on both backends."""

from __future__ import annotations

import math
import random

import sqlalchemy as sa

from tracker import Repository
from tracker.store import db

BESTS = sa.text("SELECT run_id, name, epoch, high, low FROM epoch_bests")
EPOCHS = sa.text("SELECT run_id, name, epoch, value FROM epoch_metrics")


def recomputed(url) -> dict:
    """The running best recomputed in Python from every epoch row."""
    with db.get_engine(url).connect() as conn:
        rows = sorted(conn.execute(EPOCHS).all(), key=lambda r: (r[0], r[1], r[2]))
    expected, seen = {}, {}
    for run_id, name, epoch, value in rows:
        finite = seen.setdefault((run_id, name), [])
        if value is not None:
            finite.append(value)
        expected[(run_id, name, epoch)] = (max(finite, default=None), min(finite, default=None))
    return expected


def stored(url) -> dict:
    with db.get_engine(url).connect() as conn:
        return {tuple(r[:3]): tuple(r[3:]) for r in conn.execute(BESTS)}


def test_every_write_path_keeps_the_running_best_exact(url):
    repo = Repository(url)
    rng = random.Random(5)
    keys = [repo.start_run("bests") for _ in range(4)]

    def value():
        return rng.choice([math.nan, math.inf, -math.inf]) if rng.random() < 0.15 else rng.random()

    for epoch in [0, 1, 4, 2, 3]:  # in order, then out of order
        repo.log_epoch(keys[0], epoch, {"loss": value(), "acc": value()})
    assert stored(url) == recomputed(url)
    # Overwrite the best with something worse, and an early epoch with a new best.
    history = {p.epoch: p.value for p in repo.history(keys[0], "acc")}
    top = max((e for e in history if not math.isnan(history[e])), key=history.get)
    repo.log_epoch(keys[0], top, {"acc": -5.0})
    repo.log_epoch(keys[0], 0, {"loss": 99.0, "acc": math.nan})
    assert stored(url) == recomputed(url)
    # Many epochs at once (the bulk path), and a whole run.
    repo.log_epochs(keys[1], {e: {"loss": value()} for e in range(40)})
    repo.record_run("bests", key="whole", status="completed",
                    epochs={e: {"acc": value()} for e in range(5)})
    repo.bulk_log_epochs([(keys[2], e, "acc", value()) for e in range(30)])
    repo.bulk_log_epochs([(keys[2], e, "acc", value()) for e in (29, 3, 31)])  # overwrites
    assert stored(url) == recomputed(url)
    assert len(stored(url)) == len(recomputed(url)) > 50
