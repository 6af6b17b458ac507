"""Names checked everywhere: an unknown metric or hyperparameter is an ``UnknownNameError``
naming the experiment and the recorded names (never an empty answer that looks like "every run
diverged"); a bad filter says what is wrong and where; ``Repository.names`` lists what was
recorded. On both backends."""

from __future__ import annotations

import math

import pytest

from tracker import FilterError, Repository, UnknownNameError
from tracker.errors import UnknownFilterNameError


@pytest.fixture
def repo(url) -> Repository:
    repo = Repository(url)
    for i, (bs, opt) in enumerate([(32, "adam"), (64, "sgd"), (32, "sgd")]):
        key = repo.start_run("mnist", hyperparameters={"batch_size": bs, "optimizer": opt,
                                                      "tuner/epochs": 2},
                             objective="val_accuracy", direction="max", trial_id=f"0{i}")
        repo.log_epochs(key, {0: {"val_accuracy": 0.5 + i / 10, "val_loss": 1.0},
                              1: {"val_accuracy": math.nan, "val_loss": 0.5}})
        repo.finish_run(key)
    key = repo.start_run("other", hyperparameters={"units": 8})
    repo.log_epoch(key, 0, {"auc": 0.7})
    return repo


def test_names_lists_what_an_experiment_recorded(repo):
    names = repo.names("mnist")
    assert names.experiment == "mnist"
    assert names.hyperparameters == {"batch_size": ("int",), "optimizer": ("str",),
                                     "tuner/epochs": ("int",)}
    assert names.metrics == ("val_accuracy", "val_loss")
    assert {"status", "trial_id", "execution", "attempt", "worker", "source"} <= set(names.fields)
    everything = repo.names()
    assert "units" in everything.hyperparameters and "auc" in everything.metrics


@pytest.mark.parametrize("call, name, known", [
    (lambda r: r.best_by("batchsize", "val_accuracy", experiment="mnist"), "batchsize",
     ("batch_size", "optimizer", "tuner/epochs")),
    (lambda r: r.best_by("batch_size", "val_acc", experiment="mnist"), "val_acc",
     ("val_accuracy", "val_loss")),
    (lambda r: r.top_runs("val_acc", experiment="mnist"), "val_acc",
     ("val_accuracy", "val_loss")),
    (lambda r: r.top_runs("mystery", experiment="mnist"), "mystery",
     ("val_accuracy", "val_loss")),
    (lambda r: r.trials("mnist", "val_acc"), "val_acc", ("val_accuracy", "val_loss")),
    (lambda r: r.to_dataframe("mnist", kind="epochs", metrics=["val_los"]), "val_los",
     ("val_accuracy", "val_loss")),
])
def test_unknown_names_raise_naming_the_experiment_and_the_recorded_names(repo, call, name,
                                                                           known):
    with pytest.raises(UnknownNameError) as raised:
        call(repo)
    error = raised.value
    assert error.experiment == "mnist" and error.known == known
    assert f"{name!r}" in str(error) and "experiment 'mnist'" in str(error)
    assert known[0] in str(error)


def test_a_close_name_is_suggested(repo):
    with pytest.raises(UnknownNameError, match="did you mean 'val_accuracy'"):
        repo.top_runs("val_acuracy", experiment="mnist")


def test_a_name_of_another_experiment_is_unknown_here(repo):
    with pytest.raises(UnknownNameError, match="no hyperparameter 'units' in experiment 'mnist'"):
        repo.best_by("units", "val_accuracy", experiment="mnist")
    assert [g.group for g in repo.best_by("units", "auc")] == [8]  # every experiment's


def test_known_names_with_no_finite_value_are_no_error(repo):
    key = repo.start_run("diverged", hyperparameters={"bs": 1})
    repo.log_epoch(key, 0, {"val_accuracy": math.nan})
    [group] = repo.best_by("bs", "val_accuracy", experiment="diverged")
    assert group.value is None and group.runs == 1
    assert repo.top_runs("val_accuracy", experiment="diverged") == []
    assert repo.best_by("batch_size", experiment="mnist", where="optimizer == 'none'") == []


def test_metric_defaults_to_the_objective(repo):
    assert repo.default_metric("mnist") == "val_accuracy"
    assert [g.value for g in repo.best_by("batch_size", experiment="mnist")] == [0.7, 0.6]
    assert repo.top_runs(k=1, experiment="mnist")[0].value == 0.7
    with pytest.raises(ValueError, match="pass the metric: experiment 'other' has no objective"
                                         r" \(recorded: auc\)"):
        repo.top_runs(experiment="other")


