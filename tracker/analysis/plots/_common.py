"""What the plots share: the data they draw from, grouping runs by a hyperparameter, colours,
axis scales, number labels, and writing a figure to a file."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import DirectionError, TrackerError, UnknownNameError
from ...optional import require, require_all
from ...store.names import unknown_message
from ...text import literal
from .. import dataframes
from ..scales import MISSING, hashable, is_number, log_scaled, sort_key

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ...store.filters import Where
    from ...store.records import RecordedNames
    from ...store.repository import Repository

MAX_GROUPS = 10  # more distinct values than this are binned (numbers) or folded into "other"
NUMERIC_BINS = 6
FORMATS = (".png", ".svg", ".pdf")
BEST_COLOR = "#d62728"
RUN_COLOR = "#4c72b0"


@dataclass
class Sweep:
    """The runs (and, per metric, the epochs) of one experiment or of the whole database,
    optionally only those passing a filter (``where``, as ``Repository.runs`` takes it), loaded
    once and shared by every plot of a report.

    >>> sweep = Sweep(Repository(), "mnist", where="units >= 64")        # doctest: +SKIP
    """

    repo: Repository
    experiment: str | None = None
    modes: dict[str, str] = field(default_factory=dict)
    _epochs: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    where: Where = None

    @classmethod
    def of(cls, source: Sweep | Repository | str | None, experiment: str | None,
           mode: str | None = None, metric: str | None = None, where: Where = None) -> Sweep:
        """``source`` as a Sweep: a Sweep as it is, else a Repository or URL."""
        require_all(("pandas", "matplotlib"), "Drawing plots")
        if isinstance(source, Sweep):
            return source
        from ...store.repository import Repository

        repo = source if isinstance(source, Repository) else Repository(source)
        return cls(repo, experiment, {metric: mode} if mode and metric else {}, where=where)

    @cached_property
    def runs(self) -> pd.DataFrame:
        return dataframes.to_dataframe(self.repo, self.experiment, modes=self.modes,
                                       where=self.where)

    def epochs(self, metric: str) -> pd.DataFrame:
        if metric not in self._epochs:
            self._epochs[metric] = dataframes.to_dataframe(
                self.repo, self.experiment, kind="epochs", metrics=[metric], where=self.where
            )
        return self._epochs[metric]

    @property
    def title(self) -> str:
        title = f"experiment {self.experiment!r}" if self.experiment else "all experiments"
        if self.where:  # on lines of its own: a filter can be long
            title += "\n" + textwrap.fill(f"runs where {filter_text(self.where)}", 90)
        return title

    @cached_property
    def names(self) -> RecordedNames:
        """What the experiment recorded, whatever the filter keeps."""
        return self.repo.names(self.experiment)

    def metric(self, metric: str | None) -> str:
        """``metric``, else the experiment's objective (an error listing the metrics when it
        has none)."""
        return metric if metric is not None else self.repo.default_metric(self.experiment)

    def hyperparameters(self) -> dict[str, str]:
        """column -> hyperparameter name."""
        return dict(self.runs.attrs.get("hyperparameters", {}))

    def check_metric(self, metric: str) -> None:
        if metric in self.runs.attrs.get("metrics", []):
            return
        known = self.names.metrics
        if metric not in known:
            raise UnknownNameError(unknown_message("metric", metric, known, self.experiment),
                                   known=known, experiment=self.experiment)
        raise TrackerError(f"no run of {self.title} recorded {metric!r}")

    def direction(self, metric: str) -> str:
        self.check_metric(metric)
        direction = self.runs.attrs["directions"].get(metric)
        if direction is None:
            raise DirectionError(
                f"cannot tell whether a higher or lower {metric!r} is better: pass mode='max' "
                "or 'min' (--mode on the command line)"
            )
        return direction

    def best(self, metric: str) -> pd.Series:
        """Each run's best finite value of ``metric`` (NaN where it has none)."""
        self.direction(metric)
        return self.runs[f"{metric}_best"]

    def column(self, hyperparameter: str) -> str:
        """The runs frame's column of a hyperparameter, or a clear error."""
        columns = self.hyperparameters()
        for column, name in columns.items():
            if name == hyperparameter:
                return column
        known = tuple(self.names.hyperparameters)
        if hyperparameter not in known:
            raise UnknownNameError(
                unknown_message("hyperparameter", hyperparameter, known, self.experiment),
                known=known, experiment=self.experiment)
        raise TrackerError(f"no run of {self.title} has the hyperparameter {hyperparameter!r}")


def filter_text(where: Where) -> str:
    """A filter as one line of text, for titles."""
    if isinstance(where, str):
        return where
    if isinstance(where, Mapping):
        return " and ".join(f"{k} == {v!r}" for k, v in where.items())
    parts = list(where or [])
    if len(parts) == 1:
        return filter_text(parts[0])
    return " and ".join(f"({filter_text(part)})" for part in parts)


# -- groups -----------------------------------------------------------------------------------


@dataclass
class Groups:
    """Runs split into at most ``MAX_GROUPS`` groups: ``labels`` (one per run, in the runs'
    order), ``order`` (the group labels in display order) and a colour per group."""

    labels: list[str]
    order: list[str]
    colors: dict[str, Any]
    numeric: bool


