"""Hyperparameter importance on both backends: the ranking of a sweep whose metric depends
strongly on the learning rate, weakly on units and not at all on a dummy agrees with Optuna's
own ``get_param_importances`` on the same trials; categories, booleans, conditional
hyperparameters, NaN metrics and unfinished runs; clear errors; the command."""

from __future__ import annotations

import json
import math
import random
import uuid

import pytest
from cli_helpers import run_cli

from tracker import Importance, Repository
from tracker.errors import DirectionError, UnknownNameError
from tracker.store import db, schema
from tracker.store.names import MetricRequired

optuna = pytest.importorskip("optuna")
pytest.importorskip("sklearn")

from tracker.analysis.importance import TooFewRunsError  # noqa: E402

TRIALS = 100


def objective(trial) -> float:
    """Strong in the learning rate (a sweet spot at 3e-3), weak in units, none in dummy."""
    lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    units = trial.suggest_int("units", 16, 256, log=True)
    trial.suggest_float("dummy", 0.0, 1.0)
    noise = random.Random(trial.number).gauss(0, 0.005)
    return 0.9 - 0.08 * (math.log10(lr) + 2.5) ** 2 + 0.02 * math.log2(units / 16) + noise


@pytest.fixture(scope="module")
def study():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    found = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=1))
    found.optimize(objective, n_trials=TRIALS)
    return found


def record(repo: Repository, experiment: str, hyperparameters: dict, value: float,
           status: str = "completed", metric: str = "val_accuracy", **extra) -> None:
    repo.record_run(experiment, key=str(uuid.uuid4()), status=status,
                    hyperparameters=hyperparameters,
                    epochs={0: {metric: value - 0.1}, 1: {metric: value}}, **extra)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sweeps(request, tmp_path_factory, study) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('importance') / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    repo = Repository(url)
    for trial in study.trials:
        record(repo, "synthetic", trial.params, trial.value, objective="val_accuracy",
               direction="max")
    rng = random.Random(3)
    for i in range(60):
        # Conditional: momentum only with sgd, where it matters a lot.
        optimizer = "sgd" if i % 2 else "adam"
        hp = {"optimizer": optimizer, "learning_rate": 10 ** rng.uniform(-4, -2)}
        value = 0.8
        if optimizer == "sgd":
            hp["momentum"] = rng.uniform(0, 0.99)
            value = 0.5 + 0.4 * hp["momentum"]
        record(repo, "conditional", hp, value + rng.gauss(0, 0.01))
        # Categories and booleans: activation matters most, batch_norm some, noise none.
        activation = rng.choice(["relu", "tanh", "sigmoid"])
        batch_norm = rng.random() < 0.5
        value = {"relu": 0.9, "tanh": 0.8, "sigmoid": 0.6}[activation] + 0.05 * batch_norm
        record(repo, "categorical", {"activation": activation, "batch_norm": batch_norm,
                                     "noise": rng.random()}, value + rng.gauss(0, 0.005))
    for i, trial in enumerate(study.trials[:40]):
        # "clean" holds 40 trials; "dirty" the same, in the same order, with diverged,
        # failed and still running runs in between, which must be left out.
        record(repo, "clean", trial.params, trial.value)
        record(repo, "dirty", trial.params, trial.value)
        if i % 5 == 0:
            record(repo, "dirty", trial.params, math.nan)
            record(repo, "dirty", trial.params, 0.99, status="failed", error="boom")
            key = repo.start_run("dirty", hyperparameters=trial.params)
            repo.log_epochs(key, {0: {"val_accuracy": 0.99}})
    for i in range(3):
        record(repo, "tiny", {"units": 8 * (i + 1)}, 0.5 + i / 10)
    for i in range(6):
        record(repo, "flat", {"units": 8 * (i + 1)}, 0.5)
        record(repo, "same", {"units": 8}, 0.5 + i / 10)
        record(repo, "custom", {"units": 8 * (i + 1)}, 0.5 + i / 10, metric="quality")
    yield url
    db.dispose_engines()


