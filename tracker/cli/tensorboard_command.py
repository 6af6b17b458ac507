"""``tracker import tensorboard``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import TrackerError
from .keras_tuner_command import FollowSymlinks
from .lazy import Repository, db
from .options import Url
from .output import literal


def tensorboard(
    logdir: Annotated[Path, typer.Argument(help="TensorBoard log folder (as for --logdir).")],
    experiment: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option("--experiment", "-e", show_default=False,
                     help="Experiment to import into (default: the folder's name)."),
    ] = None,
    url: Url = None,
    follow_symlinks: FollowSymlinks = False,
) -> None:
    """Import TensorBoard logs: each run folder becomes a run.

    Its scalars (tf.summary, or Keras' TensorBoard callback, whose train/ and validation/
    folders merge into loss and
    val_loss) epoch metrics by step, and its HParams records hyperparameters. Importing again
    updates the same runs. Unreadable event files are reported and skipped.

    Example: tracker import tensorboard logs/fit -e mnist
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    from ..importers.tensorboard import SOURCE, import_tensorboard
    from ..importers.tensorboard_reader import use_tensorflow_free_reader
    from .output import plain_console

    use_tensorflow_free_reader()  # this process only reads: no need to load TensorFlow

    console = plain_console(stderr=True)
    columns = (TextColumn("Importing runs", style="bold"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}", markup=False))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("reading event files", total=None)

        def advance(name: str, done: int, total: int) -> None:
            progress.update(task, description=literal(name), completed=done, total=total)

        result = import_tensorboard(Repository(url), logdir, experiment=experiment,
                                    progress=advance, follow_symlinks=follow_symlinks)
    for path, why in result.problems:
        console.print(Text.assemble(("warning: ", "yellow"), literal(f"{path}: {why}")),
                      soft_wrap=True)
    for name in result.empty:
        console.print(Text.assemble(("warning: ", "yellow"),
                                    literal(f"{name}: no scalars; not imported")))
    if result.runs == 0:
        raise TrackerError(f"nothing imported from {logdir}: no run folder holds readable "
                           "scalars (see the warnings above)")
    where = db.mask_url(db.resolve_url(url))
    typer.echo(literal(f"Imported {result.runs} runs ({result.epochs} epochs, "
                       f"{result.values} values) from {logdir} into experiment "
                       f"{result.experiment!r} at {where} (source {SOURCE})."))
    if result.problems:
        typer.echo(f"{len(result.problems)} file(s) could not be read fully: see the warnings.")
    typer.echo(literal(f"Next: tracker runs -e {shlex.quote(result.experiment)}"))
