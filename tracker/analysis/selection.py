"""The runs an analysis looks at: the runs DataFrame of an experiment (or of every one), only
the runs a ``where`` filter keeps, with the metric asked for checked against those recorded.

Importance and parallel coordinates read their runs here, so both take the same ``where`` and
name an unknown metric the same way (``UnknownNameError``, listing the recorded ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import DirectionError, TrackerError, UnknownNameError
from . import dataframes

if TYPE_CHECKING:
    import pandas as pd

    from ..store.repository import Repository

Where = Mapping[str, Any] | str | None


def selected_runs(
    repo: Repository,
    experiment: str | None,
    *,
    where: Where = None,
    modes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``to_dataframe(kind="runs")`` of ``experiment``, keeping only the runs ``where`` selects
    (a mapping of hyperparameter name to value, or to a list of accepted values, as in
    ``Repository.runs``). The frame's ``attrs`` are those of every run of the experiment.
    """
    if isinstance(where, str):
        raise TrackerError(
            "filter expressions (where='learning_rate < 1e-3') are not available in this "
            "version yet: pass a mapping, where={'batch_size': [32, 64]}"
        )
    frame = dataframes.to_dataframe(repo, experiment, modes=modes)
    if where:
        kept = [run.id for run in repo.runs(experiment, where=dict(where))]
        attrs = frame.attrs
        frame = frame[frame["run_id"].isin(kept)]
        frame.attrs = attrs
    return frame


def scope(experiment: str | None) -> str:
    """``experiment 'mnist'``, or ``all experiments``: how titles and messages name it."""
    return f"experiment {experiment!r}" if experiment is not None else "all experiments"


def check_metric(frame: pd.DataFrame, metric: str, experiment: str | None) -> None:
    """``UnknownNameError`` (with the recorded names) when no run recorded ``metric``."""
    known = tuple(frame.attrs.get("metrics", ()))
    if metric not in known:
        hint = f"recorded: {', '.join(known)}" if known else "no metrics recorded yet"
        raise UnknownNameError(f"no metric {metric!r} in {scope(experiment)} ({hint})",
                               known=known, experiment=experiment)


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


def default_metric(repo: Repository, frame: pd.DataFrame, experiment: str | None) -> str:
    """The experiment's objective (or the one objective every experiment shares), else a
    clear error asking for the metric."""
    objectives = {e.objective for e in repo.experiments()
                  if e.objective and experiment in (None, e.name)}
    if len(objectives) == 1:
        return objectives.pop()
    known = tuple(frame.attrs.get("metrics", ()))
    if experiment is not None:
        why = f"experiment {experiment!r} has no objective"
    else:
        why = "the experiments have no objective in common"
    raise UnknownNameError(
        f"{why}: name the metric (recorded: {', '.join(known) or 'none'})",
        known=known, experiment=experiment,
    )
