"""Queries at scale: ``best_by``, ``top_runs`` and ``to_dataframe(kind="runs")`` against
hand-written SQL on the same store (the driver alone, no pandas), and against the MLflow and
Optuna routes to the same answer (best val_accuracy per batch size)."""

from __future__ import annotations

import logging
import math
import time
import warnings

from tracker import Repository
from tracker.store import db

from .common import Databases, Report, installed, interleaved, ms, ratio, step, vacuum_analyze
from .workload import Sweep

HAND_BEST_BY = (
    "SELECT h.num_value, MAX(m.value) FROM epoch_metrics m "
    "JOIN hyperparameters h ON h.run_id = m.run_id AND h.name = 'batch_size' "
    "WHERE m.name = 'val_accuracy' AND m.value_kind = 0 GROUP BY h.num_value"
)
HAND_TOP = (
    "SELECT run_id, MAX(value) AS best FROM epoch_metrics "
    "WHERE name = 'val_accuracy' AND value_kind = 0 GROUP BY run_id ORDER BY best DESC LIMIT 10"
)
HAND_RUNS = (
    "SELECT run_id, name, MAX(value), MIN(value), MAX(epoch) FROM epoch_metrics "
    "GROUP BY run_id, name",
    "SELECT run_id, name, kind, num_value, text_value FROM hyperparameters",
    "SELECT id, key, status, started_at, ended_at FROM runs",
)


def load(url: str, sweep: Sweep, analyze: bool = True) -> Repository:
    """The sweep into our store: runs one by one (as training does), epochs in bulk; then
    ANALYZE, as a store in use would have had (``analyze=False``: never)."""
    repo = Repository(url)
    keys = sweep.keys()
    for i, key in enumerate(keys):
        repo.start_run("bench", hyperparameters=sweep.hyperparameters(i), key=key,
                       objective="val_accuracy", direction="max")
    repo.bulk_log_epochs(
        (key, epoch, name, value)
        for i, key in enumerate(keys)
        for epoch, metrics in sweep.curve(i)
        for name, value in metrics.items()
    )
    if analyze:
        vacuum_analyze(url)
    return repo


def _hand(url: str, statements) -> None:
    raw = db.get_engine(url).raw_connection()
    try:
        cursor = raw.cursor()
        for statement in statements:
            cursor.execute(statement)
            cursor.fetchall()
        raw.rollback()
    finally:
        raw.close()


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    scale, versus = {
        "full": (Sweep(10_000, 100), Sweep(2_000, 30)),
        "small": (Sweep(1_000, 30), Sweep(200, 30)),
        "smoke": (Sweep(20, 5), None),
    }[size]
    rounds = 1 if size == "smoke" else 5
    for backend in backends:
        _at_scale(report, dbs.new(backend), backend, scale, rounds)
        if versus is not None:
            _versus(report, dbs, backend, versus, rounds)


def _at_scale(report: Report, url: str, backend: str, scale: Sweep, rounds: int) -> None:
    with step(f"load {scale.metric_rows:,} rows ({scale.runs:,} runs), {backend}"):
        repo = load(url, scale)
    contenders = {
        "best_by": lambda: repo.best_by("batch_size", "val_accuracy", experiment="bench"),
        "hand best_by": lambda: _hand(url, [HAND_BEST_BY]),
        "top_runs": lambda: repo.top_runs("val_accuracy", 10, experiment="bench"),
        "hand top_runs": lambda: _hand(url, [HAND_TOP]),
    }
    if installed("pandas"):
        contenders["runs frame"] = lambda: repo.to_dataframe("bench", kind="runs")
        contenders["hand runs"] = lambda: _hand(url, HAND_RUNS)
    with step(f"queries at {scale.metric_rows:,} rows, {backend}: {rounds} rounds"):
        for call in contenders.values():
            call()  # warm caches once, as a store in use would be
        seconds = interleaved(contenders, rounds)
    for name, hand in (("best_by", "hand best_by"), ("top_runs", "hand top_runs"),
                       ("runs frame", "hand runs")):
        if name not in seconds:
            continue
        ours, baseline = seconds[name], seconds[hand]
        report.add(f"{name} at {scale.metric_rows / 1e6:.2g} M rows", backend, ms(ours),
                   f"hand SQL {ms(baseline)}", f"{ratio(ours, baseline)} of hand SQL",
                   "<= 2x hand, < 300 ms", ours <= 2 * baseline and ours < 0.3)


