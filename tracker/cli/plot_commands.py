"""``tracker plot curves|hparams|compare``: pictures of a sweep as PNG, SVG or PDF files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import Epochs, ExperimentName, Mode, Over, Url, Where

app = typer.Typer(
    help="Draw a sweep as a PNG, SVG or PDF file (needs the analysis extra).\n\n"
    "Learning curves, a metric against each hyperparameter, one box per group, parallel "
    "coordinates. The format is chosen by the file's extension.",
    no_args_is_help=True,
)

Metric = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--metric", "-m", help="Metric to draw (default: the experiment's objective).",
                 show_default=False),
]


Output = Annotated[Path, typer.Option("--output", "-o", help="Image file: .png, .svg or .pdf.")]


def _draw(output: Path, draw) -> None:
    """Check ``output`` first (no drawing for a file that cannot be written), then draw."""
    from ..analysis.plots import save_figure
    from ..analysis.plots._common import image_path

    image_path(output)
    save_figure(draw(), output)
    typer.echo(f"Wrote {output}", err=True)


@app.command()
def curves(
    metric: Metric = None,
    group_by: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--group-by", "-g", help="Hyperparameter colouring the runs.",
                     show_default=False),
    ] = None,
    experiment: ExperimentName = None,
    where: Where = None,
    output: Output = Path("curves.png"),
    url: Url = None,
) -> None:
    """Learning curves: the metric at each epoch, one line per run.

    Runs are coloured by their group, each group's mean in bold (many distinct values are
    binned into ranges).

    Example: tracker plot curves --metric val_loss --group-by learning_rate -o curves.png
    """
    from ..analysis.plots import plot_curves

    _draw(output, lambda: plot_curves(url, metric, group_by=group_by, experiment=experiment,
                                      where=where))


@app.command()
def hparams(
    metric: Metric = None,
    mode: Mode = None,
    highlight: Annotated[
        int, typer.Option(min=1, help="How many best runs to highlight (at most a quarter of "
                          "the runs; the figure says when it shows fewer).")
    ] = 5,
    experiment: ExperimentName = None,
    where: Where = None,
    output: Output = Path("hparams.png"),
    url: Url = None,
) -> None:
    """Each run's best value of the metric against each hyperparameter that varies.

    A log axis for values spread over decades, categories for strings; the best runs in red.

    Example: tracker plot hparams --metric val_accuracy -e mnist -o hparams.png
    """
    from ..analysis.plots import plot_hparams

    _draw(output, lambda: plot_hparams(url, metric, experiment=experiment, mode=mode,
                                       highlight=highlight, where=where))


@app.command()
def compare(
    group_by: Annotated[str, typer.Option("--group-by", "-g", help="Hyperparameter to group by.")],
    metric: Metric = None,
    mode: Mode = None,
    experiment: ExperimentName = None,
    where: Where = None,
    output: Output = Path("compare.png"),
    url: Url = None,
) -> None:
    """One box per value of a hyperparameter, over each run's best value of the metric.

    Every run is drawn as a point and the best run starred.

    Example: tracker plot compare --group-by batch_size --metric val_accuracy -o compare.png
    """
    from ..analysis.plots import plot_compare

    _draw(output, lambda: plot_compare(url, group_by, metric, experiment=experiment, mode=mode,
                                       where=where))


@app.command()
def parallel(
    metric: Metric = None,
    mode: Mode = None,
    where: Where = None,
    over: Over = Epochs.best,
    axes: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--axis", "-a", help="Hyperparameter to draw, in this order (repeatable; "
                     "default: every one that varies).", show_default=False),
    ] = None,
    highlight: Annotated[int, typer.Option(min=0, help="How many best runs to outline.")] = 10,
    experiment: ExperimentName = None,
    output: Output = Path("parallel.png"),
    url: Url = None,
) -> None:
    """Parallel coordinates: one line per run through its hyperparameters and metric.

    An axis per hyperparameter that varies (log axes for values spread over decades,
    categories for strings and booleans) and one for the metric; lines coloured by the
    metric, the best runs on top.

    Example: tracker plot parallel --metric val_accuracy -e mnist -o parallel.png
    """
    from ..analysis.plots import plot_parallel

    _draw(output, lambda: plot_parallel(url, metric, experiment=experiment, mode=mode,
                                        over=over.value, where=where,
                                        hyperparameters=axes, highlight=highlight))
