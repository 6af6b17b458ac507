"""Ordered, durable delivery of tracking writes that never blocks or breaks training.

One ``Outbox`` per process and database. ``submit(op)`` appends the op to the process's
journal file (see ``journal``) and returns at once; a background thread writes the ops
to the database in order, fail-fast, and marks them done in the journal. When the database
fails (down, locked, unreachable), the ops stay queued and on disk, one warning says so, and
the thread tries again after growing pauses; everything is written, in order, once the database
answers. Every repository write is idempotent, so a record written twice changes nothing.

The same thread sends each open run's heartbeat every ``$TRACKER_HEARTBEAT_INTERVAL`` seconds
(default 30), so that a run whose process died shows as ``stale``. It is created lazily and
belongs to the process: callbacks hold only configuration and look their outbox up.

At exit, whatever the database did not take stays in the journal, and a log message names the
file and ``tracker sync``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import warnings
from collections import deque
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from ..errors import SchemaError, TrackingWarning
from ..store import db
from ..store.repository import Repository
from ..store.stale import heartbeat_interval
from . import journal
from .journal import JournalWriter, Op

__all__ = ["Op", "Outbox", "outbox_for"]

log = logging.getLogger("tracker")

FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 15.0
EXIT_TIMEOUT_S = 5.0


class Outbox:
    """Delivers ``Op``s to the database at ``url`` in order, through the journal in
    ``directory``; see the module docstring. Use ``outbox_for`` to get the process's one."""

    def __init__(self, url: URL, directory: Path) -> None:
        self._url = url
        self.directory = directory
        self.repository = Repository(url, fail_fast=True)
        self._cond = threading.Condition()
        # (op, journaled): the ops not yet in the database, oldest first; ``journaled`` says
        # whether it is in the journal file (whose pending records are exactly these, in order).
        self._queue: deque[tuple[Op, bool]] = deque()
        self._journal: JournalWriter | None = None
        self._journal_broken = False
        self._failing = False
        self._failures = 0
        self._pause = FIRST_PAUSE_S
        self._next_try = 0.0
        self._warning: str | None = None  # to show in the caller's thread
        self._runs: set[str] = set()
        self._interval = heartbeat_interval()
        self._next_beat = 0.0
        self._writer_running = False
        self._closed = False

    def __repr__(self) -> str:
        return f"Outbox({db.mask_url(self._url)!r}, pending={self.pending})"

    # -- the training side: never waits for the database ----------------------------------------

    @property
    def pending(self) -> int:
        """Records not yet in the database."""
        return len(self._queue)

    @property
    def failing(self) -> bool:
        """The last attempt to write failed (the records wait in the journal)."""
        return self._failing

    @property
    def journal_path(self) -> Path | None:
        """The journal file of this process for this database, while it exists."""
        return self._journal.path if self._journal else None

    def submit(self, op: Op) -> None:
        """Queue ``op`` (on disk first) for the background writer; returns at once."""
        with self._cond:
            self._queue.append((op, self._journal_append(op)))
            self._ensure_writer()
            self._cond.notify_all()
        self._show_warning()

    def flush(self, timeout: float | None = None, *, retry_now: bool = True) -> bool:
        """Wait until every queued record is in the database; True when nothing is pending.

        While the database is failing, ``retry_now`` makes one immediate attempt (instead of
        waiting for the next scheduled one) and returns when it fails; without it, return at
        once. ``timeout`` bounds the wait (seconds).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._closed:  # the writer is gone (process exit): nothing more will be written
                return not self._queue
            if self._queue and self._failing:
                if not retry_now:
                    return False
                self._next_try = 0.0
            failures = self._failures
            self._ensure_writer()
            self._cond.notify_all()
            while self._queue and self._failures == failures:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            drained = not self._queue
        self._show_warning()
        return drained

    def check_schema(self) -> None:
        """Raise ``SchemaError`` (naming ``tracker db upgrade``) when the database is not at
        this code's revision; an unreachable database is not an error here."""
        try:
            self.repository.engine  # noqa: B018 - checks the schema on first use
        except SchemaError:
            raise
        except Exception as exc:
            log.debug("schema not checked (database unreachable): %s", db.mask_text(str(exc)))

    def open_run(self, key: str) -> None:
        """Send heartbeats for run ``key`` until ``close_run``."""
        with self._cond:
            self._runs.add(key)
            self._ensure_writer()

    def close_run(self, key: str) -> None:
        with self._cond:
            self._runs.discard(key)

    # -- the background writer ----------------------------------------------------------------

    def _ensure_writer(self) -> None:
        # Called holding the condition. The writer runs while there is work (records or open
        # runs) and ends when idle; the flag, not Thread.is_alive, says whether it still takes
        # work, so a thread that decided to end is never counted on.
        if not self._writer_running and not self._closed:
            self._writer_running = True
            threading.Thread(target=self._run, name="sweep-tracker-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._next_job()
                if job is None:
                    self._writer_running = False
                    return
            try:
                if job == "deliver":
                    self._deliver_head()
                else:
                    self._send_heartbeats()
            except Exception:  # a bug of ours: log it, never kill the writer
                log.exception("sweep-tracker writer")
                time.sleep(1.0)

    def _next_job(self) -> str | None:
        """Wait (holding the condition) until there is something to do; None: stop."""
        while True:
            if self._closed or (not self._queue and not self._runs):
                return None
            now = time.monotonic()
            if self._queue and (not self._failing or now >= self._next_try):
                return "deliver"
            if self._runs and not self._failing and now >= self._next_beat:
                return "beat"
            waits = [self._interval]
            if self._queue and self._failing:
                waits.append(self._next_try - now)
            if self._runs and not self._failing:
                waits.append(self._next_beat - now)
            self._cond.wait(max(min(waits), 0.01))

    def _deliver_head(self) -> None:
        op, journaled = self._queue[0]
        try:
            getattr(self.repository, op.method)(*op.args, **op.kwargs)
        except Exception as exc:
            with self._cond:
                self._on_failure(exc)
                self._cond.notify_all()
            return
        with self._cond:
            self._queue.popleft()
            if journaled and self._journal is not None:
                self._mark_done()
            if self._failing:
                self._failing = False
                self._pause = FIRST_PAUSE_S
                if not self._queue:
                    log.info("tracking database %s answers again: every record written", self)
            self._cond.notify_all()

    def _on_failure(self, exc: Exception) -> None:
        self._failures += 1
        if not self._failing:
            self._failing = True
            where = f" in {self._journal.path}" if self._journal else " in memory"
            message = db.mask_text(
                f"tracking paused, training goes on: {exc}. {len(self._queue)} record(s) kept"
                f"{where} and written once the database answers",
                self._url,
            )
            self._say(message)
            if self._journal is not None:
                self._sync_journal()
        self._next_try = time.monotonic() + self._pause
        self._pause = min(self._pause * 2, MAX_PAUSE_S)

    def _send_heartbeats(self) -> None:
        with self._cond:
            keys = list(self._runs)
            self._next_beat = time.monotonic() + self._interval
        for key in keys:
            try:
                self.repository.heartbeat(key)
            except Exception as exc:  # the next write will tell; a heartbeat is not a record
                log.debug("heartbeat of run %s not sent: %s", key, db.mask_text(str(exc)))

    def _show_warning(self) -> None:
        # Shown from the caller's thread (the training loop), where users and tests look.
        with self._cond:
            message, self._warning = self._warning, None
        if message:
            warnings.warn(message, TrackingWarning, stacklevel=4)

    # -- the journal --------------------------------------------------------------------------

    def _journal_append(self, op: Op) -> bool:
        """Append ``op`` to the journal (opened on first use); False when it is only in
        memory (the journal cannot be written: said once, and training goes on)."""
        if self._journal is None and not self._journal_broken:
            try:
                self._journal = JournalWriter(self.directory, db.mask_url(self._url))
                self._tidy()
            except OSError as exc:
                self._journal_broken = True
                self._say(
                    f"cannot keep tracking records on disk in {self.directory}: {exc}; they are "
                    "kept in memory until the database takes them (set TRACKER_JOURNAL_DIR)"
                )
        if self._journal is None:
            return False
        try:
            self._journal.append(op, durable=self._failing)
        except (TypeError, ValueError) as exc:  # not plain data: a caller's mistake
            self._say(f"tracking record {op.method} kept in memory only (not journaled): {exc}")
            return False
        except OSError as exc:  # disk full...
            self._journal_broken_now(exc)
            return False
        return True

    def _tidy(self) -> None:
        """Once per process: clear the empty journals ended processes left, and say when
        earlier records for this database still wait for ``tracker sync``."""
        try:
            waiting = journal.tidy(self.directory, db.mask_url(self._url))
        except OSError as exc:
            log.debug("journal folder not tidied: %s", exc)
            return
        if waiting:
            self._say(
                f"{waiting} tracking record(s) of earlier processes for {db.mask_url(self._url)} "
                f"wait in {self.directory}: run `tracker sync` to write them"
            )

    def _mark_done(self) -> None:
        try:
            self._journal.mark_done()
        except OSError as exc:
            self._journal_broken_now(exc)

    def _sync_journal(self) -> None:
        try:
            self._journal.sync()
        except OSError as exc:
            self._journal_broken_now(exc)

    def _journal_broken_now(self, exc: OSError) -> None:
        """Stop journaling: the file keeps what it holds (``tracker sync`` may write it again,
        harmlessly), the queue goes on in memory."""
        self._say(f"tracking journal {self._journal.path} failed ({exc}): records kept in memory")
        try:
            self._journal.close()
        except OSError:
            pass
        self._journal = None
        self._journal_broken = True
        self._queue = deque((op, False) for op, _ in self._queue)

    def _say(self, message: str) -> None:
        """Said once: as a ``TrackingWarning`` in the training thread, and in the log only
        where the application set logging up (else Python's last-resort handler would print
        the same line a second time)."""
        if log.hasHandlers():
            log.warning(message)
        self._warning = message

    # -- exit ---------------------------------------------------------------------------------

    def close(self, timeout: float = EXIT_TIMEOUT_S) -> None:
        """Give the database ``timeout`` seconds to take what is queued, stop the writer, and
        leave what is left in the journal (named in a log message) for ``tracker sync``."""
        if self._closed:
            return
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            pending = len(self._queue)
            kept = self._journal.close() if self._journal is not None else False
            path = self._journal.path if self._journal is not None else None
            self._journal = None
        if pending and kept:
            log.warning(
                "%d tracking record(s) could not be written to %s and wait in %s: run "
                "`tracker sync` once the database answers",
                pending,
                db.mask_url(self._url),
                path,
            )
        elif pending:
            log.error("%d tracking record(s) for %s are lost: the journal could not be "
                      "written", pending, db.mask_url(self._url))

    def _abandon(self) -> None:
        """In a forked child: this outbox belongs to the parent."""
        if self._journal is not None:
            self._journal.abandon()
        self._journal = None
        self._closed = True


# -- one outbox per process and database --------------------------------------------------------

_outboxes: dict[tuple[str, str, int], Outbox] = {}
_registry_lock = threading.Lock()


def outbox_for(url: str | URL, journal_dir: str | os.PathLike | None = None) -> Outbox:
    """The outbox of this process for the database ``url`` and journal folder (argument, else
    ``$TRACKER_JOURNAL_DIR``, else the per-user default)."""
    resolved = _absolute(db.resolve_url(url))
    directory = journal.journal_dir(journal_dir)
    key = (resolved.render_as_string(hide_password=False), str(directory), os.getpid())
    with _registry_lock:
        outbox = _outboxes.get(key)
        if outbox is None:
            outbox = _outboxes[key] = Outbox(resolved, directory)
    return outbox


def _absolute(url: URL) -> URL:
    """SQLite paths made absolute, so that the journal names the file whatever the folder
    ``tracker sync`` runs in."""
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not database.startswith("file:") and not os.path.isabs(database):
            return make_url(url).set(database=os.path.abspath(database))
    return url


@atexit.register
def _close_all() -> None:
    for (_, _, pid), outbox in list(_outboxes.items()):
        if pid == os.getpid():
            try:
                outbox.close()
            except Exception as exc:  # never fail the interpreter's exit
                log.error("tracking journal not closed: %s", db.mask_text(str(exc)))


def _after_fork_in_child() -> None:
    for outbox in _outboxes.values():
        outbox._abandon()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
