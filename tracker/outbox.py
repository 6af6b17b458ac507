"""Ordered delivery of tracking writes that never raises into training.

Each write is an ``Op``: a ``Repository`` method name and its arguments, plain data only, so
that an op can be kept and replayed (every repository write is idempotent). When the database
fails, the op stays queued, one warning says so, and delivery is tried again after a growing
pause (so an unreachable server does not slow every epoch); the queue drains in order as soon
as the database answers.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .db import mask_text
from .errors import TrackingWarning

log = logging.getLogger("tracker")


@dataclass(frozen=True)
class Op:
    """One repository write: ``getattr(repository, method)(*args, **kwargs)``."""

    method: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


class Outbox:
    """Deliver ``Op``s in order through ``repository()``; keep what fails and retry later.

    ``raise_errors=True`` turns this into plain synchronous calls that raise.
    """

    def __init__(
        self,
        repository: Callable[[], Any],
        *,
        raise_errors: bool = False,
        first_pause: float = 1.0,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._raise = raise_errors
        self._pending: deque[Op] = deque()
        self._first_pause = first_pause
        self._max_pause = max_pause
        self._pause = first_pause
        self._next_try = 0.0
        self._clock = clock
        self._failing = False

    @property
    def pending(self) -> int:
        """How many writes wait for the database."""
        return len(self._pending)

    def submit(self, op: Op) -> None:
        """Queue ``op`` and deliver everything queued, unless we are pausing after a failure."""
        self._pending.append(op)
        self.flush()

    def flush(self, *, force: bool = False) -> bool:
        """Try to deliver the queue; True when it is empty afterwards."""
        if not self._pending:
            return True
        if self._failing and not force and self._clock() < self._next_try:
            return False
        while self._pending:
            op = self._pending[0]
            try:
                getattr(self._repository(), op.method)(*op.args, **op.kwargs)
            except Exception as exc:
                if self._raise:
                    self._pending.popleft()
                    raise
                self._on_failure(exc)
                return False
            self._pending.popleft()
        if self._failing:
            self._failing = False
            self._pause = self._first_pause
            log.warning("tracking database reachable again; all pending records written")
            warnings.warn(
                "tracking database reachable again; all pending records written",
                TrackingWarning,
                stacklevel=2,
            )
        return True

    def _on_failure(self, exc: Exception) -> None:
        if not self._failing:
            message = mask_text(
                f"tracking paused, training goes on: {exc}. {len(self._pending)} record(s) kept "
                "and written once the database answers"
            )
            log.warning(message)
            warnings.warn(message, TrackingWarning, stacklevel=4)
        self._failing = True
        self._next_try = self._clock() + self._pause
        self._pause = min(self._pause * 2, self._max_pause)
