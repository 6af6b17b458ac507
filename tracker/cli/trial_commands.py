"""``tracker trials``: keras-tuner trials summarised over their executions."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .lazy import Repository
from .options import Epochs, Format, Mode, Over, Url, Where
from .output import show


def trials(
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="The experiment (keras-tuner project).")
    ],
    metric: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            "--metric", "-m", help="Metric to summarise (default: the experiment's objective).",
            show_default=False,
        ),
    ] = None,
    mode: Mode = None,
    over: Over = Epochs.best,
    where: Where = None,
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """keras-tuner trials: status, score, and mean and std over executions.

    For each trial (its latest attempt), keras-tuner's status and score, and the mean and
    sample standard deviation over its executions of each execution's best (or, with
    --over last, final) value of the metric.

    Example: tracker trials -e mnist --metric val_accuracy
    """
    repo = Repository(url)
    found = repo.trials(experiment, metric, mode=mode, over=over.value, where=where)
    name = found[0].metric if found else metric
    rows = [
        {
            "trial": t.trial_id,
            "attempt": t.attempt,
            "status": t.status,
            "score": t.score,
            "executions": t.executions,
            f"mean_{name}": t.mean,
            "std": t.std,
            "worker": t.worker,
        }
        for t in found
    ]
    names = sorted({n for t in found for n in t.hyperparameters})
    for row, t in zip(rows, found, strict=True):
        row.update({n: t.hyperparameters.get(n) for n in names})
    which = "best" if over is Epochs.best else "final"
    show(rows, title=f"Trials of {experiment} ({len(rows)}): {which} {name} per execution",
         fmt=fmt)
