"""``tracker sync``: write what ended processes left in the journal.

A journal file is taken over only when its process has ended (its lock is free). Its pending
records are replayed in order through ``Repository`` (every write is idempotent: a record
already in the database changes nothing), progress is marked in the file as it goes, and the
file is removed once everything is in. Running it again finds nothing to do.

* Only into the database the user names (``--url``, else ``$TRACKER_DATABASE_URL``, else the
  default ``sqlite:///tracker.db``): a journal for another database is left alone, with a
  message naming it. Journals never hold passwords, so the named URL supplies it.
* Only the user's own private journals (see ``private``); a foreign, unsafe or unreadable one
  is skipped with a message, never a crash.
* Only checked records (see ``records``). A record the database refuses for good is set aside
  in a dead-letter file next to the journal (``deadletter``) and the others go on; a run the
  database lost (re-created under the sweep) is recreated from its start record in the
  journal; a record whose run is gone with no start record to be found is set aside too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from ..errors import NotFoundError
from ..store import db
from ..store.repository import Repository
from . import deadletter, journal, records
from .private import UnsafeJournal, check_private
from .refusals import refusal
from .registry import absolute_url

MARK_EVERY = 50  # progress marks in the file: every this many records, and at the end
BUSY = "in use by a running process (it writes its own journal)"


@dataclass(frozen=True)
class SyncResult:
    """What ``sync`` did with one journal file. ``problem`` says why records remain."""

    path: Path
    database: str | None  # password masked
    pending: int  # records waiting before
    written: int
    damaged: int = 0  # torn or corrupt lines, ignored
    problem: str | None = None
    dry_run: bool = False
    set_aside: int = 0  # records refused for good, moved to ``dead_letters``
    dead_letters: Path | None = None
    recreated: int = 0  # runs the database had lost, recreated from their start record
    skipped: bool = False  # not ours to write (another database, a foreign or unsafe file)
    first_refusal: str | None = None  # why the first record set aside was refused
    deleted: int = 0  # runs of its records that are soft-deleted in the database (stay so)

    @property
    def left(self) -> int:
        return self.pending - self.written - self.set_aside

    @property
    def stuck(self) -> bool:
        """Records remain that this sync should have written."""
        return self.problem is not None and self.problem != BUSY and not self.skipped


def sync(
    url: str | URL | None = None,
    journal_dir: str | os.PathLike | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[SyncResult]:
    """Write the journals of ``journal_dir`` (argument, else ``$TRACKER_JOURNAL_DIR``, else
    the per-user default) whose process has ended and whose database is ``url`` (else
    ``$TRACKER_DATABASE_URL``, else ``sqlite:///tracker.db``). ``UnsafeJournal`` when the
    folder is not the user's own and private.

    >>> [r.written for r in sync("postgresql://me:secret@db/sweeps")]   # doctest: +SKIP
    [31]
    """
    target = absolute_url(db.resolve_url(url))
    directory = journal.journal_dir(journal_dir)
    if directory.is_dir():
        check_private(directory, "journal folder")
    results = []
    for path in journal.journal_files(directory):
        try:
            claimed = journal.claim(path)
        except OSError as exc:  # UnsafeJournal too: someone else's, writable by others...
            problem = str(exc) if isinstance(exc, UnsafeJournal) else f"cannot read it: {exc}"
            result = SyncResult(path, None, 0, 0, problem=f"skipped: {problem}", skipped=True)
        else:
            if claimed is None:
                if not path.exists():
                    continue
                result = SyncResult(path, None, 0, 0, problem=BUSY)
            else:
                try:
                    result = _replay(claimed, target, dry_run)
                finally:
                    claimed.release()
        results.append(result)
        if progress is not None:
            progress(describe(result))
    return results


def describe(result: SyncResult) -> str:
    """One line about a journal file's sync, for people."""
    where = result.database or "an unknown database"
    if result.problem == BUSY or (result.skipped and result.database is None):
        return f"{result.path.name}: {result.problem}"
    if result.skipped:
        return f"{result.path.name}: {result.pending} record(s) left as they are: {result.problem}"
    if result.dry_run:
        text = f"{result.path.name}: {result.pending} record(s) wait for {where}"
    else:
        text = f"{result.path.name}: {result.written} record(s) written to {where}"
    if result.damaged:
        text += f" ({result.damaged} damaged line(s) ignored)"
    if result.recreated:
        text += (f"; {result.recreated} run(s) the database had lost recreated from their "
                 "start record")
    if result.set_aside:
        text += (f"; {result.set_aside} record(s) refused for good, set aside in "
                 f"{result.dead_letters} (the first: {result.first_refusal})")
    if result.deleted:
        text += (f"; {result.deleted} of its run(s) are deleted in the database and stay "
                 "deleted (`tracker runs --deleted`; `tracker restore` brings them back)")
    if result.problem:
        text += f"; {result.left} left: {result.problem}"
    return text


def _replay(claimed: journal.ClaimedJournal, target: URL, dry_run: bool) -> SyncResult:
    contents = claimed.contents
    pending = contents.pending
    dead = deadletter.dead_letter_path(claimed.path)
    counts = {"written": 0, "set_aside": 0, "recreated": 0}
    refusals: list[str] = []

    def result(problem: str | None = None, skipped: bool = False,
               deleted: int = 0) -> SyncResult:
        return SyncResult(
            claimed.path, contents.url, len(pending), counts["written"], contents.damaged,
            problem, dry_run, counts["set_aside"], dead if counts["set_aside"] else None,
            counts["recreated"], skipped, refusals[0] if refusals else None, deleted,
        )

    if contents.url is None:
        return result("the journal's header is damaged: the database is unknown")
    named = db.mask_url(target)
    if contents.url != named:
        hint = " (journals never store passwords: it comes with the URL)" if (
            ":***@" in contents.url) else ""
        return result(
            f"they are for {contents.url}, not {named}: run `tracker sync --url` with that "
            f"database's URL to write them{hint}",
            skipped=True,
        )
    if dry_run:
        return result()
    repository = Repository(target)
    starts = _start_records(contents)
    handled = marked = 0
    try:
        for op in pending:
            try:
                counts["recreated"] += _write(repository, op, starts)
                counts["written"] += 1
            except Exception as exc:
                reason = refusal(exc)
                if reason is None:
                    raise
                reason = db.mask_text(reason, target)
                deadletter.set_aside(dead, op, reason)
                counts["set_aside"] += 1
                refusals.append(reason)
            handled += 1
            if handled - marked >= MARK_EVERY:
                claimed.mark_done(handled - marked)
                marked = handled
    except Exception as exc:
        if handled > marked:
            claimed.mark_done(handled - marked)
        return result(db.mask_text(f"{type(exc).__name__}: {exc}", target))
    claimed.remove()
    # A run deleted while (or after) its process trained stays deleted: its records are
    # written, hidden with it. Say so, rather than let the user look for them.
    keys = {key for key in map(records.run_key, pending) if isinstance(key, str)}
    return result(deleted=len(repository.deleted_keys(keys)))


def _start_records(contents: journal.JournalContents) -> dict[str, journal.Op]:
    """Each run's start record in the journal (records and context), by run key."""
    starts: dict[str, journal.Op] = {}
    for op in [*contents.ops, *contents.context]:
        if op.method == "start_run":
            try:
                records.check(op)
            except records.BadRecord:
                continue
            starts.setdefault(op.kwargs["key"], op)
    return starts


def _write(repository: Repository, op: journal.Op, starts: dict[str, journal.Op]) -> int:
    """Write ``op``; 1 when its run had to be recreated first (the database lost it)."""
    try:
        records.apply(repository, op)
        return 0
    except NotFoundError:
        start = starts.get(records.run_key(op))
        if start is None or start is op:
            raise
        records.apply(repository, start)
        records.apply(repository, op)
        return 1
