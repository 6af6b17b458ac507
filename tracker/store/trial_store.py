"""``Repository`` methods for keras-tuner trials and for whole runs written at once.

Mixed into ``Repository`` (which provides ``_read``, ``_write``, ``_experiment_id`` and
``_direction``) to keep each module small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, update

from . import filters, names, queries, trial_queries, writes
from .filters import Where
from .models import RunStatus
from .records import TrialSummary
from .values import (
    check_mode,
    check_name,
    encode_metric,
    epoch_metric_rows,
    hyperparameter_rows,
)

_FINAL_STATUSES = {s.value for s in RunStatus} - {RunStatus.RUNNING.value}


class TrialStore:
    """Trials (groups of runs sharing a keras-tuner trial id) and whole-run writes."""

    def trials(
        self,
        experiment: str,
        metric: str | None = None,
        *,
        mode: str | None = None,
        over: str = "best",
        where: Where = None,
    ) -> list[TrialSummary]:
        """One ``TrialSummary`` per keras-tuner trial of ``experiment``, in the order trials
        started: per execution the best finite ``metric`` over its epochs (``over="last"``:
        its final epoch), and their mean and standard deviation. ``metric`` defaults to the
        experiment's objective. Only each trial's latest attempt counts. ``where`` (as in
        ``runs``) keeps the executions that pass it.

        >>> [(t.trial_id, t.mean, t.std) for t in repo.trials("mnist")]  # doctest: +SKIP
        [('00', 0.912, 0.004), ('01', 0.874, 0.011)]
        """
        queries.check_over(over)
        before = self._stale_before()

        def work(conn: Connection) -> list[TrialSummary]:
            found = queries.experiment(conn, experiment)
            name = metric or names.default_metric(conn, found.id, experiment)
            direction = names.metric_direction(conn, name, mode, found.id, experiment)
            selection = filters.select_runs(conn, found.id, experiment, where,
                                            stale_before=before, modes={name: direction})
            summaries = trial_queries.trials(conn, found.id, experiment, name, direction, over,
                                             selection)
            if summaries and all(v is None for t in summaries for v in t.values):
                names.check_metric(conn, name, found.id, experiment)
            return summaries

        return self._read(work)

    def next_attempt(self, experiment: str, trial_id: str) -> int:
        """The attempt number a trial starting now gets: 0 the first time ``trial_id`` runs in
        ``experiment``, then 1, 2... (a retry, or the same id in a new search)."""
        return self._read(lambda conn: trial_queries.next_attempt(conn, experiment, trial_id))

    def record_run(
        self,
        experiment: str,
        *,
        key: str,
        status: str,
        hyperparameters: Mapping[str, Any] | None = None,
        epochs: Mapping[int, Mapping[str, Any]] | None = None,
        error: str | None = None,
        score: float | None = None,
        started_at: dt.datetime | None = None,
        ended_at: dt.datetime | None = None,
        trial_id: str | None = None,
        execution: int = 0,
        attempt: int = 0,
        worker: str | None = None,
        objective: str | None = None,
        direction: str | None = None,
        source: str | None = None,
        history_complete: bool = True,
        name: str | None = None,
    ) -> str:
        """Write a finished run whole, in one transaction: its hyperparameters, the metrics
        of each epoch it has (``{epoch: {name: value}}``) and how it ended. Writing the same
        ``key`` again updates the run in place (so a re-import never duplicates it). A value
        the schema cannot hold (a trial id of more than 255 characters...) raises
        ``ValueError`` before anything is written, on every backend.

        >>> repo.record_run("imported", key=str(uuid.uuid4()), status="completed",
        ...                 hyperparameters={"units": 32}, epochs={4: {"val_loss": 0.3}},
        ...                 history_complete=False)                       # doctest: +SKIP
        """
        check_name(experiment, "experiment name")
        for what, text in (("trial id", trial_id), ("worker", worker), ("run name", name),
                           ("objective", objective)):
            if text is not None:
                check_name(text, what)
        if direction is not None:
            check_mode(direction)
        if status not in _FINAL_STATUSES:
            raise ValueError(f"status must be one of {sorted(_FINAL_STATUSES)}, not {status!r}")
        hp_rows = hyperparameter_rows(hyperparameters or {})
        metric_rows = [
            row for epoch, metrics in (epochs or {}).items()
            for row in epoch_metric_rows(metrics, epoch)[0]
        ]
        started_at = started_at or ended_at or writes.utcnow()
        fields = {
            "name": name,
            "trial_id": trial_id,
            "execution": execution,
            "attempt": attempt,
            "worker": worker,
            "source": source,
            "history_complete": history_complete,
            "started_at": started_at,
        }
        final = {
            "status": status,
            "error": error,
            "score": None if score is None else encode_metric(score)[0],
            "ended_at": ended_at or started_at,
            "heartbeat_at": ended_at or started_at,
        }

        def work(conn: Connection) -> None:
            experiment_id = writes.ensure_experiment(conn, experiment, objective, direction)
            run_id = writes.insert_run(conn, key=key, experiment_id=experiment_id, **fields)
            conn.execute(  # in place, moved to ``experiment`` if it was recorded elsewhere
                update(writes.runs)
                .where(writes.runs.c.id == run_id)
                .values(experiment_id=experiment_id, **fields, **final)
            )
            writes.upsert_hyperparameters(conn, run_id, hp_rows)
            writes.upsert_metrics(conn, [dict(row, run_id=run_id) for row in metric_rows])

        self._write(work)
        return key
