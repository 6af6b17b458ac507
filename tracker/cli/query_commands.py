"""Query commands: experiments, runs, show, best, top."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .lazy import Repository
from .options import Epochs, ExperimentName, Format, Metric, Mode, Over, StaleAfter, Url, Where
from .output import show, show_json
from .titles import scope


def register(app: typer.Typer) -> None:
    for command in (experiments, runs, show_run, best, top):
        app.command(name=command.__name__.replace("_run", "").replace("_", "-"))(command)


def experiments(url: Url = None, fmt: Format = "table") -> None:
    """List experiments with their objective and number of runs.

    Example: tracker experiments
    """
    rows = [
        {
            "name": e.name,
            "runs": e.runs,
            "objective": e.objective,
            "direction": e.direction,
            "created": e.created_at,
        }
        for e in Repository(url).experiments()
    ]
    show(rows, title="Experiments", fmt=fmt)


def runs(
    url: Url = None,
    experiment: ExperimentName = None,
    status: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="running, completed, failed, invalid, or stale (running, but no heartbeat "
            "for --stale-after seconds: its process probably died).",
            show_default=False,
        ),
    ] = None,
    where: Where = None,
    stale_after: StaleAfter = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="List the soft-deleted runs "
                                          "instead (tracker restore brings them back).")] = False,
    fmt: Format = "table",
) -> None:
    """List runs with their status, hyperparameters and tags.

    Example: tracker runs -e mnist --status completed --where "tags.stage == 'shipped'"
    """
    found = Repository(url, stale_after=stale_after).runs(experiment, where=where, status=status,
                                                          deleted=deleted)
    # keras-tuner runs: several per trial, told apart by execution (and retry attempt).
    trials = any(r.trial_id is not None for r in found)
    rows = []
    for r in found:
        row = {"id": r.id, "experiment": r.experiment, "trial": r.trial_id}
        if trials:
            row.update(execution=r.execution, attempt=r.attempt)
        rows.append({**row, "status": r.status, "started": r.started_at,
                     **({"deleted": r.deleted_at} if deleted else {})})
    _add_hyperparameter_columns(rows, [r.hyperparameters for r in found])
    _add_hyperparameter_columns(rows, [{f"tags.{k}": v for k, v in r.tags.items()} for r in found])
    which = "Deleted runs" if deleted else "Runs"
    show(rows, title=f"{which} of {scope(experiment)} ({len(rows)})", fmt=fmt)


def show_run(
    run: Annotated[str, typer.Argument(help="Run id or key.")],
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """Show one run: its details, hyperparameters and metrics per epoch.

    Example: tracker show 12
    """
    repo = Repository(url)
    info = repo.run(run)
    details = {
        "id": info.id,
        "key": info.key,
        "experiment": info.experiment,
        "name": info.name,
        "trial": info.trial_id,
        "execution": info.execution,
        "attempt": info.attempt,
        "worker": info.worker,
        "source": info.source,
        "history_complete": info.history_complete,
        "status": info.status,
        "started": info.started_at,
        "ended": info.ended_at,
        "score": info.score,
        "error": info.error,
        "note": info.note,
    }
    epochs: dict[int, dict] = {}
    for point in repo.history(info.id):
        epochs.setdefault(point.epoch, {"epoch": point.epoch})[point.name] = point.value
    names = sorted({k for row in epochs.values() for k in row} - {"epoch"})
    table = [{"epoch": e, **{n: row.get(n) for n in names}} for e, row in sorted(epochs.items())]
    if fmt in ("json", "jsonl"):  # one document: the run, its hyperparameters, its epochs
        show_json({**details, "hyperparameters": info.hyperparameters, "tags": info.tags,
                   "metrics": table}, fmt=fmt)
        return
    show([{"field": k, "value": v} for k, v in details.items()], title=f"Run {info.id}", fmt=fmt)
    hparams = [{"name": k, "value": v} for k, v in info.hyperparameters.items()]
    show(hparams, title="Hyperparameters", fmt=fmt)
    if info.tags:
        show([{"tag": k, "value": v} for k, v in info.tags.items()], title="Tags", fmt=fmt)
    show(table, title="Metrics", fmt=fmt)


def best(
    group_by: Annotated[str, typer.Option("--group-by", "-g", help="Hyperparameter to group by.")],
    metric: Metric = None,
    mode: Mode = None,
    experiment: ExperimentName = None,
    over: Over = Epochs.best,
    where: Where = None,
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """Best value of a metric per value of a hyperparameter, and the run reaching it.

    With --over last, each run counts with its final epoch instead of its best one.

    Example: tracker best --group-by batch_size --metric val_accuracy -e mnist --over last
    """
    repo = Repository(url)
    metric = metric or repo.default_metric(experiment)
    direction = repo.direction(metric, mode=mode, experiment=experiment)
    groups = repo.best_by(group_by, metric, mode=direction, experiment=experiment, over=over.value,
                          where=where)
    rows = [
        {group_by: g.group, f"best_{metric}": g.value, "run": g.run_id, "epoch": g.epoch,
         "runs": g.runs}
        for g in groups
    ]
    which = "" if over is Epochs.best else ", final epochs"
    show(rows, title=f"Best {metric} ({direction}{which}) per {group_by} — {scope(experiment)}",
         fmt=fmt)


def top(
    metric: Metric = None,
    k: Annotated[int, typer.Option("-k", "--limit", min=1, help="How many runs.")] = 10,
    mode: Mode = None,
    experiment: ExperimentName = None,
    over: Over = Epochs.best,
    where: Where = None,
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """The best runs by a metric, with their hyperparameters.

    Example: tracker top --metric val_accuracy -k 5 -e mnist --where "optimizer == 'adam'"
    """
    repo = Repository(url)
    metric = metric or repo.default_metric(experiment)
    direction = repo.direction(metric, mode=mode, experiment=experiment)
    ranked = repo.top_runs(metric, k, mode=direction, experiment=experiment, over=over.value,
                           where=where)
    rows = [
        {"rank": i, "run": r.run.id, metric: r.value, "epoch": r.epoch, "status": r.run.status}
        for i, r in enumerate(ranked, 1)
    ]
    _add_hyperparameter_columns(rows, [r.run.hyperparameters for r in ranked])
    show(rows, title=f"Top {k} runs by {metric} ({direction}) — {scope(experiment)}", fmt=fmt)


def _add_hyperparameter_columns(rows: list[dict], hyperparameters: list[dict]) -> None:
    """One column per hyperparameter name (blank where a run does not have it)."""
    names = sorted({name for hp in hyperparameters for name in hp})
    for row, hp in zip(rows, hyperparameters, strict=True):
        for name in names:
            row.setdefault(name, hp.get(name))
