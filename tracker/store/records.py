"""Frozen value objects returned by every read. Never ORM objects: they outlive sessions,
pickle, and compare by value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ExperimentInfo:
    """A sweep and how many runs it holds."""

    id: int
    name: str
    objective: str | None
    direction: str | None
    created_at: dt.datetime
    runs: int = 0


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run (one ``fit``, or one execution of one keras-tuner trial).

    ``status`` is ``running``, ``completed``, ``failed`` or ``invalid``. ``hyperparameters``
    maps names to typed values (``32`` stays an ``int``). ``source`` says what recorded it
    (``callback``, ``keras-tuner``, an importer); ``history_complete`` is False when only some
    epochs are known (an import from files that keep only the best epoch). ``tags`` (key ->
    text) and ``note`` are the curator's labels; ``deleted_at`` is set on soft-deleted runs.
    """

    id: int
    key: str
    experiment: str
    name: str | None
    trial_id: str | None
    execution: int
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    error: str | None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    worker: str | None = None
    score: float | None = None
    heartbeat_at: dt.datetime | None = None
    source: str | None = None
    history_complete: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    deleted_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One metric value of one run at one epoch; NaN and +/-inf come back as such."""

    run_id: int
    epoch: int
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class BatchPoint:
    """One metric value of one run at one training batch (``log_every_n_batches``):
    ``step`` is the batch index since the start of ``fit``, ``epoch`` the epoch it fell in."""

    run_id: int
    step: int
    epoch: int
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class GroupBest:
    """A row of ``best_by``: the best value of a metric among the runs sharing one value of a
    hyperparameter, and which run and epoch reached it.

    ``value``, ``run_id`` and ``epoch`` are None when no run of the group has a finite value.
    """

    group: Any
    value: float | None
    run_id: int | None
    epoch: int | None
    runs: int


@dataclass(frozen=True, slots=True)
class RankedRun:
    """A row of ``top_runs``: the run (with its hyperparameters), its best value of the ranked
    metric, and the epoch that reached it."""

    run: RunInfo
    value: float
    epoch: int


@dataclass(frozen=True, slots=True)
class TrialSummary:
    """A row of ``Repository.trials``: one keras-tuner trial, summarised over its executions.

    ``metric`` names the summarised metric. Only the trial's latest ``attempt`` counts (a
    retried trial starts again from scratch).
    ``values`` holds, per execution in order, the best (or last, with ``over="last"``) finite
    value of the metric, or None when that execution has none; ``mean`` and ``std`` (sample
    standard deviation, None below two values) are taken over the values that exist. With
    keras-tuner's objective as the metric and ``over="best"``, ``mean`` is the trial's score as
    keras-tuner computes it. ``score`` is the score keras-tuner recorded (None unless completed).
    """

    experiment: str
    trial_id: str
    metric: str
    attempt: int
    status: str
    score: float | None
    executions: int
    mean: float | None
    std: float | None
    values: tuple[float | None, ...]
    run_ids: tuple[int, ...]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    worker: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedNames:
    """What an experiment (or, with ``experiment`` None, the whole database) recorded: each
    hyperparameter with the kinds of value it holds (``int``, ``float``, ``bool``, ``str``,
    ``json``, ``none``), the metric names, and the run fields a filter can name.

    >>> repo.names("mnist").metrics                                      # doctest: +SKIP
    ('accuracy', 'loss', 'val_accuracy', 'val_loss')
    """

    experiment: str | None
    hyperparameters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Importance:
    """A row of ``Repository.importance``: how much of a metric's variation across runs one
    hyperparameter explains, and in which direction it pulls.

    ``importance`` is the hyperparameter's share of the variance (fANOVA, as Optuna computes
    it; the rows of one answer sum to 1). ``correlation`` is the Spearman rank correlation
    between the hyperparameter and the metric over the runs that have it (-1 to 1: positive
    means a larger value goes with a larger metric), None where the values have no order
    (text, lists) or it cannot be computed. ``runs`` counts the runs that have it.
    """

    name: str
    importance: float
    correlation: float | None
    runs: int = 0
