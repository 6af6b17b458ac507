"""Options shared by several commands."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer

Url = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--url",
        help="Database URL (default: $TRACKER_DATABASE_URL, else sqlite:///tracker.db).",
        show_default=False,
    ),
]
ExperimentName = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--experiment", "-e", help="Only this experiment.", show_default=False),
]
Mode = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--mode",
        help="max or min (default: the experiment's objective, else from the metric's name).",
        show_default=False,
    ),
]
Format = Annotated[
    str,
    typer.Option("--format", "-f",
                 help="table, csv, json (one array) or jsonl (JSON Lines: one object a line)."),
]


class Epochs(str, enum.Enum):
    best = "best"
    last = "last"


Over = Annotated[
    Epochs,
    typer.Option("--over", help="best: each run counts with its best epoch; last: its final one."),
]
StaleAfter = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--stale-after",
        help="Seconds without a heartbeat after which a running run is stale "
        "(default: $TRACKER_STALE_AFTER, else 300).",
        show_default=False,
    ),
]
Where = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--where", "-w",
        help="Only runs passing this filter, e.g. \"learning_rate < 1e-3 and optimizer == "
        "'adam'\" or \"best.val_accuracy > 0.9\" (repeat it: all must hold; the old "
        "NAME=VALUE works too).",
        show_default=False,
    ),
]
Metric = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--metric", "-m", help="Metric (default: the experiment's objective).",
        show_default=False,
    ),
]
