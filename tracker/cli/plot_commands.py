"""``tracker plot curves|hparams|compare``: pictures of a sweep as PNG, SVG or PDF files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import ExperimentName, Mode, Url, Where

app = typer.Typer(
    help="Draw a sweep: learning curves, a metric against each hyperparameter, one box per "
    "group. Writes PNG, SVG or PDF by the file's extension (needs the analysis extra).",
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
    """Learning curves: the metric at each epoch, one thin line per run coloured by its group,
    each group's mean in bold (many distinct values are binned into ranges).

    Example: tracker plot curves --metric val_loss --group-by learning_rate -o curves.png
    """
    from ..analysis.plots import plot_curves

    _draw(output, lambda: plot_curves(url, metric, group_by=group_by, experiment=experiment,
                                      where=where))


@app.command()
def hparams(
    metric: Metric = None,
    mode: Mode = None,
    highlight: Annotated[int, typer.Option(min=1, help="How many best runs to highlight.")] = 5,
    experiment: ExperimentName = None,
    where: Where = None,
    output: Output = Path("hparams.png"),
    url: Url = None,
) -> None:
    """Each run's best value of the metric against each hyperparameter that varies (log axis
    for values spread over decades, categories for strings), the best runs in red.

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
    """One box per value of a hyperparameter, over each run's best value of the metric, with
    every run drawn as a point and the best run starred.

    Example: tracker plot compare --group-by batch_size --metric val_accuracy -o compare.png
    """
    from ..analysis.plots import plot_compare

    _draw(output, lambda: plot_compare(url, group_by, metric, experiment=experiment, mode=mode,
                                       where=where))
