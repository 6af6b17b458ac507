"""``tracker importance``: which hyperparameters matter for a metric."""

from __future__ import annotations

from typing import Annotated

import typer

from .lazy import Repository
from .options import Epochs, Format, Metric, Mode, Over, Url, Where
from .output import show

BAR_WIDTH = 20


def importance(
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="The experiment.")],
    metric: Metric = None,
    where: Where = None,
    over: Over = Epochs.best,
    mode: Mode = None,
    seed: Annotated[int, typer.Option(help="Seed of the random forest.")] = 0,
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """Rank the hyperparameters by how much they matter for a metric.

    The importance is each hyperparameter's share of the metric's variance across the
    completed runs (fANOVA, as Optuna computes it; the shares sum to 1). The correlation is
    Spearman's: positive when larger values go with a larger metric. Needs the analysis
    extra.

    Example: tracker importance -e mnist -m val_accuracy
    """
    from rich.text import Text

    from ..analysis.importance import rank
    from .output import literal, plain_console

    console = plain_console(stderr=True)
    with console.status("Fitting the random forest ..."):
        ranking = rank(Repository(url), metric, experiment, over=over.value,
                       where=where, mode=mode, seed=seed)
    rows = []
    for i, row in enumerate(ranking.rows, 1):
        line = {"rank": i, "hyperparameter": row.name, "importance": round(row.importance, 4),
                "correlation": None if row.correlation is None else round(row.correlation, 3),
                "runs": row.runs}
        if fmt == "table":
            line["share"] = "█" * round(row.importance * BAR_WIDTH)
        rows.append(line)
    which = "best" if over is Epochs.best else "final"
    sampled = (f"; the forest on a random sample of {ranking.forest:,}"
               if ranking.forest < ranking.used else "")
    show(rows, fmt=fmt, title=(
        f"Hyperparameter importance for the {which} {ranking.metric} of each run — "
        f"experiment {experiment!r}, {ranking.used:,} of {ranking.selected:,} runs "
        f"(completed, with a finite value{sampled})"))
    if fmt == "table" and rows:
        console.print(Text(literal(
            f"importance: share of the variance of {ranking.metric} (fANOVA, seed {seed});"
            f" correlation: Spearman, + when larger values go with a larger {ranking.metric}"
        ), style="dim"))
