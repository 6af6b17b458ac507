"""The store's ``Repository``: every read and write of the tracking database goes through it
(``tracker.Repository`` adds the DataFrames of ``tracker.analysis`` on top).

It holds only a URL; the engine is the process-wide one from ``tracker.store.db``, so a
repository (and a callback holding one) can be deep-copied and pickled, and its copies share
connections.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from . import db, queries, schema, stale, writes
from .bulk import BulkStore
from .curation import CurationStore
from .models import RunStatus
from .pruning_store import PruningStore
from .query_store import QueryStore
from .records import RunInfo
from .tags import RUN, set_tags, tag_rows
from .trial_store import TrialStore
from .values import (
    check_mode,
    check_name,
    encode_metric,
    epoch_metric_rows,
    hyperparameter_rows,
)

T = TypeVar("T")
MAX_ERROR_LENGTH = 20_000
_FINAL_STATUSES = {s.value for s in RunStatus} - {RunStatus.RUNNING.value}


class Repository(QueryStore, TrialStore, BulkStore, CurationStore, PruningStore):
    """The tracking store at ``url`` (else ``$TRACKER_DATABASE_URL``, else
    ``sqlite:///tracker.db``). The database must have been migrated (``tracker db upgrade``).

    >>> repo = Repository("sqlite:///tracker.db")                         # doctest: +SKIP
    >>> key = repo.start_run("mnist", hyperparameters={"batch_size": 32})  # doctest: +SKIP
    >>> repo.log_epoch(key, 0, {"loss": 0.7, "val_accuracy": 0.81})        # doctest: +SKIP
    >>> repo.finish_run(key)                                               # doctest: +SKIP
    >>> repo.best_by("batch_size", "val_accuracy")                         # doctest: +SKIP
    [GroupBest(group=32, value=0.81, run_id=1, epoch=0, runs=1)]

    ``fail_fast=True`` gives up on a locked or unreachable database within seconds instead of
    waiting up to 30 s (the training side uses it, and keeps what failed in its journal).
    ``stale_after`` (seconds or a timedelta; default ``$TRACKER_STALE_AFTER``, else 300) is how
    long a running run may go without a heartbeat before reads show it as ``stale``.
    """

    def __init__(
        self,
        url: str | URL | None = None,
        *,
        fail_fast: bool = False,
        stale_after: float | dt.timedelta | None = None,
    ) -> None:
        self._url = db.resolve_url(url)
        self._fail_fast = fail_fast
        self._patience = db.FAIL_FAST if fail_fast else db.PATIENT
        self._stale_after = stale.stale_after_seconds(stale_after)
        self._checked = False
        self._engine: Engine | None = None
        self._engine_pid = 0

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return db.mask_url(self._url)

    @property
    def engine(self) -> Engine:
        """The shared engine; the schema revision is checked on first use."""
        pid = os.getpid()
        if self._engine is None or self._engine_pid != pid:
            # Looked up once per process: resolving the URL each call costs ~50 us an epoch.
            self._engine, self._engine_pid = db.get_engine(self._url, self._patience), pid
        if not self._checked:
            schema.check_schema(self._engine)
            self._checked = True
        return self._engine

    def __repr__(self) -> str:
        return f"Repository({self.url!r})"

    def recheck_schema(self) -> None:
        """Check the schema revision again on next use (after an error: the database may have
        been dropped, downgraded or replaced meanwhile)."""
        self._checked = False

    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self._url.render_as_string(hide_password=False),
            "fail_fast": self._fail_fast,
            "stale_after": self._stale_after,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        self.__init__(state.pop("url"), **state)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` in one read transaction, retried on transient errors: for code
        that builds its own queries on the store's tables (``tracker.analysis`` does).

        >>> repo.read(lambda conn: conn.execute(select(1)).scalar())       # doctest: +SKIP
        1
        """
        return self._read(work)

    def stale_cutoff(self) -> dt.datetime:
        """Running runs whose last sign of life is older than this show as ``stale``."""
        return self._stale_before()

    def _write(self, work: Callable[[Connection], T]) -> T:
        return db.run_in_transaction(self.engine, work, write=True, patience=self._patience)

    def _read(self, work: Callable[[Connection], T]) -> T:
        return db.run_in_transaction(self.engine, work, write=False, patience=self._patience)

    def _stale_before(self) -> dt.datetime:
        return stale.cutoff(self._stale_after)

    # -- write side -------------------------------------------------------------------------

    def start_run(
        self,
        experiment: str = "default",
        *,
        hyperparameters: Mapping[str, Any] | None = None,
        key: str | None = None,
        name: str | None = None,
        trial_id: str | None = None,
        execution: int = 0,
        attempt: int = 0,
        worker: str | None = None,
        objective: str | None = None,
        direction: str | None = None,
        started_at=None,
        source: str | None = None,
        history_complete: bool = True,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a new running run (with ``tags``, text labels); returns its client key.
        Calling again with the same ``key`` changes nothing (so a retried call never makes a
        duplicate)."""
        check_name(experiment, "experiment name")
        if direction is not None:
            check_mode(direction)
        key = key or str(uuid.uuid4())
        rows = hyperparameter_rows(hyperparameters or {})
        labels = tag_rows(tags or {})
        started_at = started_at or writes.utcnow()

        def work(conn: Connection) -> int:
            experiment_id = writes.ensure_experiment(conn, experiment, objective, direction)
            run_id = writes.insert_run(
                conn,
                key=key,
                experiment_id=experiment_id,
                name=name,
                trial_id=trial_id,
                execution=execution,
                attempt=attempt,
                worker=worker,
                started_at=started_at,
                heartbeat_at=started_at,
                source=source,
                history_complete=history_complete,
            )
            writes.upsert_hyperparameters(conn, run_id, rows)
            set_tags(conn, RUN, [run_id], labels)
            return run_id

        self._write(work)
        return key

    def log_hyperparameters(self, key: str, hyperparameters: Mapping[str, Any]) -> None:
        """Add or replace hyperparameters of a run (e.g. those known only after training)."""
        rows = hyperparameter_rows(hyperparameters)
        self._write(lambda conn: writes.upsert_hyperparameters(conn, writes.require_run(conn, key),
                                                               rows))

    def log_epoch(self, key: str, epoch: int, metrics: Mapping[str, Any], *, at=None) -> list[str]:
        """Record one epoch's metrics of the run ``key`` in one transaction, and its heartbeat.

        Values that are not numbers (strings, lists, None) or names that cannot be stored are
        skipped with a ``TrackingWarning`` naming them; their names are returned.
        NaN and +/-inf are stored as such. Writing the same epoch again overwrites it.
        """
        encoded, skipped = epoch_metric_rows(metrics, epoch)
        at = at or writes.utcnow()

        def work(conn: Connection) -> None:
            writes.record_epoch(conn, key, int(epoch), encoded, at)

        # One statement does the whole epoch on PostgreSQL: no BEGIN/COMMIT round trips.
        db.run_in_transaction(
            self.engine, work, write=True, patience=self._patience, single_statement=True
        )
        return skipped

    def log_epochs(self, key: str, epochs: Mapping[int, Mapping[str, Any]]) -> list[str]:
        """Record many epochs of run ``key`` (epoch -> metrics) in one transaction, as
        ``log_epoch`` would one by one (importers use it). Returns the skipped names.

        >>> repo.log_epochs(key, {0: {"loss": 0.9}, 1: {"loss": 0.7}})     # doctest: +SKIP
        """
        encoded, skipped = [], []
        for epoch, metrics in epochs.items():
            rows, missed = epoch_metric_rows(metrics, epoch)
            encoded.extend(rows)
            skipped.extend(name for name in missed if name not in skipped)

        def work(conn: Connection) -> None:
            run_id = writes.require_run(conn, key)
            writes.upsert_metrics(conn, [dict(row, run_id=run_id) for row in encoded])

        if encoded:
            self._write(work)
        return skipped

    def heartbeat(self, key: str, *, at=None) -> None:
        """Record that the process training run ``key`` is alive."""
        at = at or writes.utcnow()
        self._write(lambda conn: writes.touch_key(conn, key, at))

    def finish_run(
        self,
        key: str,
        status: str = RunStatus.COMPLETED.value,
        *,
        error: str | None = None,
        score: float | None = None,
        ended_at=None,
    ) -> None:
        """Record how run ``key`` ended: ``completed``, ``failed`` (with ``error``) or
        ``invalid``; ``score`` is the value a tuner ranked it by."""
        status = getattr(status, "value", status)
        if status not in _FINAL_STATUSES:
            raise ValueError(f"status must be one of {sorted(_FINAL_STATUSES)}, not {status!r}")
        if error is not None and len(error) > MAX_ERROR_LENGTH:
            error = error[:MAX_ERROR_LENGTH] + "... [truncated]"
        if score is not None:
            score = encode_metric(score)[0]  # a NaN/inf score means "no score": NULL
        values = {
            "status": status,
            "error": error,
            "score": score,
            "ended_at": ended_at or writes.utcnow(),
        }
        self._write(lambda conn: writes.finish_run(conn, key, values))

    def fail_stale_runs(self, *, experiment: str | None = None) -> list[RunInfo]:
        """Store ``failed`` for every stale run (running, no heartbeat for ``stale_after``)
        and return them. A run whose process was only cut off from the database and reports
        again later gets its real end back.

        >>> Repository(stale_after=600).fail_stale_runs()                   # doctest: +SKIP
        [RunInfo(id=7, ..., status='failed', error='no heartbeat since ...')]
        """
        before = self._stale_before()

        def work(conn: Connection) -> list[RunInfo]:
            experiment_id = self._experiment_id(conn, experiment)
            ids = stale.fail_stale_runs(conn, before, experiment_id)
            return queries.runs(conn, run_ids=ids) if ids else []

        return self._write(work)
