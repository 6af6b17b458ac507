"""``Repository.to_dataframe``: the DataFrames hold exactly what the repository's queries
answer, with typed columns, from a number of statements that does not grow with the runs."""

from __future__ import annotations

import math
import sys

import pytest
import sqlalchemy as sa

from tracker import Repository, UnknownNameError
from tracker.optional import MissingDependency

pd = pytest.importorskip("pandas")

NAN, INF = float("nan"), float("inf")
SWEEP = [
    # hyperparameters, {metric: values per epoch}
    ({"batch_size": 32, "learning_rate": 0.01, "optimizer": "adam", "augment": True},
     {"val_accuracy": [0.5, 0.8, 0.7], "loss": [1.0, 0.5, 0.6], "custom": [3.0, 2.0, 1.0]}),
    ({"batch_size": 64, "learning_rate": 0.001, "optimizer": "sgd"},
     {"val_accuracy": [0.6, NAN], "loss": [0.9, INF]}),
    ({"batch_size": 32, "learning_rate": 1, "optimizer": "adam", "augment": False},
     {"val_accuracy": [0.1, 0.2], "loss": [2.0, 1.5]}),
    ({"batch_size": 128, "learning_rate": 0.1},
     {"val_accuracy": [NAN], "loss": [NAN]}),
]


def record(repo: Repository, experiment: str = "frames", sweep=SWEEP) -> list[str]:
    keys = []
    for hyperparameters, curves in sweep:
        key = repo.start_run(experiment, hyperparameters=hyperparameters, trial_id="t")
        epochs = max(len(values) for values in curves.values())
        for epoch in range(epochs):
            repo.log_epoch(
                key, epoch, {name: v[epoch] for name, v in curves.items() if epoch < len(v)}
            )
        repo.finish_run(key)
        keys.append(key)
    return keys


@pytest.fixture
def repo(url) -> Repository:
    repo = Repository(url)
    record(repo)
    record(repo, "other", SWEEP[:1])
    return repo


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_runs_frame_columns_and_types(repo):
    runs = repo.to_dataframe("frames")
    assert len(runs) == 4 and runs["experiment"].eq("frames").all()
    assert runs["run_id"].tolist() == [r.id for r in repo.runs("frames")]
    assert str(runs["batch_size"].dtype) == "int64"  # ints stay ints
    assert runs["batch_size"].tolist() == [32, 64, 32, 128]
    assert str(runs["learning_rate"].dtype) == "float64"  # 1 (an int) among floats
    assert str(runs["augment"].dtype) == "boolean" and runs["augment"].isna().sum() == 2
    assert isinstance(runs["optimizer"].dtype, pd.StringDtype)
    assert runs["optimizer"].isna().tolist() == [False, False, False, True]
    assert str(runs["started_at"].dtype).startswith("datetime64") and runs["started_at"].dt.tz
    assert (runs["duration_s"] >= 0).all()
    assert runs["status"].eq("completed").all() and runs["trial_id"].eq("t").all()
    assert runs["last_epoch"].tolist() == [2, 1, 1, 0]
    # A metric whose direction nobody can tell has only its last value.
    assert "custom_last" in runs and "custom_best" not in runs
    assert runs.attrs["directions"] == {"loss": "min", "val_accuracy": "max"}
    assert runs.attrs["hyperparameters"]["batch_size"] == "batch_size"


def test_runs_frame_of_some_metrics(repo):
    whole = repo.to_dataframe("frames")
    some = repo.to_dataframe("frames", metrics=["loss"])
    assert some.attrs["metrics"] == ["loss"]
    assert [c for c in some if c.startswith(("val_accuracy", "custom"))] == []
    for column in ("loss_best", "loss_last", "last_epoch", "batch_size", "run_id"):
        assert some[column].equals(whole[column]), column
    with pytest.raises(UnknownNameError, match="val_acc"):
        repo.to_dataframe("frames", metrics=["val_acc"])


