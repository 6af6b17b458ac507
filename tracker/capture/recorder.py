"""``RunRecorder``: what ``TrackingCallback`` does with a run, without Keras.

It turns "a run started / an epoch ended / the run ended" into repository writes, with values
made plain (and bad ones skipped with a warning) on the caller's thread, timestamps taken when
things happen (not when they reach the database), and hands them to the process's outbox:
the caller never waits for the database and nothing is lost when it is away.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

from ..store import db
from ..store.models import RunStatus
from ..store.repository import Repository
from ..store.values import check_name, plain_hyperparameters, plain_metrics
from ..store.writes import utcnow
from . import records
from .journal import Op
from .outbox import Outbox
from .registry import outbox_for

ON_ERROR = ("warn", "raise")


class RunRecorder:
    """Record runs into the database at ``url`` through a durable journal.

    ``on_error="warn"`` (default): writes happen in the background, a database problem is one
    warning, and records wait in the journal (``journal_dir``, else ``$TRACKER_JOURNAL_DIR``,
    else the per-user default) until the database answers. ``on_error="raise"``: each call
    writes synchronously and raises.

    >>> recorder = RunRecorder("sqlite:///tracker.db")                        # doctest: +SKIP
    >>> key = recorder.start_run("mnist", hyperparameters={"units": 64})      # doctest: +SKIP
    >>> recorder.log_epoch(key, 0, {"loss": 0.7})                             # doctest: +SKIP
    >>> recorder.finish_run(key)                                              # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        journal_dir: str | os.PathLike | None = None,
        on_error: str = "warn",
    ) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
        self._url = db.resolve_url(url)
        self.journal_dir = journal_dir
        self.on_error = on_error
        self._repository: Repository | None = None

    def __repr__(self) -> str:
        return f"RunRecorder({db.mask_url(self._url)!r}, on_error={self.on_error!r})"

    @property
    def outbox(self) -> Outbox:
        """The process's outbox for this database and journal folder."""
        return outbox_for(self._url, self.journal_dir)

    @property
    def pending(self) -> int:
        """Records not yet in the database."""
        return 0 if self.on_error == "raise" else self.outbox.pending

    def check_schema(self, wait: float | None = None) -> None:
        """Raise ``SchemaError`` naming ``tracker db upgrade`` when the database is not
        migrated (an unreachable one is fine in ``warn`` mode: the journal keeps the records).
        In ``warn`` mode, ``wait`` bounds how long a database server is waited for (seconds;
        None: until the check ends)."""
        if self.on_error == "raise":
            self._direct().engine  # noqa: B018 - checks the schema, raises any error
        else:
            self.outbox.check_schema(wait)

    def start_run(
        self,
        experiment: str,
        *,
        hyperparameters: Mapping[str, Any] | None = None,
        name: str | None = None,
        source: str | None = None,
        **fields: Any,
    ) -> str:
        """Record a new running run; returns its key. ``fields`` go to
        ``Repository.start_run`` (trial_id, execution, worker, objective...)."""
        key = str(uuid.uuid4())
        kwargs = {
            "hyperparameters": plain_hyperparameters(hyperparameters or {}, stacklevel=3),
            "key": key,
            "name": name,
            "source": source,
            "started_at": utcnow(),
            **fields,
        }
        self._send(Op("start_run", (experiment,), kwargs))
        if self.on_error != "raise":
            self.outbox.open_run(key)
        return key

    def log_epoch(self, key: str, epoch: int, metrics: Mapping[str, Any]) -> list[str]:
        """Record one epoch's metrics; returns the names skipped (each with a warning)."""
        plain, skipped = plain_metrics(metrics, epoch, stacklevel=3)
        self._send(Op("log_epoch", (key, int(epoch), plain), {"at": utcnow()}))
        return skipped

    def finish_run(
        self, key: str, status: str = RunStatus.COMPLETED.value, *, error: str | None = None
    ) -> None:
        """Record how the run ended."""
        kwargs = {"error": clean_text(error), "ended_at": utcnow()}
        try:
            self._send(Op("finish_run", (key, status), kwargs))
        finally:
            if self.on_error != "raise":
                self.outbox.close_run(key)

    def record_pruning(self, key: str, epoch: int, threshold: float) -> None:
        """Record that a pruner stopped the run after ``epoch`` (``threshold``: the value its
        best missed); the run then ends with status ``pruned``."""
        self._send(Op("record_pruning", (key, int(epoch), float(threshold))))

    def flush(self, timeout: float | None = None, *, retry_now: bool = True) -> bool:
        """Wait (at most ``timeout`` seconds) until the database has every record; True when
        nothing is pending. See ``Outbox.flush``."""
        if self.on_error == "raise":
            return True
        return self.outbox.flush(timeout, retry_now=retry_now)

    def _send(self, op: Op) -> None:
        if self.on_error == "raise":
            records.apply(self._direct(), op)
        else:
            self.outbox.submit(op)

    def _direct(self) -> Repository:
        if self._repository is None:
            self._repository = Repository(self._url)
        return self._repository


def check_label(value: str | None, what: str) -> str | None:
    """A run or experiment label as stored, or ``ValueError`` now (before training starts)
    rather than a record the database would refuse later."""
    if value is None:
        return None
    try:
        return check_name(value, what)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def clean_text(text: str | None) -> str | None:
    """Free text (an error message) that every backend accepts: no NUL, valid UTF-8."""
    if text is None:
        return None
    text = str(text).replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