def _versus(report: Report, dbs: Databases, backend: str, sweep: Sweep, rounds: int) -> None:
    url = dbs.new(backend)
    with step(f"load {sweep.metric_rows:,} rows for the MLflow/Optuna comparison, {backend}"):
        repo = load(url, sweep)
    contenders = {"ours": lambda: repo.best_by("batch_size", "val_accuracy", experiment="bench")}
    expected = {g.group: g.value for g in repo.best_by("batch_size", "val_accuracy")}
    for name, loader in (("mlflow", _mlflow_route), ("optuna", _optuna_route)):
        if not installed(name):
            report.note(f"{name} not installed: query comparison skipped "
                        "(pip install -e '.[bench]')")
            continue
        other = dbs.new(backend, migrate=False)
        if backend == "postgresql":
            other = other.replace("postgresql://", "postgresql+psycopg2://")
        with step(f"load the same sweep into {name}, {backend}"):
            route = loader(other, sweep)
        answer = route()
        assert {k: round(v, 9) for k, v in answer.items()} == {
            k: round(v, 9) for k, v in expected.items()
        }, (name, answer, expected)
        contenders[name] = route
    if len(contenders) == 1:
        return
    with step(f"best val_accuracy per batch size at {sweep.metric_rows:,} rows, {backend}"):
        seconds = interleaved(contenders, 3)
    for name in contenders.keys() - {"ours"}:
        speedup = seconds[name] / seconds["ours"]
        report.add(f"best per batch size vs {name}, {sweep.metric_rows / 1e3:.0f} k rows", backend,
                   ms(seconds["ours"]), f"{name} {ms(seconds[name])}", f"{speedup:.0f}x faster",
                   ">= 50x faster", speedup >= 50)


def _mlflow_route(url: str, sweep: Sweep):
    import mlflow
    from mlflow.entities import Metric, Param

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    client = mlflow.MlflowClient(tracking_uri=url)
    experiment = client.create_experiment("bench")
    now = int(time.time() * 1000)
    for i in range(sweep.runs):
        run_id = client.create_run(experiment).info.run_id
        metrics = [Metric(name, value, now, epoch) for epoch, values in sweep.curve(i)
                   for name, value in values.items()]
        params = [Param(k, str(v)) for k, v in sweep.hyperparameters(i).items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id)

    def route() -> dict:
        import pandas as pd

        runs = mlflow.search_runs([experiment], max_results=50_000)
        rows = []
        for run_id, batch_size in zip(runs["run_id"], runs["params.batch_size"], strict=True):
            history = client.get_metric_history(run_id, "val_accuracy")
            finite = [m.value for m in history if math.isfinite(m.value)]
            if finite:
                rows.append((int(batch_size), max(finite)))
        frame = pd.DataFrame(rows, columns=["batch_size", "best"])
        return frame.groupby("batch_size")["best"].max().to_dict()

    mlflow.set_tracking_uri(url)
    return route


def _optuna_route(url: str, sweep: Sweep):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(storage=url, study_name="bench", direction="maximize")
    distributions = {
        "batch_size": optuna.distributions.CategoricalDistribution([16, 32, 64, 128]),
        "learning_rate": optuna.distributions.FloatDistribution(1e-5, 1.0),
        "units": optuna.distributions.CategoricalDistribution([32, 64, 128, 256, 512]),
        "optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd", "rmsprop"]),
        "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
    }
    trials = []
    for i in range(sweep.runs):
        # Optuna keeps one value per step: val_accuracy only (a quarter of our rows).
        steps = {epoch: values["val_accuracy"] for epoch, values in sweep.curve(i)}
        finite = [v for v in steps.values() if math.isfinite(v)]
        trials.append(optuna.trial.create_trial(
            params=sweep.hyperparameters(i), distributions=distributions,
            value=max(finite) if finite else 0.0,
            intermediate_values={k: v for k, v in steps.items() if math.isfinite(v)},
        ))
    study.add_trials(trials)

    def route() -> dict:

        loaded = optuna.load_study(study_name="bench", storage=url)
        frame = loaded.trials_dataframe(attrs=("number", "params"))
        best = [max(t.intermediate_values.values(), default=math.nan)
                for t in loaded.get_trials(deepcopy=False)]
        frame["best"] = best
        return frame.groupby("params_batch_size")["best"].max().to_dict()

    return route
