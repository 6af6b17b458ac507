"""Trials as groups of runs: per-trial mean and standard deviation over executions, the latest
attempt, ``over="best"|"last"``, and whole-run writes, on both backends (no TensorFlow)."""

from __future__ import annotations

import math
import statistics
import uuid

import numpy as np
import pytest
from cli_helpers import run_cli

from tracker import Repository

# trial id -> attempt -> executions' val_accuracy curves
CURVES = {
    "0": {0: [[0.5, 0.9, 0.7], [0.6, 0.65, 0.8]]},
    "1": {0: [[0.2, 0.3]], 1: [[0.4, 0.95, 0.1], [0.5, 0.6, 0.55], [0.3, float("nan"), 0.2]]},
    "2": {0: [[float("nan"), float("nan")]]},
}
UNITS = {"0": 16, "1": 32, "2": 64}


def _record(repo: Repository, experiment: str = "sweep") -> None:
    for trial_id, attempts in CURVES.items():
        for attempt, executions in attempts.items():
            for execution, curve in enumerate(executions):
                key = repo.start_run(
                    experiment, hyperparameters={"units": UNITS[trial_id]}, trial_id=trial_id,
                    attempt=attempt, execution=execution, worker=f"w{attempt}",
                    objective="val_accuracy", direction="max", source="keras-tuner",
                )
                for epoch, value in enumerate(curve):
                    repo.log_epoch(key, epoch, {"val_accuracy": value, "loss": 1.0 - value})
                repo.finish_run(key, "completed", score=0.5)


@pytest.fixture
def repo(url) -> Repository:
    repo = Repository(url)
    _record(repo)
    return repo


def test_mean_and_std_of_each_executions_best_epoch(repo):
    trials = repo.trials("sweep")
    assert [t.trial_id for t in trials] == ["0", "1", "2"]
    first, second, diverged = trials
    assert first.metric == "val_accuracy" and first.executions == 2 and first.attempt == 0
    assert first.values == (0.9, 0.8)
    assert first.mean == np.mean([0.9, 0.8])
    assert first.std == pytest.approx(statistics.stdev([0.9, 0.8]), rel=1e-12)
    assert first.hyperparameters == {"units": 16} and first.score == 0.5
    # Only the latest attempt counts; a NaN epoch never wins; the diverged run has no value.
    assert second.attempt == 1 and second.executions == 3 and second.worker == "w1"
    assert second.values == (0.95, 0.6, 0.3)
    assert second.mean == np.mean([0.95, 0.6, 0.3])
    assert diverged.values == (None,) and diverged.mean is None and diverged.std is None


def test_over_last_uses_each_executions_final_epoch(repo):
    first, second, _ = repo.trials("sweep", over="last")
    assert first.values == (0.7, 0.8)
    assert second.values == (0.1, 0.55, 0.2)
    loss = repo.trials("sweep", "loss", over="last")[0]
    assert loss.values == (pytest.approx(0.3), pytest.approx(0.2))


def test_min_metric_and_errors(repo):
    first = repo.trials("sweep", "loss")[0]
    assert first.values == (pytest.approx(0.1), pytest.approx(0.2))
    with pytest.raises(ValueError, match="over must be"):
        repo.trials("sweep", over="worst")
    plain = Repository(repo._url)
    plain.start_run("no-objective", trial_id="0")
    with pytest.raises(ValueError, match="no objective"):
        plain.trials("no-objective")


def test_best_by_and_top_runs_over_best_or_last(repo):
    best = {g.group: (g.value, g.epoch) for g in repo.best_by("units", "val_accuracy")}
    assert best == {16: (0.9, 1), 32: (0.95, 1), 64: (None, None)}
    last = {g.group: (g.value, g.epoch) for g in repo.best_by("units", "val_accuracy",
                                                              over="last")}
    assert last == {16: (0.8, 2), 32: (0.55, 2), 64: (None, None)}
    top = repo.top_runs("val_accuracy", k=2, experiment="sweep", over="last")
    assert [(r.value, r.epoch) for r in top] == [(0.8, 2), (0.7, 2)]
    with pytest.raises(ValueError, match="over must be"):
        repo.best_by("units", "val_accuracy", over="first")


def test_next_attempt(repo):
    assert repo.next_attempt("sweep", "0") == 1
    assert repo.next_attempt("sweep", "1") == 2
    assert repo.next_attempt("sweep", "new") == 0
    assert repo.next_attempt("elsewhere", "0") == 0


def test_record_run_writes_a_whole_run_and_is_idempotent(url):
    repo = Repository(url)
    key = str(uuid.uuid4())
    kwargs = dict(key=key, hyperparameters={"units": 8, "tuner/epochs": 3},
                  epochs={2: {"val_loss": 0.25, "loss": math.nan}}, trial_id="07",
                  objective="val_loss", direction="min", source="keras-tuner-import",
                  history_complete=False)
    repo.record_run("imported", status="completed", score=0.25, **kwargs)
    repo.record_run("imported", status="completed", score=0.25, **kwargs)
    [run] = repo.runs("imported")
    assert (run.status, run.score, run.trial_id, run.history_complete) == (
        "completed", 0.25, "07", False)
    assert run.hyperparameters == {"units": 8, "tuner/epochs": 3}
    history = {(p.epoch, p.name): p.value for p in repo.history(run.id)}
    assert history[(2, "val_loss")] == 0.25 and math.isnan(history[(2, "loss")])
    # The file changed (say the trial had been left running): the same key is updated.
    repo.record_run("imported", status="failed", error="left RUNNING", **kwargs)
    [run] = repo.runs("imported")
    assert (run.status, run.error, run.score) == ("failed", "left RUNNING", None)
    assert repo.trials("imported")[0].values == (0.25,)
    with pytest.raises(ValueError, match="status must be"):
        repo.record_run("imported", key=key, status="running")


def test_trials_and_best_over_last_commands(repo):
    url = repo._url.render_as_string(hide_password=False)
    out = run_cli("trials", "-e", "sweep", "--url", url, "--format", "csv")
    assert out.code == 0, out.err
    lines = out.out.strip().splitlines()
    assert lines[0] == (
        "trial,attempt,status,score,executions,mean_val_accuracy,std,worker,units"
    )
    # CSV keeps every digit (the mean of 0.8 and 0.9 is not exactly 0.85)
    assert lines[1].startswith("0,0,completed,0.5,2,0.8500000000000001,0.07071067811865474,w0,16")
    out = run_cli("trials", "-e", "sweep", "-m", "val_accuracy", "--over", "last", "--url", url)
    assert out.code == 0 and "final val_accuracy per execution" in out.out
    out = run_cli("best", "-g", "units", "-m", "val_accuracy", "--over", "last", "--url", url,
                  "-f", "json")
    assert out.code == 0, out.err
    assert '"best_val_accuracy": 0.8' in out.out
    out = run_cli("trials", "-e", "sweep", "--over", "middle", "--url", url)
    assert out.code != 0 and "middle" in out.err