def test_ranking_agrees_with_optunas_own_importances(sweeps, study):
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    rows = Repository(sweeps).importance("val_accuracy", "synthetic")
    assert all(isinstance(row, Importance) for row in rows)
    assert [row.name for row in rows] == ["learning_rate", "units", "dummy"]
    ours = {row.name: row.importance for row in rows}
    assert ours["dummy"] < 0.05
    assert sum(ours.values()) == pytest.approx(1.0)
    theirs = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    assert set(theirs) == set(ours)
    for name, share in theirs.items():
        assert ours[name] == pytest.approx(share, abs=0.05), (ours, theirs)
    # The direction: more units help; every hyperparameter is in every run.
    by_name = {row.name: row for row in rows}
    assert by_name["units"].correlation > 0.1
    assert abs(by_name["dummy"].correlation) < 0.3
    assert {row.runs for row in rows} == {TRIALS}


def test_the_objective_is_the_default_metric_and_a_seed_repeats(sweeps):
    repo = Repository(sweeps)
    first = repo.importance(experiment="synthetic")
    assert first == repo.importance("val_accuracy", "synthetic", seed=0)
    other = repo.importance(experiment="synthetic", seed=1)
    assert [row.name for row in other] == [row.name for row in first]
    assert other != first  # another forest, nearly the same shares
    for a, b in zip(first, other, strict=True):
        assert a.importance == pytest.approx(b.importance, abs=0.03)


def test_conditional_hyperparameters_keep_every_run(sweeps):
    rows = {row.name: row for row in Repository(sweeps).importance("val_accuracy", "conditional")}
    assert set(rows) == {"optimizer", "learning_rate", "momentum"}
    assert rows["momentum"].runs == 30 and rows["optimizer"].runs == 60
    # Among the sgd runs momentum decides everything, and which runs have it is the
    # optimizer's doing: the two share the variance; the learning rate plays no part.
    assert rows["momentum"].importance > 0.3 and rows["optimizer"].importance > 0.3
    assert rows["momentum"].importance + rows["optimizer"].importance > 0.95
    assert rows["learning_rate"].importance < 0.05
    assert rows["momentum"].correlation > 0.9
    assert rows["optimizer"].correlation is None  # text: no order


def test_categories_and_booleans(sweeps):
    rows = Repository(sweeps).importance("val_accuracy", "categorical")
    assert [row.name for row in rows] == ["activation", "batch_norm", "noise"]
    by_name = {row.name: row for row in rows}
    assert by_name["activation"].importance > 0.7 and by_name["noise"].importance < 0.05
    assert by_name["activation"].correlation is None
    assert by_name["batch_norm"].correlation > 0.1  # True is better


def test_nan_metrics_and_unfinished_runs_are_left_out(sweeps):
    repo = Repository(sweeps)
    dirty = repo.importance("val_accuracy", "dirty", mode="max")
    assert dirty == repo.importance("val_accuracy", "clean", mode="max")
    assert {row.runs for row in dirty} == {40}


def test_where_keeps_some_runs(sweeps):
    repo = Repository(sweeps)
    rows = repo.importance("val_accuracy", "conditional", where={"optimizer": "sgd"})
    assert {row.name for row in rows} == {"learning_rate", "momentum"}  # optimizer: constant
    assert {row.runs for row in rows} == {30}
    assert rows[0].name == "momentum" and rows[0].importance > 0.9


