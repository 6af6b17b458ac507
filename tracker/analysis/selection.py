"""The runs an analysis looks at: the runs DataFrame of an experiment (or of every one), only
the runs a ``where`` filter keeps, with the metric asked for checked against those recorded.

Importance and parallel coordinates read their runs here, so both take the same ``where`` and
name an unknown metric the same way (``UnknownNameError``, listing the recorded ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import DirectionError, TrackerError, UnknownNameError
from ..store.filters import Where
from ..store.names import unknown_message
from . import dataframes

if TYPE_CHECKING:
    import pandas as pd

    from ..store.repository import Repository

__all__ = ["Where", "check_metric", "default_metric", "metric_values", "scope", "selected_runs"]


def selected_runs(
    repo: Repository,
    experiment: str | None,
    *,
    where: Where = None,
    modes: Mapping[str, str] | None = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``to_dataframe(kind="runs")`` of ``experiment``, only the runs that pass ``where`` (a
    filter expression, a mapping of hyperparameter values, or a list of them, as
    ``Repository.runs`` takes it; compiled to SQL), with the columns of ``metrics`` only
    when given."""
    return dataframes.to_dataframe(repo, experiment, modes=modes, where=where, metrics=metrics)


def scope(experiment: str | None) -> str:
    """``experiment 'mnist'``, or ``all experiments``: how titles and messages name it."""
    return f"experiment {experiment!r}" if experiment is not None else "all experiments"


def check_metric(repo: Repository, frame: pd.DataFrame, metric: str,
                 experiment: str | None) -> None:
    """``UnknownNameError`` (with the recorded names) when the experiment never recorded
    ``metric``; a plain error when only the runs a filter kept lack it."""
    if metric in frame.attrs.get("metrics", ()):
        return
    known = tuple(repo.names(experiment).metrics)
    if metric not in known:
        raise UnknownNameError(unknown_message("metric", metric, known, experiment),
                               known=known, experiment=experiment)
    raise TrackerError(f"no selected run of {scope(experiment)} recorded {metric!r}")


def metric_values(frame: pd.DataFrame, metric: str, over: str) -> pd.Series:
    """Each run's best (``over="best"``, in the metric's direction) or last value of
    ``metric``; a clear error when the direction of "best" cannot be told."""
    if over not in ("best", "last"):
        raise ValueError(f"over must be 'best' or 'last', not {over!r}")
    if over == "best" and metric not in frame.attrs.get("directions", {}):
        raise DirectionError(
            f"cannot tell whether a higher or lower {metric!r} is better: pass mode='max' or "
            "'min' (--mode on the command line), or over='last'"
        )
    return frame[f"{metric}_{over}"]


def default_metric(repo: Repository, experiment: str | None) -> str:
    """The experiment's objective, else an error listing the recorded metrics."""
    return repo.default_metric(experiment)
