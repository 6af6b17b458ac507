"""The schema check an outbox runs when ``fit`` starts, in the background: the training
thread waits for it only briefly, so that a database that accepts connections and never
answers costs a ``fit`` a fraction of a second instead of the connect timeout."""

from __future__ import annotations

import logging
import threading

from ..errors import SchemaError
from ..store import db
from ..store.repository import Repository

log = logging.getLogger("tracker")


class SchemaCheck:
    """Checks ``repository``'s schema revision in a thread of its own, at most one at a time."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository
        self._lock = threading.Lock()
        self._running: threading.Event | None = None
        self._error: SchemaError | None = None
        self.ok = False

    def wait(self, seconds: float | None) -> bool:
        """Start a check (unless one runs or one passed) and wait at most ``seconds`` (None:
        until it ends) for it:
        True when it finished in time (``SchemaError`` when the database is not migrated;
        an unreachable one is not an error here), False when it did not."""
        with self._lock:
            if self.ok:
                return True
            done = self._running
            if done is None:
                done = self._running = threading.Event()
                threading.Thread(target=self._check, args=(done,), daemon=True,
                                 name="sweep-tracker-schema-check").start()
        if not done.wait(seconds):
            return False
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error
        return True

    def _check(self, done: threading.Event) -> None:
        error, ok = None, False
        try:
            self._repository.engine  # noqa: B018 - checks the schema on first use
            ok = True
        except SchemaError as exc:
            error = exc
        except Exception as exc:
            log.debug("schema not checked (database unreachable): %s", db.mask_text(str(exc)))
        with self._lock:
            self._error, self._running, self.ok = error, None, ok
        done.set()
