"""Trial-level SQL: keras-tuner trials as groups of runs (one run per execution).

A trial is identified by ``(experiment, trial_id)``; each time it starts again (a retry, or
the same trial id in a new search of the same project) its runs carry the next ``attempt``.
Every function is a fixed number of set-based statements, never one query per run or trial.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from .filters import RunSelection
from .queries import hyperparameters_of
from .records import TrialSummary
from .visibility import run_visibility
from .writes import find_experiment
from .writes import run_metrics as s
from .writes import runs as r


def next_attempt(conn: Connection, experiment: str, trial_id: str) -> int:
    """0 for a trial never started in ``experiment``, else one more than its latest attempt."""
    found = find_experiment(conn, experiment)  # by name or former name (renamed)
    if found is None:
        return 0
    latest = conn.execute(
        select(func.max(r.c.attempt)).where(r.c.experiment_id == found.id,
                                            r.c.trial_id == trial_id)
    ).scalar()
    return 0 if latest is None else latest + 1


def trials(
    conn: Connection,
    experiment_id: int,
    experiment: str,
    metric: str,
    mode: str,
    over: str,
    selection: RunSelection | None = None,
) -> list[TrialSummary]:
    """Per trial of the experiment (latest attempt only), in the order trials started: its
    executions' best (or last) finite ``metric`` values, their mean and standard deviation.
    With a filtered ``selection``, only the executions it selects count (a trial none of
    whose executions pass is left out); the latest attempt is that of every run."""
    latest = _latest_attempt_runs(experiment_id)
    chosen = select(latest)
    if selection is not None and selection.filtered:
        chosen = chosen.where(latest.c.id.in_(selection.run_ids()))
    chosen = chosen.subquery()
    rows = conn.execute(select(chosen).order_by(chosen.c.id)).all()
    if not rows:
        return []
    # Each execution's best (or final) finite value: one row of the run_metrics summary.
    summary = s.c.last_value if over == "last" else s.c.high if mode == "max" else s.c.low
    values = dict(conn.execute(
        select(s.c.run_id, summary).where(s.c.name == metric, s.c.run_id.in_(select(chosen.c.id)))
    ).all())
    hparams = hyperparameters_of(conn, select(chosen.c.id))

    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.trial_id, []).append(row)
    result = []
    for trial_id, runs in grouped.items():
        runs.sort(key=lambda row: (row.execution, row.id))
        found = tuple(values.get(row.id) for row in runs)
        mean, std = mean_and_std([v for v in found if v is not None])
        last = max(runs, key=lambda row: row.id)
        scores = [row.score for row in runs if row.score is not None]
        result.append(
            TrialSummary(
                experiment=experiment,
                trial_id=trial_id,
                metric=metric,
                attempt=last.attempt,
                status=last.status,
                score=scores[0] if scores else None,
                executions=len(runs),
                mean=mean,
                std=std,
                values=found,
                run_ids=tuple(row.id for row in runs),
                hyperparameters=hparams.get(runs[0].id, {}),
                worker=last.worker,
            )
        )
    return result


def mean_and_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean, as keras-tuner averages executions (NumPy's, when NumPy is installed, so that the
    result is bit-for-bit keras-tuner's score), and the sample standard deviation."""
    if not values:
        return None, None
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - NumPy comes with Keras
        mean = sum(values) / len(values)
    else:
        mean = float(np.mean(values))
    if len(values) < 2:
        return mean, None
    variance = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def _latest_attempt_runs(experiment_id: int):
    """Runs of the experiment that belong to the latest attempt of their trial."""
    windowed = (
        select(
            r.c.id,
            r.c.trial_id,
            r.c.attempt,
            r.c.execution,
            r.c.status,
            r.c.score,
            r.c.worker,
            func.max(r.c.attempt).over(partition_by=r.c.trial_id).label("latest"),
        )
        .where(r.c.experiment_id == experiment_id, r.c.trial_id.is_not(None), run_visibility())
        .subquery()
    )
    return (
        select(*(c for c in windowed.c if c.name != "latest"))
        .where(windowed.c.attempt == windowed.c.latest)
        .subquery()
    )
