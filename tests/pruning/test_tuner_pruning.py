"""``track(tuner, pruner=...)`` on a real keras-tuner search: executions worse than the runs
already in the experiment stop after the judged epoch, are stored ``pruned`` with
keras-tuner's own score, and keras-tuner still sees completed trials."""

from __future__ import annotations

import keras_tuner as kt
import pytest
from pruning_search import LearnOrNot, make_data

from tracker import Repository, track
from tracker.pruning import MedianPruner

pytestmark = pytest.mark.keras


def test_every_execution_worse_than_the_others_is_pruned(url, tmp_path):
    repo = Repository(url)
    for _ in range(3):  # rivals no tiny model beats
        key = repo.start_run("tuned", objective="val_accuracy", direction="max")
        repo.log_epochs(key, {e: {"val_accuracy": 1.0} for e in range(4)})
        repo.finish_run(key)
    tuner = kt.RandomSearch(LearnOrNot(), objective="val_accuracy", max_trials=3, seed=1,
                            directory=str(tmp_path), project_name="tuned")
    track(tuner, url, pruner=MedianPruner(min_runs=3, warmup_epochs=0))
    (x, y), validation = make_data()
    tuner.search(x, y, epochs=4, validation_data=validation, verbose=0)

    trials = tuner.oracle.trials
    assert {t.status for t in trials.values()} == {"COMPLETED"}  # keras-tuner's verdict
    runs = [r for r in repo.runs("tuned") if r.trial_id is not None]
    assert len(runs) == 3 and {r.status for r in runs} == {"pruned"}
    for run in runs:
        curve = repo.history(run.id, "val_accuracy")
        assert len(curve) in (1, 2)  # judged after epoch 0: stopped then, or one epoch late
        assert run.score is not None and repo.run(run.id).status == "pruned"
        assert trials[run.trial_id].score == pytest.approx(max(p.value for p in curve))
    assert {t.status for t in repo.trials("tuned")} == {"pruned"}
