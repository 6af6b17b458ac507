"""Pictures of a sweep, drawn with matplotlib (no display needed; needs the ``analysis``
extra). Each function returns a ``matplotlib.figure.Figure``; ``save_figure`` writes it as PNG,
SVG or PDF by the file's extension.

>>> from tracker.plots import plot_curves, save_figure
>>> save_figure(plot_curves(repo, "val_loss", group_by="learning_rate"), "c.png")  # doctest: +SKIP
"""

from __future__ import annotations

from ._common import Sweep, log_scaled, save_figure
from .compare import plot_compare
from .curves import plot_curves
from .hparams import plot_hparams
from .parallel import plot_parallel

__all__ = [
    "Sweep", "log_scaled", "plot_compare", "plot_curves", "plot_hparams", "plot_parallel",
    "save_figure",
]