def test_runs_frame_equals_the_queries(repo):
    runs = repo.to_dataframe("frames").set_index("run_id")
    for metric in ("val_accuracy", "loss"):
        ranked = repo.top_runs(metric, k=100, experiment="frames")
        from_query = {r.run.id: r.value for r in ranked}
        best = runs[f"{metric}_best"].dropna().to_dict()
        assert best == from_query  # finite values only, in the metric's direction
        for group in repo.best_by("batch_size", metric, experiment="frames"):
            in_group = runs[runs["batch_size"] == group.group][f"{metric}_best"]
            expected = in_group.max() if metric == "val_accuracy" else in_group.min()
            assert same(expected, NAN if group.value is None else group.value)
    for run_id in runs.index:
        history = repo.history(run_id)
        for metric in ("val_accuracy", "loss", "custom"):
            points = [p for p in history if p.name == metric]
            last = runs.loc[run_id].get(f"{metric}_last")
            if points:
                assert same(last, points[-1].value)
            else:
                assert last is None or math.isnan(last)
    assert runs.loc[runs.index[1], "loss_last"] == INF
    last = {r.run.id: r.value for r in repo.top_runs("loss", k=100, experiment="frames",
                                                     over="last")}
    finite_last = runs["loss_last"][runs["loss_last"].abs() < INF].to_dict()
    assert last == finite_last


def test_objective_direction_and_modes(url):
    repo = Repository(url)
    key = repo.start_run("obj", objective="custom", direction="min")
    repo.log_epochs(key, {0: {"custom": 5.0}, 1: {"custom": 4.0}, 2: {"custom": 6.0}})
    runs = repo.to_dataframe("obj")
    assert runs["custom_best"].tolist() == [4.0] and runs["custom_last"].tolist() == [6.0]
    assert repo.to_dataframe("obj", modes={"custom": "max"})["custom_best"].tolist() == [6.0]


def test_epochs_frame_equals_history(repo):
    epochs = repo.to_dataframe("frames", kind="epochs")
    assert list(epochs.columns) == ["run_id", "epoch", "metric", "value"]
    assert str(epochs["metric"].dtype) == "category"
    assert str(epochs["value"].dtype) == "float64" and str(epochs["epoch"].dtype) == "int64"
    expected = [
        (p.run_id, p.epoch, p.name, p.value)
        for run in repo.runs("frames")
        for p in repo.history(run.id)
    ]
    got = list(epochs.itertuples(index=False, name=None))
    assert len(got) == len(expected) == 19
    order = lambda t: (t[0], t[2], t[1])  # noqa: E731 - by run, metric, epoch
    assert got == sorted(got, key=order)
    for a, b in zip(got, sorted(expected, key=order), strict=True):
        assert a[:3] == b[:3] and same(a[3], b[3])
    # Hyperparameters join on run_id.
    runs = repo.to_dataframe("frames")
    joined = epochs.merge(runs[["run_id", "batch_size"]], on="run_id")
    assert len(joined) == len(epochs) and str(joined["batch_size"].dtype) == "int64"
    only = repo.to_dataframe("frames", kind="epochs", metrics=["loss"])
    assert set(only["metric"]) == {"loss"} and len(only) == 8