@pytest.mark.parametrize("where, kind, message, position", [
    ("optimzer == 'adam'", UnknownFilterNameError,
     "no hyperparameter or run field 'optimzer' in experiment 'mnist'; did you mean "
     "'optimizer'?", (0, 8)),
    ("batch_size == 32 and best.val_acc > 0.5", UnknownFilterNameError,
     "column 22 (\"best.val_acc\"): no metric 'val_acc'", (21, 33)),
    ("run.bogus == 1", UnknownFilterNameError, "no run field 'bogus'", (0, 9)),
    ("batch_size == 32 and optimizer > 3", FilterError,
     "column 22 (\"optimizer > 3\"): optimizer holds text values, never a number like 3",
     (21, 34)),
    ("batch_size == 'big'", FilterError, "batch_size holds int values, never text", (0, 19)),
    ("trial_id == 1", FilterError, "write '1'", (0, 13)),
    ("best.val_loss > 'low'", FilterError, "metric values are numbers", (0, 21)),
    ("status == 'done'", FilterError, "unknown status 'done' (statuses: running, ", (0, 16)),
    ("batch_size < None", FilterError, "'<' orders numbers or text, not None", (0, 17)),
    ("batch_size == 32 and", FilterError, "ends too early", (20, 20)),
    ("batch_size == 32)", FilterError, "column 17: unmatched ')'", (16, 17)),
    ("batch_size => 32", FilterError, "column 12: invalid syntax (write >=)", (11, 12)),
    ("batch_size + 1 > 3", FilterError, "arithmetic is not supported", (0, 14)),
    ("batch_size == optimizer", FilterError, "two names cannot be compared", (0, 23)),
    ("batch_size is None", FilterError, "use == or != (not 'is')", (0, 18)),
    ("batch_size == 32 & optimizer == 'adam'", FilterError, "use 'and'", None),
    ("`tuner/epochs > 2", FilterError, "never closed", (0, 17)),
    ("x.batch_size > 2", FilterError, "only run., tags., best., last., max., min. names take a dot",
     (0, 12)),
    ("batch_size in 32", FilterError, "takes a list of values in parentheses", (14, 16)),
    ("optimizer == 'a\\x00b'", FilterError, "NUL character", (13, 21)),
    ("batch_size > 1e999", FilterError, "finite", (13, 18)),
    ("   ", FilterError, "the filter is empty", None),
])
def test_bad_filters_say_what_and_where(repo, where, kind, message, position):
    with pytest.raises(kind) as raised:
        repo.runs("mnist", where=where)
    error = raised.value
    assert message in str(error)
    assert type(error) is kind
    if position is not None:
        assert error.position == position, str(error)
        assert error.expression == where
    assert isinstance(error, ValueError)  # FilterError is a ValueError, names a LookupError too


def test_unknown_names_in_filters_list_every_kind_of_name(repo):
    with pytest.raises(UnknownNameError) as raised:
        repo.runs("mnist", where="optimzer == 'adam'")
    error = raised.value
    assert "batch_size" in error.known and "`tuner/epochs`" in error.known
    assert "status" in error.known  # run fields
    assert "best.val_accuracy" in str(error)
    with pytest.raises(UnknownNameError) as raised:
        repo.runs("mnist", where="best.val_acc > 0.5")
    assert raised.value.known == ("best.val_accuracy", "best.val_loss")


def test_every_entry_point_checks_its_filter(repo):
    bad = "optimzer == 'adam'"
    for call in (lambda: repo.runs("mnist", where=bad),
                 lambda: repo.best_by("batch_size", experiment="mnist", where=bad),
                 lambda: repo.top_runs(experiment="mnist", where=bad),
                 lambda: repo.trials("mnist", where=bad)):
        with pytest.raises(UnknownNameError, match="optimzer"):
            call()


def test_a_metric_whose_direction_is_unknown_asks_for_max_or_min(repo):
    key = repo.start_run("mnist")
    repo.log_epoch(key, 0, {"mystery": 1.0})
    with pytest.raises(FilterError, match=r"write max\.mystery or min\.mystery"):
        repo.runs("mnist", where="best.mystery > 0")
    assert [r.id for r in repo.runs("mnist", where="max.mystery > 0")] == [repo.run(key).id]
