"""``tracker sync``: write what ended processes left in the journal.

A journal file is taken over only when its process has ended (its lock is free). Its pending
records are replayed in order through ``Repository`` (every write is idempotent: a record
already in the database changes nothing), progress is marked in the file as it goes, and the
file is removed once everything is in. Running it again finds nothing to do.

Journals never hold passwords: a journal for ``postgresql://me:***@db/sweeps`` is written with
the URL given by ``--url`` or ``$TRACKER_DATABASE_URL`` when that URL names the same database.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..store import db
from ..store.repository import Repository
from . import journal

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
    deleted: int = 0  # runs of its records that are soft-deleted in the database (stay so)

    @property
    def left(self) -> int:
        return self.pending - self.written

    @property
    def stuck(self) -> bool:
        """Records remain that this sync should have written."""
        return self.problem is not None and self.problem != BUSY


def sync(
    url: str | URL | None = None,
    journal_dir: str | os.PathLike | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[SyncResult]:
    """Write every journal of ``journal_dir`` (argument, else ``$TRACKER_JOURNAL_DIR``, else
    the per-user default) whose process has ended. ``url`` (else ``$TRACKER_DATABASE_URL``)
    supplies the password of the database it names.

    >>> [r.written for r in sync("postgresql://me:secret@db/sweeps")]   # doctest: +SKIP
    [31]
    """
    given = _given_url(url)
    directory = journal.journal_dir(journal_dir)
    results = []
    for path in journal.journal_files(directory):
        claimed = journal.claim(path)
        if claimed is None:
            if not path.exists():
                continue
            result = SyncResult(path, None, 0, 0, problem=BUSY)
        else:
            try:
                result = _replay(claimed, given, dry_run)
            finally:
                claimed.release()
        results.append(result)
        if progress is not None:
            progress(describe(result))
    return results


def describe(result: SyncResult) -> str:
    """One line about a journal file's sync, for people."""
    where = result.database or "an unknown database"
    if result.problem == BUSY:
        return f"{result.path.name}: {BUSY}"
    if result.dry_run:
        text = f"{result.path.name}: {result.pending} record(s) wait for {where}"
    else:
        text = f"{result.path.name}: {result.written} record(s) written to {where}"
    if result.damaged:
        text += f" ({result.damaged} damaged line(s) ignored)"
    if result.deleted:
        text += (f"; {result.deleted} of its run(s) are deleted in the database and stay "
                 "deleted (`tracker runs --deleted`; `tracker restore` brings them back)")
    if result.problem:
        text += f"; {result.left} left: {result.problem}"
    return text


def _replay(claimed: journal.ClaimedJournal, given: URL | None, dry_run: bool) -> SyncResult:
    contents = claimed.contents
    pending = contents.pending

    def result(written: int, problem: str | None = None, deleted: int = 0) -> SyncResult:
        return SyncResult(
            claimed.path, contents.url, len(pending), written, contents.damaged, problem, dry_run,
            deleted,
        )

    if contents.url is None:
        return result(0, "the journal's header is damaged: the database is unknown")
    target = _target(contents.url, given)
    if target is None:
        return result(
            0,
            "its URL has a password, which journals never store: give the URL with --url or "
            "TRACKER_DATABASE_URL",
        )
    if dry_run:
        return result(0)
    repository = Repository(target)
    written = marked = 0
    try:
        for op in pending:
            getattr(repository, op.method)(*op.args, **op.kwargs)
            written += 1
            if written - marked >= MARK_EVERY:
                claimed.mark_done(written - marked)
                marked = written
    except Exception as exc:
        if written > marked:
            claimed.mark_done(written - marked)
        return result(written, db.mask_text(f"{type(exc).__name__}: {exc}", target))
    claimed.remove()
    # A run deleted while (or after) its process trained stays deleted: its records are
    # written, hidden with it. Say so, rather than let the user look for them.
    return result(written, deleted=len(repository.deleted_keys(_run_keys(pending))))


def _run_keys(ops: list[journal.Op]) -> set[str]:
    """The run keys the records write to (start_run's ``key``, else the first argument)."""
    keys = set()
    for op in ops:
        key = op.kwargs.get("key") if op.method == "start_run" else (op.args or (None,))[0]
        if isinstance(key, str):
            keys.add(key)
    return keys


def _given_url(url: str | URL | None) -> URL | None:
    if url is None and not os.environ.get(db.ENV_URL):
        return None
    return db.resolve_url(url)


def _target(stored: str, given: URL | None) -> URL | None:
    """The URL to write a journal stored for ``stored`` (password masked) to."""
    if given is not None and db.mask_url(given) == stored:
        return given
    try:
        parsed = make_url(stored)
    except ArgumentError:
        return None
    if parsed.password is not None:  # "***": the real one was never stored
        return None
    return db.resolve_url(parsed)
