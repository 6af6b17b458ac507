"""``tracker demo``."""

from __future__ import annotations

import typer

from .lazy import Repository, db
from .options import Url
from .output import show


def demo(url: Url = None) -> None:
    """Run a small real keras-tuner search, tracked, and print its summary.

    The search runs on generated data (no downloads) into the database (default: the
    SQLite file tracker.db here); then its trials and the best val_accuracy per batch size
    are printed. Takes seconds.

    Example: tracker demo
    """
    from ..training.demo import run_demo

    typer.echo(f"Recording a demo keras-tuner search into {db.mask_url(db.resolve_url(url))} ...")
    experiment = run_demo(url, progress=typer.echo)
    repo = Repository(url)
    trials = repo.trials(experiment)
    show(
        [
            {
                "trial": t.trial_id,
                "attempt": t.attempt,
                "status": t.status,
                "score": t.score,
                "mean_val_accuracy": t.mean,
                "std": t.std,
                **t.hyperparameters,
            }
            for t in trials
        ],
        title=f"Trials of {experiment!r}: mean and std over executions of the best val_accuracy",
    )
    rows = [
        {"batch_size": g.group, "best_val_accuracy": g.value, "run": g.run_id, "epoch": g.epoch,
         "runs": g.runs}
        for g in repo.best_by("batch_size", "val_accuracy", experiment=experiment)
    ]
    show(rows, title=f"Best val_accuracy per batch_size (experiment {experiment!r})")
    typer.echo(
        f"Next: tracker trials -e {experiment}   |   "
        f"tracker best -g learning_rate -m val_accuracy -e {experiment}   |   "
        f"tracker runs -e {experiment}"
    )
