"""Which hyperparameters matter: each one's fANOVA importance for a metric (through Optuna's
evaluator, ``fanova``) and its Spearman rank correlation with it (scipy), over the completed
runs of an experiment that have a finite value of the metric.

``tracker.Repository.importance``, ``tracker importance`` and the report call ``rank`` here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import TrackerError
from ..optional import require_all
from ..store.records import Importance
from .fanova import PURPOSE, fanova, sample
from .scales import Dimension, dimension
from .selection import Where, check_metric, default_metric, metric_values, scope, selected_runs

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..store.repository import Repository

MIN_RUNS = 5  # fewer completed runs than this say nothing a forest could learn


class TooFewRunsError(TrackerError, ValueError):
    """Not enough runs (or no varying hyperparameter) to tell which hyperparameters matter."""


@dataclass(frozen=True)
class Ranking:
    """An answer with its context, for titles and captions: the ``rows``, the ``metric``
    (the objective when none was named), its ``direction`` (None with ``over="last"`` and no
    known direction), how many runs were ``used`` of the ``selected`` ones, and how many of
    those the forest was fitted to (``forest``: a random sample beyond ``fanova.MAX_RUNS``)."""

    rows: list[Importance]
    metric: str
    direction: str | None
    used: int
    selected: int
    forest: int


def rank(
    repo: Repository,
    metric: str | None = None,
    experiment: str | None = None,
    *,
    over: str = "best",
    where: Where = None,
    mode: str | None = None,
    seed: int = 0,
) -> Ranking:
    """One ``Importance(name, importance, correlation, runs)`` per hyperparameter that varies
    across the completed runs of ``experiment`` with a finite ``metric``, most important first
    (the importances sum to 1), in a ``Ranking`` that says what was ranked over which runs.

    ``metric`` defaults to the experiment's objective; each run counts with its best value
    (``over="last"``: its final one). ``where`` keeps some runs (see ``Repository.runs``).
    The same ``seed`` gives the same answer.

    >>> rank(repo, "val_accuracy", "mnist").rows                         # doctest: +SKIP
    [Importance(name='learning_rate', importance=0.81, correlation=-0.62, runs=60), ...]
    """
    require_all(("pandas", "optuna", "sklearn", "scipy"), PURPOSE)
    if metric is None:
        metric = default_metric(repo, experiment)
    frame = selected_runs(repo, experiment, where=where, modes={metric: mode} if mode else None,
                          metrics=[metric])
    check_metric(repo, frame, metric, experiment)
    values = metric_values(frame, metric, over)
    used, target = _usable(frame, values, metric, experiment)
    dimensions = _dimensions(frame, used)
    if not dimensions:
        raise TooFewRunsError(
            f"no hyperparameter varies across the {int(used.sum())} runs used in "
            f"{scope(experiment)}: nothing to rank"
        )
    shares = fanova(dimensions, target, seed)
    rows = [Importance(d.name, shares[d.name], _correlation(d, target), d.present)
            for d in dimensions]
    rows.sort(key=lambda row: (-row.importance, row.name))
    direction = frame.attrs.get("directions", {}).get(metric)
    count = int(used.sum())
    return Ranking(rows, metric, direction, count, len(frame), len(sample(count, seed)))


def _usable(frame: pd.DataFrame, values: pd.Series, metric: str, experiment: str | None):
    """The runs that count (completed, with a finite value) and their values; a clear error
    when too few do, saying where the others went."""
    import numpy as np

    numbers = values.astype("float64").to_numpy()
    finite = np.isfinite(numbers)
    completed = (frame["status"] == "completed").to_numpy(dtype=bool)
    used = finite & completed
    count = int(used.sum())
    if count < MIN_RUNS:
        left_out = []
        if (~completed).sum():
            left_out.append(f"{int((~completed).sum())} not completed")
        if (completed & ~finite).sum():
            left_out.append(f"{int((completed & ~finite).sum())} without a finite {metric}")
        why = f" ({', '.join(left_out)})" if left_out else ""
        raise TooFewRunsError(
            f"hyperparameter importance needs at least {MIN_RUNS} completed runs with a "
            f"finite {metric}; {scope(experiment)} has {count} of {len(frame)} "
            f"selected runs{why}"
        )
    target = numbers[used]
    if np.ptp(target) == 0:
        raise TooFewRunsError(
            f"{metric} is {target[0]:.6g} in every run used ({count}): nothing to explain"
        )
    return used, target


def _dimensions(frame: pd.DataFrame, used: np.ndarray) -> list[Dimension]:
    found = []
    for column, name in frame.attrs.get("hyperparameters", {}).items():
        dim = dimension(name, frame[column][used].reset_index(drop=True))
        if dim is not None:
            found.append(dim)
    return found


def _correlation(dim: Dimension, target: np.ndarray) -> float | None:
    """Spearman's rank correlation over the runs that have the hyperparameter, for values with
    an order (numbers, booleans); None otherwise or when it is undefined (a constant)."""
    if not dim.ordered:
        return None
    from scipy.stats import spearmanr

    present = ~dim.missing
    x, y = dim.position[present], target[present]
    if len(x) < 3 or x.min() == x.max() or y.min() == y.max():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties: scipy may warn about precision
        rho = float(spearmanr(x, y).statistic)
    return rho if math.isfinite(rho) else None
