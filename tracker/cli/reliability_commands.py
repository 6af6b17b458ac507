"""``tracker sync`` and ``tracker gc``: what outages and crashes leave behind."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import TrackerError
from .lazy import Repository, db
from .options import ExperimentName, Format, StaleAfter, Url
from .output import show
from .titles import scope

JournalDir = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--journal-dir",
        help="Journal folder (default: $TRACKER_JOURNAL_DIR, else "
        "~/.local/share/sweep-tracker/journal).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(gc)


def sync(
    url: Url = None,
    journal_dir: JournalDir = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what is waiting.")
    ] = False,
) -> None:
    """Write the records that ended processes left in their journal.

    Those are records a training process kept because the database did not answer, and
    could not write before it ended. Safe to run again and
    again: a record already in the database changes nothing. Journals of running processes
    are left to them. Only journals for the database named (--url, else TRACKER_DATABASE_URL,
    else sqlite:///tracker.db) are written, and only your own private ones. Records the
    database refuses for good are set aside in a .rejected file next to their journal.

    Example: tracker sync --journal-dir /scratch/journal
    """
    from ..capture.sync import sync as sync_journals

    results = sync_journals(url, journal_dir, dry_run=dry_run, progress=typer.echo)
    if not results:
        typer.echo("nothing to sync: no journal waits")
        return
    written = sum(r.written for r in results)
    set_aside = sum(r.set_aside for r in results)
    aside = f"; {set_aside} refused for good, set aside (see above)" if set_aside else ""
    typer.echo(f"{written} record(s) written from {len(results)} journal file(s){aside}")
    stuck = [r for r in results if r.stuck]
    if stuck:
        raise TrackerError(f"{len(stuck)} journal file(s) not written completely: see above")


def gc(
    url: Url = None,
    experiment: ExperimentName = None,
    stale_after: StaleAfter = None,
    fmt: Format = "table",
) -> None:
    """Mark stale runs failed (running, but their process died).

    Stale runs are still 'running' but their process sent no heartbeat for --stale-after
    seconds (it was killed, or the machine died). A run that reports again later gets its
    real end back.

    Example: tracker gc --stale-after 600
    """
    failed = Repository(url, stale_after=stale_after).fail_stale_runs(experiment=experiment)
    rows = [
        {"id": r.id, "experiment": r.experiment, "name": r.name, "trial": r.trial_id,
         "started": r.started_at, "last_seen": r.ended_at}
        for r in failed
    ]
    where = db.mask_url(db.resolve_url(url))
    show(rows, title=f"Stale runs of {scope(experiment)} marked failed in {where}", fmt=fmt)
