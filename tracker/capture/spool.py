"""The outbox's disk side: its journal file and its dead-letter file, and what happens when
the disk fails.

When an append fails (disk full, I/O error, a folder made read-only) the record is still
queued in memory by the outbox, and journaling stops: the file keeps what it holds until
those records are in the database (then it shrinks away as usual). Nothing here raises into
the outbox; problems are said through ``say``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from . import journal
from .deadletter import dead_letter_path, set_aside
from .journal import JournalWriter, Op, op_record

log = logging.getLogger("tracker")


class Spool:
    """The journal (opened on first use) and dead letters of one outbox."""

    def __init__(self, directory: Path, url: str, say: Callable[[str], None]) -> None:
        self.directory = directory
        self.url = url  # password masked
        self._say = say
        self.writer: JournalWriter | None = None
        self.broken = False  # no more appends (the writer, if any, keeps what it holds)
        self._dead: Path | None = None

    @property
    def path(self) -> Path | None:
        return self.writer.path if self.writer is not None else None

    def _open(self) -> None:
        if self.writer is None and not self.broken:
            try:
                self.writer = JournalWriter(self.directory, self.url)
            except OSError as exc:
                self.broken = True
                self._say(
                    f"cannot keep tracking records on disk in {self.directory}: {exc}; they are "
                    "kept in memory until the database takes them (set TRACKER_JOURNAL_DIR)"
                )
                return
            self._tidy()

    def append(self, op: Op) -> bool:
        """Journal ``op`` (into the OS cache: it survives the process; ``sync`` forces it to
        the disk); False when it is in memory only (said once)."""
        self._open()
        if self.writer is None or self.broken:
            return False
        try:
            self.writer.append(op)
        except (TypeError, ValueError) as exc:  # not plain data: a caller's mistake
            self._say(f"tracking record {op.method} kept in memory only (not journaled): {exc}")
            return False
        except OSError as exc:  # disk full, I/O error, read-only...
            self.failed(exc)
            return False
        return True

    def note(self, ops: list[Op]) -> None:
        """Keep runs' start records as context (see ``journal``), best effort."""
        if self.writer is None or self.broken:
            return
        try:
            for op in ops:
                self.writer.note(op)
        except OSError as exc:
            self.failed(exc)

    def mark_done(self) -> None:
        """One more journaled record is in the database."""
        if self.writer is None:
            return
        try:
            self.writer.mark_done()
        except OSError as exc:  # the mark is lost: a later sync writes the record again
            if not self.broken:
                self.failed(exc)

    def sync(self) -> None:
        """Force what the journal holds to the disk (from the background writer)."""
        writer = self.writer
        if writer is not None and not self.broken:
            try:
                writer.sync()
            except OSError as exc:  # closed at exit meanwhile, or the disk failed
                log.debug("tracking journal not forced to disk: %s", exc)

    def failed(self, exc: OSError) -> None:
        """Stop journaling; the file keeps what it holds (written again by a later sync if the
        process ends first: harmless), the queue goes on in memory."""
        self.broken = True
        self._say(
            f"tracking journal {self.path} cannot be written ({exc}): new records are kept in "
            "memory until the database takes them"
        )

    def set_aside(self, op: Op, reason: str) -> str:
        """Write ``op`` to the dead-letter file; returns where it went, for the warning."""
        self._open()
        if self._dead is None and self.path is not None:
            self._dead = dead_letter_path(self.path)
        path = self._own_dead_letters()
        try:
            set_aside(path, op, reason)
        except (OSError, TypeError, ValueError) as exc:
            log.error("tracking record not set aside (%s): %s", exc, str(op_record(op))[:2000])
            return "the log (the dead-letter file could not be written)"
        return str(path)

    def close(self) -> tuple[bool, Path | None]:
        """Release the journal: (kept because records remain, its path)."""
        writer, self.writer = self.writer, None
        if writer is None:
            return False, None
        try:
            return writer.close(), writer.path
        except OSError:
            return True, writer.path

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.abandon()
        self.writer = None

    def _own_dead_letters(self) -> Path:
        if self._dead is not None:
            return self._dead
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())
        name = f"{stamp}-{host[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}.journal"
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._dead = dead_letter_path(self.directory / name)
        return self._dead

    def _tidy(self) -> None:
        """Once per process: clear the empty journals ended processes left, and say when
        earlier records for this database still wait for ``tracker sync``."""
        try:
            waiting = journal.tidy(self.directory, self.url)
        except OSError as exc:
            log.debug("journal folder not tidied: %s", exc)
            return
        if waiting:
            self._say(
                f"{waiting} tracking record(s) of earlier processes for {self.url} "
                f"wait in {self.directory}: run `tracker sync` to write them"
            )
