"""``tracker export`` and ``tracker report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .lazy import Repository
from .options import ExperimentName, Url, Where
from .titles import scope

Kind = Annotated[
    str,
    typer.Option(
        "--kind", "-k", help="runs (one row per run) or epochs (one row per run, metric, epoch)."
    ),
]


def register(app: typer.Typer) -> None:
    app.command(name="export")(export)
    app.command(name="report")(report)


def export(
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--output", "-o",
            help="File to write: .csv, .parquet or .jsonl (default: CSV on stdout).",
            show_default=False,
        ),
    ] = None,
    kind: Kind = "runs",
    experiment: ExperimentName = None,
    where: Where = None,
    for_spreadsheet: Annotated[
        bool,
        typer.Option(
            "--for-spreadsheet",
            help="CSV for Excel, LibreOffice or Google Sheets: text cells starting with = + - @ "
            "tab or CR get a leading ' so that they are never run as formulas (OWASP).",
        ),
    ] = False,
    url: Url = None,
) -> None:
    """Write the runs or every epoch's metrics to CSV, Parquet or JSON Lines.

    Runs: one row per run, with its hyperparameters and the best and last value of each
    metric. The format is chosen by the file's extension. Epochs are streamed in chunks, so
    memory stays flat however large the database. Needs the analysis extra.

    Example: tracker export -e mnist --kind epochs -o epochs.parquet
    """
    from ..analysis.exports import export as write
    from .output import literal, plain_console

    console = plain_console(stderr=True)
    with console.status(f"Exporting {kind} ...") as status:
        rows = write(
            Repository(url),
            output,
            kind=kind,
            experiment=experiment,
            where=where,
            for_spreadsheet=for_spreadsheet,
            progress=lambda n: status.update(f"Exporting {kind} ... {n:,} rows"),
        )
    where = "stdout" if output is None else str(output)
    console.print(literal(f"Wrote {rows:,} {kind} rows of {scope(experiment)} to {where}"))


def report(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write.")
    ] = Path("report.html"),
    experiment: ExperimentName = None,
    metric: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--metric", "-m",
            help="Metric to rank and plot (default: the objective, else val_accuracy, ...).",
            show_default=False,
        ),
    ] = None,
    group_by: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--group-by", "-g",
            help="Hyperparameter colouring the learning curves (default: chosen from the data).",
            show_default=False,
        ),
    ] = None,
    where: Where = None,
    url: Url = None,
) -> None:
    """Write one self-contained HTML report of a sweep.

    Plots embedded, no network needed: the sweep's summary, the top runs, which
    hyperparameters matter, the best value per group of each hyperparameter, learning curves,
    the metric against each hyperparameter, parallel coordinates, and one box per group.
    Needs the analysis extra.

    Example: tracker report -e mnist -o report.html
    """
    from ..analysis.report import write_report
    from .output import literal, plain_console

    console = plain_console(stderr=True)
    with console.status("Building the report ..."):
        write_report(Repository(url), output, experiment=experiment, metric=metric,
                     group_by=group_by, where=where)
    console.print(literal(f"Wrote {output}"))
