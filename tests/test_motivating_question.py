""""Best val_accuracy for each batch size": the same answer from ``best_by``, from
``tracker best`` and from hand-written SQL over the tables, on both backends, for runs
recorded by a real ``model.fit`` with the callback, including a diverged one."""

from __future__ import annotations

import json
import math

import pytest
import sqlalchemy as sa
from cli_helpers import run_cli

from tracker import Repository
from tracker.store import db

keras = pytest.importorskip("keras")
from keras_helpers import make_data, make_model  # noqa: E402

from tracker import TrackingCallback  # noqa: E402

pytestmark = pytest.mark.keras

# Written by hand, as a user would: finite values only (value IS NOT NULL), best per group.
HAND_SQL = sa.text(
    """
    SELECT h.text_value AS batch_size, MAX(m.value) AS best, COUNT(DISTINCT h.run_id) AS runs
    FROM hyperparameters h
    JOIN runs r ON r.id = h.run_id
    JOIN experiments e ON e.id = r.experiment_id
    LEFT JOIN epoch_metrics m
           ON m.run_id = h.run_id AND m.name = 'val_accuracy' AND m.value IS NOT NULL
    WHERE h.name = 'batch_size' AND e.name = :experiment
    GROUP BY h.text_value
    """
)


def test_best_val_accuracy_per_batch_size_three_ways(url):
    x, y = make_data(n=192)
    for batch_size in (16, 32, 64):
        for learning_rate in (1e-2, 3e-2):
            make_model(learning_rate).fit(
                x, y, batch_size=batch_size, epochs=2, validation_split=0.25, verbose=0,
                callbacks=[TrackingCallback(url, experiment="question")],
            )
    # A diverged run in the group with the fewest runs, whose NaN must not win.
    diverged = make_model(learning_rate=1e6)
    diverged.fit(x, y * float("nan"), batch_size=16, epochs=1, validation_split=0.25,
                 verbose=0, callbacks=[TrackingCallback(url, experiment="question")])

    repo = Repository(url)
    from_library = {g.group: (g.value, g.runs) for g in
                    repo.best_by("batch_size", "val_accuracy", experiment="question")}

    out = run_cli("best", "--group-by", "batch_size", "--metric", "val_accuracy",
                  "-e", "question", "--url", url, "--format", "json")
    assert out.code == 0, out.err
    from_cli = {row["batch_size"]: (row["best_val_accuracy"], row["runs"])
                for row in json.loads(out.out)}

    with db.get_engine(url).connect() as conn:
        rows = conn.execute(HAND_SQL, {"experiment": "question"}).all()
    from_sql = {int(row.batch_size): (row.best, row.runs) for row in rows}

    assert from_library == from_cli == from_sql
    assert sorted(from_library) == [16, 32, 64]
    assert from_library[16][1] == 3 and from_library[32][1] == 2
    assert all(math.isfinite(value) for value, _ in from_library.values())

    # And the reported (run, epoch) really holds that value.
    for group in repo.best_by("batch_size", "val_accuracy", experiment="question"):
        point = [p for p in repo.history(group.run_id, "val_accuracy") if p.epoch == group.epoch]
        assert point[0].value == group.value
