"""``tracker import tensorboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import TrackerError
from .lazy import Repository, db
from .options import Url


def tensorboard(
    logdir: Annotated[Path, typer.Argument(help="TensorBoard log folder (as for --logdir).")],
    experiment: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option("--experiment", "-e", show_default=False,
                     help="Experiment to import into (default: the folder's name)."),
    ] = None,
    url: Url = None,
) -> None:
    """Import TensorBoard logs: each run folder becomes a run.

    Its scalars (tf.summary, or Keras' TensorBoard callback, whose train/ and validation/
    folders merge into loss and
    val_loss) epoch metrics by step, and its HParams records hyperparameters. Importing again
    updates the same runs. Unreadable event files are reported and skipped.

    Example: tracker import tensorboard logs/fit -e mnist
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..importers.tensorboard import SOURCE, import_tensorboard
    from ..importers.tensorboard_reader import use_tensorflow_free_reader

    use_tensorflow_free_reader()  # this process only reads: no need to load TensorFlow

    console = Console(stderr=True)
    columns = ("[bold]Importing runs", BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("reading event files", total=None)

        def advance(name: str, done: int, total: int) -> None:
            progress.update(task, description=name, completed=done, total=total)

        result = import_tensorboard(Repository(url), logdir, experiment=experiment,
                                    progress=advance)
    for path, why in result.problems:
        console.print(f"[yellow]warning:[/yellow] {path}: {why}", highlight=False,
                      soft_wrap=True)
    for name in result.empty:
        console.print(f"[yellow]warning:[/yellow] {name}: no scalars; not imported",
                      highlight=False)
    if result.runs == 0:
        raise TrackerError(f"nothing imported from {logdir}: no run folder holds readable "
                           "scalars (see the warnings above)")
    where = db.mask_url(db.resolve_url(url))
    typer.echo(f"Imported {result.runs} runs ({result.epochs} epochs, {result.values} values) "
               f"from {logdir} into experiment {result.experiment!r} at {where} "
               f"(source {SOURCE}).")
    if result.problems:
        typer.echo(f"{len(result.problems)} file(s) could not be read fully: see the warnings.")
    typer.echo(f"Next: tracker runs -e {result.experiment}")
