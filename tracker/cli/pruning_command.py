"""``tracker prune-stats``: what early stopping did in an experiment."""

from __future__ import annotations

from typing import Annotated

import typer

from .lazy import Repository
from .options import Format, Metric, Url
from .output import show


def prune_stats(
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="The experiment.")],
    metric: Metric = None,
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """Epochs trained and saved by pruning, and whether the best run was a pruned one.

    Epochs saved is an estimate: for each pruned run, the epochs it would still have trained
    (up to its own ``epochs`` hyperparameter, else the longest unpruned run of the experiment).

    Example: tracker prune-stats -e mnist
    """
    stats = Repository(url).prune_stats(experiment, metric)
    show([{
        "runs": stats.runs,
        "pruned": stats.pruned,
        "epochs_trained": stats.epochs_trained,
        "epochs_saved": stats.epochs_saved,
        "saved": f"{stats.saved_fraction:.0%}",
        "best_run": stats.best_run,
        f"best_{stats.metric}": stats.best_value,
        "best_was_pruned": stats.best_pruned,
    }], title=f"Pruning in {experiment} ({stats.metric}, {stats.direction})", fmt=fmt)
