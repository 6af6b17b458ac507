"""Per-batch metrics (``TrackingCallback(log_every_n_batches=N)``): the training loop only
appends to a buffer; a background thread writes the buffer in bulk
(``Repository.bulk_log_batches``).

* The training loop pays a ``deque.append`` (a few microseconds, see benchmarks/RESULTS.md).
* The writer wakes every ``interval`` seconds, or sooner when a chunk's worth is waiting, and
  writes everything buffered in one bulk call.
* Memory is bounded by ``max_pending`` batches. When the buffer is full because the database is
  slower than training, the loop waits for the writer (nothing is lost); when it is full because
  the database does not answer, new points are dropped and counted, with one warning: training
  never stalls on tracking, and epochs (written separately) are never dropped.
* ``close()`` writes what is left; the callback calls it when training ends or fails.

The thread is started by the first ``add``: nothing here exists until training runs, so the
callback holding a recorder stays deep-copyable.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import deque
from collections.abc import Mapping
from typing import Any

from ..errors import TrackingWarning
from ..store.db import mask_text

log = logging.getLogger("tracker")

MAX_PENDING = 100_000  # batches; ~40 MB of Python objects at 4 metrics a batch
FLUSH_INTERVAL = 0.5  # seconds
WAKE_AT = 5_000  # batches pending that wake the writer before its interval ends
FULL_WAIT = 5.0  # seconds the loop waits for a healthy writer when the buffer is full


class BatchRecorder:
    """Buffers ``(step, epoch, logs)`` of one run and writes them from a background thread.

    >>> recorder = BatchRecorder("sqlite:///tracker.db", run_key)   # doctest: +SKIP
    >>> recorder.add(0, 0, {"loss": 2.3})                            # doctest: +SKIP
    >>> recorder.close()                                             # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        max_pending: int = MAX_PENDING,
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self.url = url
        self.key = key
        self.max_pending = max_pending
        self.interval = interval
        self.written = 0
        self.dropped = 0
        self._pending: deque[tuple[int, int, Mapping[str, Any]]] = deque()
        self._retry: list[tuple] = []  # rows a failed write must try again, oldest first
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._drained = threading.Event()
        self._closing = False
        self._failing = False
        self._repository = None

    @property
    def pending(self) -> int:
        """Batches buffered and not yet handed to the writer."""
        return len(self._pending)

    def add(self, step: int, epoch: int, logs: Mapping[str, Any]) -> None:
        """Buffer one batch's metrics (called from the training loop: keep it cheap)."""
        pending = self._pending
        if len(pending) >= self.max_pending and not self._make_room():
            self.dropped += 1
            return
        pending.append((step, epoch, dict(logs)))
        if self._thread is None:
            self._start()
        elif len(pending) == WAKE_AT:
            self._wake.set()

    def close(self, timeout: float = 60.0) -> None:
        """Write everything buffered and stop the writer; warns when points could not be
        written (the database did not answer) or were dropped (buffer full)."""
        self._closing = True
        thread = self._thread
        if thread is not None:
            self._wake.set()
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            self._write_pending()  # whatever arrived after the thread's last pass
        unwritten = len(self._retry) + sum(len(logs) for _, _, logs in self._pending)
        if unwritten or self.dropped:
            message = (
                f"per-batch metrics of run {self.key} incomplete: {unwritten} point(s) not "
                f"written and {self.dropped} batch(es) dropped because the tracking database "
                "did not answer (epoch metrics are not affected)"
            )
            log.warning(message)
            warnings.warn(message, TrackingWarning, stacklevel=2)

    # -- internals --------------------------------------------------------------------------

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"tracker-batches-{self.key[:8]}", daemon=True
        )
        self._thread.start()

    def _make_room(self) -> bool:
        """The buffer is full: wait for a healthy writer to drain it (True), or give up."""
        if self._failing or self._thread is None:
            return False
        self._drained.clear()
        self._wake.set()
        self._drained.wait(FULL_WAIT)
        return len(self._pending) < self.max_pending

    def _run(self) -> None:
        pause = self.interval
        while True:
            self._wake.wait(pause)
            self._wake.clear()
            closing = self._closing
            ok = self._write_pending()
            self._drained.set()
            if closing:
                return
            pause = self.interval if ok else min(max(pause * 2, 1.0), 30.0)

    def _write_pending(self) -> bool:
        """Write the rows of a failed pass first, then everything buffered; False on failure
        (the rows are kept; while the database fails the buffer fills up to ``max_pending``)."""
        if self._retry:
            if not self._write(self._retry):
                return False
            self._retry = []
        pending = self._pending
        rows = []
        for _ in range(len(pending)):
            step, epoch, logs = pending.popleft()
            for name, value in logs.items():
                rows.append((self.key, step, epoch, name, value))
        if rows and not self._write(rows):
            self._retry = rows
            return False
        return True

    def _write(self, rows: list[tuple]) -> bool:
        try:
            self.written += self._get_repository().bulk_log_batches(rows)
        except Exception as exc:
            if not self._failing:
                self._failing = True
                log.warning(mask_text(
                    f"per-batch metrics waiting, training goes on: {exc} "
                    f"({len(rows)} point(s) kept and retried)"
                ))
            return False
        self._failing = False
        return True

    def _get_repository(self):
        if self._repository is None:
            from ..store.repository import Repository

            self._repository = Repository(self.url)
        return self._repository
