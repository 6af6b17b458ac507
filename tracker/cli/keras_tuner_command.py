"""``tracker import keras-tuner``.

A progress bar on stderr for large folders, one message per trial that was skipped or
imported with a note, a summary at the end, and a non-zero exit only when nothing at all
could be imported (a partly damaged folder still imports what it can).
"""

from __future__ import annotations

import shlex
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import TrackerError
from .lazy import db
from .options import Url
from .output import literal

PROGRESS_FROM = 20  # items: below this an import is quick and a progress bar only flickers

Experiment = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--experiment", "-e", help="Experiment to import into.", show_default=False),
]

FollowSymlinks = Annotated[
    bool,
    typer.Option("--follow-symlinks",
                 help="Read files and folders that link out of the folder (skipped by default)."),
]


@contextmanager
def import_progress(what: str):
    """``(on_start, on_item)`` callbacks drawing a Rich progress bar on stderr (for
    ``PROGRESS_FROM`` items or more) and printing each item's message above it."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from .output import plain_console

    console = plain_console(stderr=True)
    progress = Progress(
        TextColumn(what, style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    task = None

    def on_start(total: int) -> None:
        nonlocal task
        if total >= PROGRESS_FROM:
            progress.start()
            task = progress.add_task(what, total=total)

    def on_item(name: str, message: str | None) -> None:
        if message:
            console.print(Text.assemble(("warning: ", "yellow"), literal(message)),
                          soft_wrap=True)
        if task is not None:
            progress.advance(task)

    try:
        yield on_start, on_item
    finally:
        if task is not None:
            progress.stop()


def keras_tuner(
    directory: Annotated[
        Path, typer.Argument(help="The keras-tuner project folder (DIRECTORY/PROJECT_NAME).")
    ],
    url: Url = None,
    experiment: Experiment = None,
    follow_symlinks: FollowSymlinks = False,
) -> None:
    """Import a keras-tuner project folder (oracle.json and trial_*/trial.json).

    One run per trial with its hyperparameters, status, score and the metrics the files
    hold (only the best epoch's: such runs are marked history_complete=False). Importing
    again updates the same runs. Damaged trials (or trials the database refuses) are
    reported and skipped; FIFOs, devices, files over 64 MiB and links out of the folder are
    skipped. The exit code is non-zero only when nothing could be imported. The experiment
    defaults to the project's name.

    Example: tracker import keras-tuner runs/mnist --url sqlite:///tracker.db
    """
    from ..importers.keras_tuner import import_keras_tuner

    with import_progress("Importing trials") as (on_start, on_item):
        report = import_keras_tuner(
            directory, url, experiment=experiment, on_start=on_start, on_trial=on_item,
            follow_symlinks=follow_symlinks,
        )
    where = db.mask_url(db.resolve_url(url))
    if report.found == 0:
        raise TrackerError(f"{report.directory}: no trial_* folders to import")
    if report.imported == 0:
        raise TrackerError(
            f"nothing imported from {report.directory}: all {report.found} trials were "
            "unreadable (see the messages above)"
        )
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items()))
    typer.echo(literal(
        f"Imported {report.imported} of {report.found} trials from {report.directory} into "
        f"experiment {report.experiment!r} at {where} ({statuses})."
    ))
    if report.skipped:
        typer.echo(f"{len(report.skipped)} trial(s) skipped: see the warnings above.")
    typer.echo(literal(f"Next: tracker trials -e {shlex.quote(report.experiment)}"))