def test_epochs_in_chunks_and_all_experiments(repo):
    whole = repo.to_dataframe(kind="epochs")
    assert whole["run_id"].nunique() == 5
    assert len(whole) == 19 + 9
    chunks = list(repo.iter_epochs(chunk_rows=5))
    assert [len(c) for c in chunks] == [5] * 5 + [3]
    glued = pd.concat([c.astype({"metric": str}) for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(glued, whole.astype({"metric": str}))
    # Read in small chunks, the frame is the same.
    from tracker.analysis import frames
    from tracker.store import db

    with db.transaction(repo.engine) as conn:
        small = frames.epochs_frame(conn, None, chunk_rows=3)
    pd.testing.assert_frame_equal(small, whole)


def test_statements_do_not_grow_with_runs(url):
    repo = Repository(url)
    counts = []
    for n in (3, 30):
        record(repo, f"grow{n}", SWEEP * (n // 3 + 1))
        statements = []

        def count(*args, statements=statements):
            statements.append(args[2])

        sa.event.listen(repo.engine, "before_cursor_execute", count)
        try:
            repo.to_dataframe(f"grow{n}")
            repo.to_dataframe(f"grow{n}", kind="epochs")
        finally:
            sa.event.remove(repo.engine, "before_cursor_execute", count)
        counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    # runs: experiment, runs, metric names, objectives, metric pivot, hyperparameter names and
    # kinds, hyperparameter pivot; epochs: experiment, epochs.
    assert counts[0] == counts[1] <= 9


def test_empty_database_and_unknown_experiment(url):
    repo = Repository(url)
    runs = repo.to_dataframe()
    assert runs.empty and "run_id" in runs and "status" in runs
    epochs = repo.to_dataframe(kind="epochs")
    assert epochs.empty and list(epochs.columns) == ["run_id", "epoch", "metric", "value"]
    with pytest.raises(Exception, match="no experiment named 'nope'"):
        repo.to_dataframe("nope")
    with pytest.raises(ValueError, match="kind must be"):
        repo.to_dataframe(kind="wide")


def test_missing_pandas_is_a_clear_error(url, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependency, match=r"DataFrames needs pandas.*"
                       r"pip install -e '\.\[analysis\]' in its checkout"):
        Repository(url).to_dataframe()


def test_runs_frame_unusual_hyperparameters(url):
    repo = Repository(url)
    values = [
        {"layers": [32, 16], "maybe": None, "mixed": 3, "status": "hp-status", "huge": 2**70},
        {"layers": [8], "maybe": 0.5, "mixed": "auto", "status": "other", "huge": 1},
    ]
    for hyperparameters in values:
        key = repo.start_run("odd", hyperparameters=hyperparameters)
        repo.log_epoch(key, 0, {"loss": 1.0})
    runs = repo.to_dataframe("odd")
    assert runs["layers"].tolist() == [[32, 16], [8]]
    assert runs["maybe"].isna().tolist() == [True, False] and runs["maybe"][1] == 0.5
    assert runs["mixed"].tolist() == [3, "auto"]
    assert runs["hp.status"].tolist() == ["hp-status", "other"]  # "status" is the run's
    assert runs["status"].eq("running").all()
    assert runs["huge"].tolist() == [2**70, 1]
    assert runs.attrs["hyperparameters"]["hp.status"] == "status"


@pytest.mark.parametrize("most_names", [1_000, 1])
def test_runs_frame_has_only_its_experiments_metrics(url, monkeypatch, most_names):
    """PostgreSQL names the metric columns from every name in the database (a skip scan of
    the name index), or past a limit from the runs' own rows: either way only these runs'."""
    from tracker.analysis import runs_frame

    monkeypatch.setattr(runs_frame, "MAX_SKIP_SCAN_NAMES", most_names)
    repo = Repository(url)
    for experiment, metric in (("alpha", "a_only_loss"), ("beta", "b_only_loss"),
                               ("beta", "zz_loss")):
        key = repo.start_run(experiment, hyperparameters={"units": 8})
        repo.log_epochs(key, {0: {metric: 0.5}, 1: {metric: 0.25}})
        repo.finish_run(key)
    alpha = repo.to_dataframe("alpha")
    assert alpha.attrs["metrics"] == ["a_only_loss"]
    assert alpha["a_only_loss_best"].tolist() == [0.25]
    beta = repo.to_dataframe("beta")
    assert beta.attrs["metrics"] == ["b_only_loss", "zz_loss"]
    assert beta["zz_loss_best"].isna().tolist() == [True, False]
