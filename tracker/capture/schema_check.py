"""The schema check an outbox runs when ``fit`` starts, in the background: the training
thread waits for it only briefly, so that a database that accepts connections and never
answers costs a ``fit`` a fraction of a second instead of the connect timeout.

The wait is measured from the moment the check starts dialing the server: the local work
before it (importing the driver, building the engine) is not the server's fault and may be
slow on a busy machine. Once the server has answered the connection, the check is waited for
to its end (one query), so that a slow but healthy server still stops a ``fit`` into a
database that was never migrated.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.engine import URL

from ..errors import SchemaError
from ..store import db
from ..store.repository import Repository

log = logging.getLogger("tracker")

LOCAL_CAP_S = 3.0  # at most this long for the local work before dialing
ANSWERED_CAP_S = 5.0  # and for the query once the server has answered


class SchemaCheck:
    """Checks ``repository``'s schema revision in a thread of its own, at most one at a time."""

    def __init__(self, repository: Repository, url: URL, patience: db.Patience) -> None:
        self._repository = repository
        self._url, self._patience = url, patience
        self._lock = threading.Lock()
        self._running: threading.Event | None = None
        self._error: SchemaError | None = None
        self._dialed: float | None = None  # when the running check started to connect
        self._answered: float | None = None  # when the server answered it
        self.ok = False

    def wait(self, seconds: float | None) -> bool:
        """Start a check (unless one runs or one passed) and wait for it, at most ``seconds``
        of the server not answering (None: until it ends). True when it finished in time
        (``SchemaError`` when the database is not migrated; an unreachable one is not an error
        here), False when it did not."""
        with self._lock:
            if self.ok:
                return True
            done = self._running
            if done is None:
                done = self._running = threading.Event()
                self._dialed = self._answered = None
                threading.Thread(target=self._check, args=(done,), daemon=True,
                                 name="sweep-tracker-schema-check").start()
        if seconds is None:
            done.wait()
        elif not self._wait(done, seconds):
            return False
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error
        return True

    def _wait(self, done: threading.Event, seconds: float) -> bool:
        started = time.monotonic()
        while not done.wait(0.01):
            now, dialed, answered = time.monotonic(), self._dialed, self._answered
            if answered is not None:
                if now - answered > ANSWERED_CAP_S:
                    return False
            elif dialed is not None:
                if now - dialed >= seconds:
                    return False
            elif now - started > LOCAL_CAP_S:
                return False
        return True

    def _check(self, done: threading.Event) -> None:
        error, ok = None, False
        try:
            if self._url.get_backend_name() != "sqlite":  # a server: see the module docstring
                engine = db.get_engine(self._url, self._patience)  # local work: the driver...
                self._dialed = time.monotonic()
                with engine.connect():
                    self._answered = time.monotonic()
            self._repository.engine  # noqa: B018 - checks the schema on first use
            ok = True
        except SchemaError as exc:
            error = exc
        except Exception as exc:
            log.debug("schema not checked (database unreachable): %s", db.mask_text(str(exc)))
        with self._lock:
            self._error, self._running, self.ok = error, None, ok
        done.set()
