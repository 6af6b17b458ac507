"""``tracker demo``."""

from __future__ import annotations

import typer

from .lazy import Repository, db
from .options import Url
from .output import show


def demo(url: Url = None) -> None:
    """Run a small real sweep on generated data into the database (default: the SQLite
    file tracker.db here) and print the best val_accuracy per batch size. Takes seconds.

    Example: tracker demo
    """
    from ..demo import run_demo

    typer.echo(f"Recording a demo sweep into {db.mask_url(db.resolve_url(url))} ...")
    experiment = run_demo(url, progress=typer.echo)
    repo = Repository(url)
    for name in ("batch_size", "learning_rate"):
        rows = [
            {name: g.group, "best val_accuracy": g.value, "run": g.run_id, "epoch": g.epoch,
             "runs": g.runs}
            for g in repo.best_by(name, "val_accuracy", experiment=experiment)
        ]
        show(rows, title=f"Best val_accuracy per {name} (experiment {experiment!r})")
    typer.echo(
        f"Next: tracker runs -e {experiment}   |   tracker top -m val_accuracy -e {experiment}"
    )
