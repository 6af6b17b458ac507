"""Ordered, durable delivery of tracking writes that never blocks or breaks training.

One ``Outbox`` per process and database (``registry.outbox_for``). ``submit(op)`` checks the
record (``records``), appends it to the process's journal (``spool``) and returns at once; a
background thread writes the records in order, fail-fast, and marks them done. When the
database fails, they stay queued and on disk, one warning says so, and the thread tries again
after growing pauses. Every write is idempotent and addresses its run by key: a run the
database lost (re-created under the sweep) is recreated from its start record, never written
into another run. A record refused for good is set aside (``deadletter``) and the others go
on; a failed journal append keeps the record queued in memory. The start of ``fit`` waits at
most ``SCHEMA_WAIT_S`` for a database server (``schema_check``), its end stops waiting for a
database that takes nothing. The thread also sends heartbeats. At exit, what is left stays
in the journal for ``tracker sync``."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import deque
from pathlib import Path

from sqlalchemy.engine import URL

from ..errors import NotFoundError, TrackingWarning
from ..store import db
from ..store.repository import Repository
from ..store.stale import heartbeat_interval
from . import records
from .journal import Op
from .refusals import refusal
from .schema_check import SchemaCheck
from .spool import Spool

__all__ = ["Op", "Outbox"]

log = logging.getLogger("tracker")


def _log_warning(message: str) -> None:
    # Only where logging is set up: else Python's last resort prints the TrackingWarning twice.
    if log.hasHandlers():
        log.warning(message)

FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 15.0
EXIT_TIMEOUT_S = 5.0
SCHEMA_WAIT_S = 0.2  # how long the start of ``fit`` waits for a server's schema check
# The end of a ``fit`` stops waiting when the database takes nothing for this long (or 20
# times its recent slowest write, at most STALL_MAX_S): a database that hangs is not waited for.
STALL_S = 0.25
STALL_MAX_S = 5.0


class Outbox:
    """Delivers ``Op``s to the database at ``url`` in order, through the journal in
    ``directory``; see the module docstring. ``registry.outbox_for`` finds the process's one."""

    def __init__(self, url: URL, directory: Path) -> None:
        self._url = url
        self.directory = directory
        self.repository = Repository(url, fail_fast=True)
        self._cond = threading.Condition()
        # (op, journaled): the ops not yet in the database, oldest first; ``journaled`` says
        # whether it is in the journal file (whose pending records are exactly these, in order).
        self._queue: deque[tuple[Op, bool]] = deque()
        self._spool = Spool(directory, db.mask_url(url), self._say)
        self._starts: dict[str, Op] = {}  # start records of runs not finished in the database
        self._refused: set[str] = set()  # runs whose start record was set aside
        self.set_aside = 0  # records set aside (dead letters) so far
        self._delivered = 0
        self._unsynced = False  # journal appends not forced to disk yet (while failing)
        self._slowest = 0.0  # seconds of the recent slowest write (decays)
        self._unanswered = False  # a wait for the database timed out; none succeeded since
        self._said_unanswered = False
        self._schema = SchemaCheck(self.repository, url, db.FAIL_FAST)
        self._failing = False
        self._failures = 0
        self._pause = FIRST_PAUSE_S
        self._next_try = 0.0
        self._warnings: list[str] = []  # to show in the caller's thread
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
    def answering(self) -> bool:
        """Neither failing nor known to hang: worth a short wait on the training thread."""
        return not (self._failing or self._unanswered)

    @property
    def journal_path(self) -> Path | None:
        """The journal file of this process for this database, while it exists."""
        return self._spool.path

    def submit(self, op: Op) -> None:
        """Check ``op``, queue it (on disk first) for the background writer; returns at once.
        A record that can never be written is set aside instead (with a warning)."""
        with self._cond:
            reason = self._refusal(op)
            if reason is not None:
                self._set_aside(op, reason)
            else:
                # Journaled first, queued after: a failed append replaces nothing.
                journaled = self._spool.append(op)
                self._queue.append((op, journaled))
                # While the database fails the journal is all there is: the writer forces it
                # to disk (fsync), never the training thread, which would wait for the disk.
                self._unsynced = self._unsynced or (journaled and self._failing)
                if op.method == "start_run":
                    self._starts[op.kwargs["key"]] = op
                self._ensure_writer()
                self._cond.notify_all()
        self._show_warning()

    def _refusal(self, op: Op) -> str | None:
        try:
            records.check(op)
        except records.BadRecord as exc:
            return str(exc)
        if records.run_key(op) in self._refused:
            return "the run's start record was set aside (see above)"
        return None

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
            if self._queue and not self.answering:
                if not retry_now:
                    return False
                self._next_try = 0.0
            failures = self._failures
            self._ensure_writer()
            self._cond.notify_all()
            seen, since = self._delivered, time.monotonic()
            stall = min(max(STALL_S, 20 * self._slowest), STALL_MAX_S)
            while self._queue and self._failures == failures:
                now = time.monotonic()
                if self._delivered != seen:
                    seen, since = self._delivered, now
                elif not retry_now and now - since >= stall:
                    self._unanswered = True  # hangs: later fits do not wait for it
                    log.info("tracking database %s took nothing for %.2f s: not waited for",
                             db.mask_url(self._url), stall)
                    break
                left = stall if deadline is None else min(deadline - now, stall)
                if left <= 0:
                    break
                self._cond.wait(left)
            drained = not self._queue
        self._show_warning()
        return drained

    def check_schema(self, wait: float | None = None) -> None:
        """Raise ``SchemaError`` (naming ``tracker db upgrade``) when the database is not at
        this code's revision. The check runs in the background; a server's is waited for at
        most ``wait`` seconds (not at all while it is known to fail or hang; None: until the
        check ends), a local SQLite file's to the end. An unreachable or unresponsive database
        is not an error here (said once)."""
        if wait is not None and self._url.get_backend_name() == "sqlite":
            wait = None  # a local file: the check is bounded by the busy timeout
        if self._schema.wait(wait if self.answering or wait is None else 0.0):
            return
        with self._cond:
            self._unanswered = True
            if not self._said_unanswered:
                self._said_unanswered = True
                self._say(
                    f"tracking database {db.mask_url(self._url)} did not answer within "
                    f"{wait:g} s: training goes on without waiting for it, and its records are "
                    "kept (journal) until it answers"
                )
        self._show_warning()

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
                elif job == "sync":
                    self._unsynced = False
                    self._spool.sync()
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
            if self._unsynced:
                return "sync"
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
        began = time.monotonic()
        try:
            self._write(op)
        except Exception as exc:
            reason = refusal(exc)
            with self._cond:
                if reason is None:
                    self._on_failure(exc)
                else:  # refused for good: set aside, and the others go on
                    self._done_with_head(journaled)
                    self._set_aside(op, reason)
                self._cond.notify_all()
            return
        with self._cond:
            self._done_with_head(journaled)
            self._delivered += 1
            self._slowest = max(time.monotonic() - began, self._slowest * 0.9)
            self._unanswered = self._said_unanswered = False
            if op.method == "finish_run":
                self._starts.pop(records.run_key(op), None)
            if self._failing:
                self._failing = False
                self._pause = FIRST_PAUSE_S
                if not self._queue:
                    log.info("tracking database %s answers again: every record written", self)
            self._cond.notify_all()

    def _write(self, op: Op) -> None:
        """Write ``op``; when the database lost its run (re-created under the sweep), recreate
        the run from its start record first. Never another run: writes go by key."""
        try:
            records.apply(self.repository, op)
        except NotFoundError:
            key = records.run_key(op)
            start = self._starts.get(key)
            if start is None or start is op:
                raise
            records.apply(self.repository, start)
            records.apply(self.repository, op)
            with self._cond:
                self._say(
                    f"run {key} was no longer in {db.mask_url(self._url)} (the database was "
                    "re-created or emptied under the sweep): recreated from its start record; "
                    "what it recorded before is not in this database"
                )

    def _done_with_head(self, journaled: bool) -> None:
        self._queue.popleft()
        if journaled:
            self._spool.mark_done()

    def _set_aside(self, op: Op, reason: str) -> None:
        """Called holding the condition: ``op`` goes to the dead letters, with a warning
        (once per run; the run's later records follow it there)."""
        key = records.run_key(op)
        where = self._spool.set_aside(op, db.mask_text(reason, self._url))
        self.set_aside += 1
        if op.method == "start_run" and key is not None:
            self._refused.add(key)
            self._starts.pop(key, None)
        elif key in self._refused:
            return
        self._say(db.mask_text(
            f"tracking record {records.describe(op)} refused for good ({reason}): set aside "
            f"in {where}; the other records go on", self._url))

    def _on_failure(self, exc: Exception) -> None:
        self._failures += 1
        self.repository.recheck_schema()  # the database may have been replaced meanwhile
        if not self._failing:
            self._failing = True
            on_disk = sum(1 for _, journaled in self._queue if journaled)
            places = [f"{on_disk} in {self._spool.path}"] if on_disk else []
            if len(self._queue) > on_disk:
                places.append(f"{len(self._queue) - on_disk} in memory")
            message = db.mask_text(
                f"tracking paused, training goes on: {exc}. {len(self._queue)} record(s) kept "
                f"({', '.join(places)}) and written once the database answers",
                self._url,
            )
            _log_warning(message)
            if not self._said_unanswered:  # else said already: "did not answer within..."
                self._warnings.append(message)
            self._unsynced = True
            queued = {records.run_key(op) for op, _ in self._queue}
            self._spool.note([start for key, start in self._starts.items() if key in queued])
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
            messages, self._warnings = self._warnings, []
        for message in messages:
            warnings.warn(message, TrackingWarning, stacklevel=4)

    def _say(self, message: str) -> None:
        _log_warning(message)
        self._warnings.append(message)

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
            on_disk = sum(1 for _, journaled in self._queue if journaled)
            lost = len(self._queue) - on_disk
            kept, path = self._spool.close()
        if on_disk and kept:
            log.warning(
                "%d tracking record(s) could not be written to %s and wait in %s: run "
                "`tracker sync` once the database answers",
                on_disk,
                db.mask_url(self._url),
                path,
            )
        if lost:
            log.error("%d tracking record(s) for %s are lost: the journal could not be "
                      "written", lost, db.mask_url(self._url))

    def _abandon(self) -> None:
        """In a forked child: this outbox belongs to the parent."""
        self._spool.abandon()
        self._closed = True