def test_clear_errors(sweeps):
    repo = Repository(sweeps)
    with pytest.raises(UnknownNameError, match="no metric 'val_acc' in experiment 'synthetic'"
                       r".*recorded: val_accuracy") as caught:
        repo.importance("val_acc", "synthetic")
    assert caught.value.known == ("val_accuracy",) and caught.value.experiment == "synthetic"
    with pytest.raises(TooFewRunsError, match=r"at least 5 completed runs .* has 3 of 3"):
        repo.importance("val_accuracy", "tiny")
    with pytest.raises(TooFewRunsError, match=r"val_accuracy is 0\.5 in every run used"):
        repo.importance("val_accuracy", "flat")
    with pytest.raises(TooFewRunsError, match="no hyperparameter varies"):
        repo.importance("val_accuracy", "same")
    with pytest.raises(MetricRequired, match="experiment 'tiny' has no objective"):
        repo.importance(experiment="tiny")
    with pytest.raises(Exception, match="no experiment named 'nope'"):
        repo.importance("val_accuracy", "nope")
    with pytest.raises(ValueError, match="over must be"):
        repo.importance("val_accuracy", "synthetic", over="middle")


def test_a_metric_without_a_direction_needs_a_mode_for_its_best(sweeps):
    repo = Repository(sweeps)
    with pytest.raises(DirectionError, match="pass mode='max' or 'min'"):
        repo.importance("quality", "custom")
    assert repo.importance("quality", "custom", mode="max")[0].name == "units"
    assert repo.importance("quality", "custom", over="last")[0].importance == 1.0


def test_filter_expressions(sweeps):
    repo = Repository(sweeps)
    by_expression = repo.importance("val_accuracy", "conditional",
                                    where="optimizer == 'sgd' and momentum >= 0")
    assert by_expression == repo.importance("val_accuracy", "conditional",
                                            where={"optimizer": "sgd"})
    rows = repo.importance("val_accuracy", "synthetic", where="learning_rate < 1e-2")
    assert {row.runs for row in rows} == {sum(1 for r in repo.runs("synthetic")
                                              if r.hyperparameters["learning_rate"] < 1e-2)}
    with pytest.raises(UnknownNameError, match="lr"):
        repo.importance("val_accuracy", "synthetic", where="lr < 1e-2")


def test_optuna_logging_is_left_alone(sweeps, capfd):
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        Repository(sweeps).importance("val_accuracy", "categorical")
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(before)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # no "A new study created in memory" line


def test_importance_command(sweeps):
    out = run_cli("importance", "-e", "synthetic", "--url", sweeps, "-f", "json")
    assert out.code == 0, out.err
    rows = json.loads(out.out)
    expected = Repository(sweeps).importance(experiment="synthetic")
    assert [r["hyperparameter"] for r in rows] == [row.name for row in expected]
    assert set(rows[0]) == {"rank", "hyperparameter", "importance", "correlation", "runs"}
    assert rows[0]["importance"] == round(expected[0].importance, 4)
    out = run_cli("importance", "-e", "conditional", "-m", "val_accuracy", "--where",
                  "optimizer == 'sgd'", "--url", sweeps)
    assert out.code == 0, out.err
    words = " ".join(out.out.split())
    assert "Hyperparameter importance for the best val_accuracy" in words
    assert "experiment 'conditional', 30 of 30 runs" in words
    assert "momentum" in out.out and "█" in out.out
    out = run_cli("importance", "-e", "synthetic", "-m", "val_acc", "--url", sweeps)
    assert out.code == 1 and "no metric 'val_acc'" in out.err and "recorded: val_accuracy" \
        in out.err
    out = run_cli("importance", "-e", "tiny", "-m", "val_accuracy", "--url", sweeps)
    assert out.code == 1 and "at least 5 completed runs" in out.err


def test_a_large_sweep_is_sampled_with_the_seed(sweeps, monkeypatch):
    from tracker.analysis import fanova
    from tracker.analysis.importance import rank

    monkeypatch.setattr(fanova, "MAX_RUNS", 60)
    repo = Repository(sweeps)
    ranking = rank(repo, "val_accuracy", "synthetic")
    assert (ranking.used, ranking.forest) == (TRIALS, 60)
    assert [row.name for row in ranking.rows] == ["learning_rate", "units", "dummy"]
    assert {row.runs for row in ranking.rows} == {TRIALS}  # correlations: every run
    assert rank(repo, "val_accuracy", "synthetic").rows == ranking.rows
    assert rank(repo, "val_accuracy", "synthetic", seed=2).rows != ranking.rows