def group_runs(values: pd.Series | None, size: int) -> Groups:
    """Group ``size`` runs by a hyperparameter's values (None: one group): one group per value
    when there are few, else numeric ranges (log-spaced when the values are) or the most common
    values plus "other"."""
    if values is None:
        return Groups(["all runs"] * size, ["all runs"], {"all runs": RUN_COLOR}, False)
    values = hashable(values)
    present = values.dropna()
    distinct = sorted(set(present.tolist()), key=sort_key)
    numeric = bool(distinct) and all(is_number(v) for v in distinct)
    if len(distinct) <= MAX_GROUPS:
        names = {v: label(v) for v in distinct}
        labels = [MISSING if _missing(v) else names[v] for v in values.tolist()]
        order = [names[v] for v in distinct]
    elif numeric:
        labels, order = _bins(values, log=log_scaled(distinct))
    else:
        common = present.astype(str).value_counts().index[: MAX_GROUPS - 1].tolist()
        labels = [
            MISSING if _missing(v) else (label(v) if str(v) in common else "other")
            for v in values.tolist()
        ]
        order = [*sorted({label(v) for v in present if str(v) in common}), "other"]
    if MISSING in labels:
        order.append(MISSING)
    return Groups(labels, order, palette(order, numeric and MISSING not in order), numeric)


def _bins(values: pd.Series, *, log: bool) -> tuple[list[str], list[str]]:
    np = require("numpy", "Drawing plots")
    pd = require("pandas", "Drawing plots")
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    lo, hi = numbers.min(), numbers.max()
    edges = (np.geomspace(lo, hi, NUMERIC_BINS + 1) if log
             else np.linspace(lo, hi, NUMERIC_BINS + 1))
    edges[0], edges[-1] = lo, hi
    names = [f"{label(edges[i], digits=2)} to {label(edges[i + 1], digits=2)}"
             for i in range(NUMERIC_BINS)]
    index = np.clip(np.searchsorted(edges, numbers.to_numpy(), side="right") - 1, 0,
                    NUMERIC_BINS - 1)
    labels = [MISSING if math.isnan(x) else names[i] for x, i in zip(numbers, index, strict=True)]
    used = set(labels)
    return labels, [n for n in names if n in used]


def palette(order: list[str], sequential: bool) -> dict[str, Any]:
    """Colours by group: a sequential map (dark to light, never the faint end) for ordered
    numbers, else distinct categorical colours; a missing value is grey."""
    from matplotlib import colormaps

    shown = [g for g in order if g != MISSING]
    if sequential and len(shown) > 1:
        cmap = colormaps["viridis"]
        colors = {g: cmap(0.85 * i / (len(shown) - 1)) for i, g in enumerate(shown)}
    else:
        cmap = colormaps["tab10"]
        colors = {g: cmap(i % 10) for i, g in enumerate(shown)}
    colors[MISSING] = "#999999"
    return colors


# -- values -----------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    pd = require("pandas", "Drawing plots")
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists
        return False


def label(value: Any, width: int = 18, digits: int = 3) -> str:
    """A short, readable label: 0.001, 3e-05, 128, adam, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value) or hasattr(value, "item"):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return format(number, f".{digits}g")
    text = literal(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def finite(series: pd.Series) -> pd.Series:
    """A float Series with +/-inf turned into NaN (matplotlib leaves NaN out)."""
    np = require("numpy", "Drawing plots")
    return series.astype("float64").replace([np.inf, -np.inf], np.nan)


# -- figures ----------------------------------------------------------------------------------


def new_figure(width: float, height: float) -> Figure:
    """A Figure not tied to pyplot (no global state, no display needed: the Agg canvas)
    whose text is always literal: names and values come from the database, so a ``$`` in an
    experiment name is a dollar sign, never math text, and LaTeX is never run on it (whatever
    the user's ``text.usetex``), however and whenever the figure is drawn."""
    require("matplotlib", "Drawing plots")
    return _literal_figure_class()(figsize=(width, height), layout="constrained")


@cache
def _literal_figure_class() -> type:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    class LiteralFigure(Figure):
        """Draws every text artist as plain text (no math text, no LaTeX)."""

        def draw(self, renderer) -> None:
            # Tick labels are created while drawing: the rc context covers them, the loop
            # covers what was made before (titles, legends, annotations).
            with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
                for text in self.findobj(Text):
                    text.set_parse_math(False)
                    text.set_usetex(False)
                    shown = text.get_text()
                    if shown and literal(shown, lines=True) != shown:
                        text.set_text(literal(shown, lines=True))
                super().draw(renderer)

    LiteralFigure.__module__ = __name__
    LiteralFigure.__qualname__ = "LiteralFigure"
    return LiteralFigure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as PNG, SVG or PDF, chosen by the file's extension.

    >>> save_figure(plot_curves(repo, "val_loss"), "curves.png")          # doctest: +SKIP
    """
    path = image_path(path)
    figure.savefig(path, dpi=150)
    return path


def image_path(path: str | Path) -> Path:
    """``path`` if a figure can be written there (.png, .svg or .pdf in an existing folder),
    else a clear error (checked before the drawing work)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise TrackerError(
            f"cannot tell the image format of {str(path)!r}: use .png, .svg or .pdf"
        )
    if not path.parent.is_dir():
        raise TrackerError(f"cannot write {str(path)!r}: there is no folder {path.parent}")
    return path


def no_data(figure: Figure, message: str) -> Figure:
    """A figure that says why there is nothing to draw (rather than an empty frame)."""
    figure.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, wrap=True)
    return figure
