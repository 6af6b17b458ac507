"""The repository contract, on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import copy
import datetime as dt
import math
import pickle

import pytest
import sqlalchemy as sa

from tracker import (
    GroupBest,
    NotFoundError,
    Repository,
    RunInfo,
    TrackingWarning,
    db,
)
from tracker.errors import DirectionError, UnknownNameError


@pytest.fixture
def repo(url) -> Repository:
    return Repository(url)


def record(repo, experiment, hyperparameters, curve, *, metric="val_accuracy", status="completed"):
    key = repo.start_run(experiment, hyperparameters=hyperparameters)
    for epoch, value in enumerate(curve):
        repo.log_epoch(key, epoch, {metric: value, "loss": 1.0 - epoch / 10})
    repo.finish_run(key, status, error="boom" if status == "failed" else None)
    return repo.run(key)


def test_run_lifecycle_and_read_back(repo):
    before = dt.datetime.now(dt.timezone.utc)
    key = repo.start_run("mnist", hyperparameters={"batch_size": 32, "lr": 1e-3}, name="first")
    running = repo.run(key)
    assert isinstance(running, RunInfo)
    assert (running.status, running.name, running.experiment) == ("running", "first", "mnist")
    assert running.ended_at is None
    repo.log_epoch(key, 0, {"loss": 0.9, "val_accuracy": 0.5})
    repo.log_epoch(key, 1, {"loss": 0.7, "val_accuracy": 0.6})
    repo.finish_run(key)
    done = repo.run(running.id)
    assert done.status == "completed"
    assert done.key == key
    assert done.hyperparameters == {"batch_size": 32, "lr": 1e-3}
    for stamp in (done.started_at, done.ended_at, done.heartbeat_at):
        assert stamp.tzinfo is not None and stamp.utcoffset() == dt.timedelta(0)
        assert before - dt.timedelta(seconds=5) < stamp < before + dt.timedelta(minutes=1)
    assert done.started_at <= done.ended_at
    points = [(p.name, p.epoch, p.value) for p in repo.history(done.id)]
    assert points == [("loss", 0, 0.9), ("loss", 1, 0.7), ("val_accuracy", 0, 0.5),
                      ("val_accuracy", 1, 0.6)]
    assert [p.value for p in repo.history(key, "loss")] == [0.9, 0.7]


def test_reads_return_frozen_values_not_orm_objects(repo):
    run = record(repo, "e", {"units": 4}, [0.1])
    with pytest.raises(AttributeError):
        run.status = "failed"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(run)) == run
    assert type(repo.best_by("units", "val_accuracy")[0]) is GroupBest


def test_hyperparameters_keep_their_types(repo):
    values = {
        "int": 32,
        "big_int": 2**62 + 1,
        "float": 0.1,
        "tiny": 1e-300,
        "whole_float": 32.0,
        "bool": True,
        "false": False,
        "str": "adam",
        "unicode": "Größe ✓",
        "none": None,
        "list": [1, 2.5, "x"],
        "nan": math.nan,
        "inf": -math.inf,
    }
    key = repo.start_run("types", hyperparameters=values)
    stored = repo.run(key).hyperparameters
    assert stored.keys() == values.keys()
    for name, value in values.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(stored[name])
        else:
            assert stored[name] == value and type(stored[name]) is type(value), name


def test_numpy_hyperparameters_become_python_values(repo):
    np = pytest.importorskip("numpy")
    key = repo.start_run("np", hyperparameters={"a": np.int64(7), "b": np.float32(0.5),
                                                "c": np.bool_(True)})
    assert repo.run(key).hyperparameters == {"a": 7, "b": 0.5, "c": True}
    assert type(repo.run(key).hyperparameters["a"]) is int


def test_nan_and_infinities_round_trip(repo):
    key = repo.start_run("special")
    repo.log_epoch(key, 0, {"a": math.nan, "b": math.inf, "c": -math.inf, "d": 0.0})
    got = {p.name: p.value for p in repo.history(key)}
    assert math.isnan(got["a"])
    assert got["b"] == math.inf and got["c"] == -math.inf and got["d"] == 0.0


def test_special_values_are_stored_as_null_plus_kind(repo, url):
    """The storage decision itself: no NaN in the value column on either backend."""
    key = repo.start_run("special")
    repo.log_epoch(key, 0, {"a": math.nan, "b": math.inf})
    with db.get_engine(url).connect() as conn:
        rows = conn.execute(sa.text("SELECT name, value, value_kind FROM epoch_metrics "
                                    "ORDER BY name")).all()
    assert [tuple(r) for r in rows] == [("a", None, 1), ("b", None, 2)]


@pytest.mark.parametrize("poison", [math.nan, math.inf, -math.inf])
def test_a_diverged_run_never_wins(repo, poison):
    record(repo, "div", {"bs": 32}, [0.5, 0.7])
    record(repo, "div", {"bs": 32}, [0.6, poison], status="failed")
    record(repo, "div", {"bs": 64}, [poison, poison], status="failed")
    record(repo, "div", {"bs": 64}, [0.2, 0.3])
    for mode in ("max", "min"):
        for g in repo.best_by("bs", "val_accuracy", mode=mode):
            assert g.value is not None and math.isfinite(g.value)
        assert math.isfinite(repo.top_runs("val_accuracy", 10, mode=mode)[0].value)
    best = {g.group: g.value for g in repo.best_by("bs", "val_accuracy", mode="max")}
    assert best == {32: 0.7, 64: 0.3}
    # The loss curve does not reach the diverged runs; ranking by it works the other way round.
    assert repo.best_by("bs", "val_accuracy", mode="min")[0].value == 0.5


def test_group_with_only_diverged_runs_has_no_best(repo):
    record(repo, "div", {"bs": 8}, [math.nan, math.inf])
    [group] = repo.best_by("bs", "val_accuracy")
    assert (group.group, group.value, group.run_id, group.epoch, group.runs) == (8, None, None,
                                                                                 None, 1)


def test_best_by_reports_run_epoch_and_group_size(repo):
    a = record(repo, "exp", {"batch_size": 32}, [0.1, 0.9, 0.8])
    record(repo, "exp", {"batch_size": 32}, [0.2, 0.3])
    c = record(repo, "exp", {"batch_size": 64}, [0.4, 0.95])
    record(repo, "other", {"batch_size": 64}, [0.99])
    rows = repo.best_by("batch_size", "val_accuracy", experiment="exp")
    assert rows == [
        GroupBest(group=32, value=0.9, run_id=a.id, epoch=1, runs=2),
        GroupBest(group=64, value=0.95, run_id=c.id, epoch=1, runs=1),
    ]
    everywhere = repo.best_by("batch_size", "val_accuracy")
    assert [(g.group, g.value, g.runs) for g in everywhere] == [(32, 0.9, 2), (64, 0.99, 2)]


def test_best_by_min_and_ties_go_to_the_earliest(repo):
    first = record(repo, "t", {"opt": "adam"}, [0.5, 0.2, 0.2])
    record(repo, "t", {"opt": "adam"}, [0.2])
    rows = repo.best_by("opt", "val_accuracy", mode="min")
    assert [(g.group, g.value, g.run_id, g.epoch) for g in rows] == [("adam", 0.2, first.id, 1)]


def test_best_by_groups_are_ordered_numbers_first(repo):
    for value in [64, 8, "auto", 32.5, True]:
        record(repo, "o", {"x": value}, [0.5])
    assert [g.group for g in repo.best_by("x", "val_accuracy")] == [True, 8, 32.5, 64, "auto"]


def test_direction_from_objective_then_from_name(repo):
    key = repo.start_run("obj", objective="val_error_rate", direction="max")
    repo.log_epoch(key, 0, {"val_error_rate": 0.2, "val_loss": 0.3, "mystery": 2.0})
    repo.log_epoch(key, 1, {"val_error_rate": 0.4, "val_loss": 0.1, "mystery": 1.0})
    assert repo.top_runs("val_error_rate", experiment="obj")[0].value == 0.4
    assert repo.top_runs("val_loss", experiment="obj")[0].value == 0.1
    with pytest.raises(DirectionError, match="mode="):
        repo.top_runs("mystery", experiment="obj")
    assert repo.top_runs("mystery", mode="min")[0].value == 1.0
    # A name never recorded is that, whatever its direction.
    with pytest.raises(UnknownNameError, match="no metric 'enigma'"):
        repo.top_runs("enigma", experiment="obj")


def test_top_runs_ranks_with_hyperparameters(repo):
    runs = [record(repo, "top", {"units": u}, [u / 100, u / 50]) for u in (4, 16, 8, 32)]
    top = repo.top_runs("val_accuracy", k=2, experiment="top")
    assert [(t.run.id, t.value, t.epoch) for t in top] == [(runs[3].id, 0.64, 1),
                                                            (runs[1].id, 0.32, 1)]
    assert top[0].run.hyperparameters == {"units": 32}
    lowest = repo.top_runs("loss", k=1, experiment="top")
    assert lowest[0].value == pytest.approx(0.9)
    with pytest.raises(ValueError, match="k must be"):
        repo.top_runs("loss", k=0)


def test_runs_filters(repo):
    a = record(repo, "f", {"bs": 32, "opt": "adam"}, [0.1])
    b = record(repo, "f", {"bs": 64, "opt": "sgd"}, [0.2], status="failed")
    c = record(repo, "g", {"bs": 32, "opt": "sgd"}, [0.3])
    ids = lambda runs: [r.id for r in runs]  # noqa: E731
    assert ids(repo.runs()) == [a.id, b.id, c.id]
    assert ids(repo.runs("f")) == [a.id, b.id]
    assert ids(repo.runs(where={"bs": 32})) == [a.id, c.id]
    assert ids(repo.runs(where={"bs": 32.0})) == [a.id, c.id]
    assert ids(repo.runs(where={"bs": [32, 64], "opt": "sgd"})) == [b.id, c.id]
    assert ids(repo.runs(status="failed")) == [b.id]
    assert ids(repo.runs("f", status=["completed", "failed"])) == [a.id, b.id]
    with pytest.raises(UnknownNameError, match="'missing'"):
        repo.runs(where={"missing": 1})
    assert repo.run(b.id).error == "boom"


def test_unknown_names_are_clear_errors(repo):
    record(repo, "known", {"a": 1}, [0.1])
    with pytest.raises(NotFoundError, match=r"no experiment named 'nope' \(known: known"):
        repo.runs("nope")
    with pytest.raises(NotFoundError, match="no run"):
        repo.run(123456)
    with pytest.raises(NotFoundError, match="start_run first"):
        repo.log_epoch("not-a-key", 0, {"a": 1.0})
    with pytest.raises(ValueError, match="status must be"):
        repo.finish_run(repo.runs()[0].key, "exploded")


def test_writes_are_idempotent(repo):
    key = repo.start_run("idem", hyperparameters={"a": 1})
    assert repo.start_run("idem", hyperparameters={"a": 1}, key=key) == key
    other = Repository(repo._url)  # a fresh process would not have the key cached
    other.log_epoch(key, 0, {"loss": 0.5})
    other.log_epoch(key, 0, {"loss": 0.5})
    other.log_epoch(key, 0, {"loss": 0.4})  # the last write of an epoch wins
    repo.finish_run(key)
    repo.finish_run(key)
    assert len(repo.runs("idem")) == 1
    assert [(p.epoch, p.value) for p in repo.history(key)] == [(0, 0.4)]


def test_bad_metric_values_are_skipped_with_a_warning(repo):
    key = repo.start_run("bad")
    with pytest.warns(TrackingWarning) as caught:
        skipped = repo.log_epoch(key, 0, {"ok": 1, "text": "high", "none": None, "list": [1, 2],
                                          "": 0.5, "x" * 300: 0.5})
    assert sorted(skipped) == sorted(["text", "none", "list", "", "x" * 300])
    messages = " ".join(str(w.message) for w in caught)
    assert "'text'" in messages and "'none'" in messages and "300 characters" in messages
    assert [(p.name, p.value) for p in repo.history(key)] == [("ok", 1.0)]


def test_repository_copies_and_pickles_and_masks_its_password(url):
    repo = Repository(url)
    for clone in (copy.deepcopy(repo), pickle.loads(pickle.dumps(repo))):
        key = clone.start_run("copies")
        assert repo.run(key).experiment == "copies"
    secret = Repository("postgresql://me:s3cr%40t%3A@db.example/sweeps")
    assert "s3cr" not in repr(secret) and "***" in repr(secret)
    assert secret.url == "postgresql+psycopg2://me:***@db.example/sweeps"


def test_experiments_list(repo):
    record(repo, "one", {}, [0.1])
    record(repo, "two", {}, [0.1])
    record(repo, "two", {}, [0.2])
    repo.start_run("three", objective="val_loss", direction="min")
    listed = [(e.name, e.runs, e.objective, e.direction) for e in repo.experiments()]
    assert listed == [("one", 1, None, None), ("two", 2, None, None),
                      ("three", 1, "val_loss", "min")]


def test_source_and_partial_history_are_kept(repo):
    full = repo.start_run("src")
    partial = repo.start_run("src", source="keras-tuner-import", history_complete=False)
    assert (repo.run(full).source, repo.run(full).history_complete) == (None, True)
    assert (repo.run(partial).source, repo.run(partial).history_complete) == (
        "keras-tuner-import", False)
