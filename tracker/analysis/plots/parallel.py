"""Parallel coordinates: one line per run through an axis per hyperparameter that varies and a
last axis for the metric, coloured by the metric, the best runs drawn on top."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...errors import DirectionError, UnknownNameError
from ...store.names import unknown_message
from ..scales import MISSING, Dimension, dimension
from ..selection import Where, metric_values
from ._common import Sweep, label, new_figure, no_data

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    from ...store.repository import Repository

MAX_AXES = 16  # hyperparameter axes; more are listed under the plot
MAX_TICKS = 12  # category labels on one axis; more are thinned
NONE_SLOT = -0.09  # where runs lacking a numeric hyperparameter cross its axis
OUTLIER_SPREAD = 3.0  # clip the metric axis to the 1st-99th percentile beyond this


def plot_parallel(
    source: Sweep | Repository | str | None = None,
    metric: str | None = None,
    *,
    experiment: str | None = None,
    mode: str | None = None,
    over: str = "best",
    where: Where = None,
    hyperparameters: Sequence[str] | None = None,
    highlight: int = 10,
) -> Figure:
    """One line per run through an axis per hyperparameter that varies (a log axis for numbers
    spread over decades, evenly spaced categories for text and booleans, a ``(none)`` slot for
    runs lacking it) and the metric's axis; coloured by the metric, darkest for the best, the
    best runs drawn last and the ``highlight`` best outlined. ``hyperparameters`` picks and
    orders the axes; ``where`` keeps some runs (a filter, as ``Repository.runs`` takes it);
    ``over="last"`` uses each run's final value; ``metric`` defaults to the objective.

    >>> plot_parallel(repo, "val_accuracy", experiment="mnist").savefig("p.png")  # doctest: +SKIP
    """
    import numpy as np

    sweep = Sweep.of(source, experiment, mode, metric, where)
    metric = sweep.metric(metric)
    sweep.check_metric(metric)  # an UnknownNameError listing the recorded metrics
    frame = sweep.runs
    where_from = sweep.title
    direction = frame.attrs["directions"].get(metric)
    if direction is None:
        raise DirectionError(f"cannot tell whether a higher or lower {metric!r} is better: "
                             "pass mode='max' or 'min' (--mode on the command line)")
    values = metric_values(frame, metric, over).astype("float64").to_numpy()
    shown = np.isfinite(values)
    columns = _columns(sweep, hyperparameters)
    dims = [d for d in (dimension(name, frame[column][shown].reset_index(drop=True))
                        for column, name in columns) if d is not None]
    which = "best" if over == "best" else "final"
    if not dims or not shown.any():
        why = (f"no run has a finite {metric}" if not shown.any()
               else "no hyperparameter varies across these runs")
        return no_data(new_figure(8, 4), f"{why} ({where_from})")
    hidden = [d.name for d in dims[MAX_AXES:]]
    dims = dims[:MAX_AXES]
    y = values[shown]
    low, high, clipped = _metric_range(y)
    figure = new_figure(max(8.0, 1.55 * (len(dims) + 1) + 2.2), 6.2)
    axes = figure.subplots()
    lines = np.column_stack([_heights(d) for d in dims]
                            + [np.clip((y - low) / ((high - low) or 1.0), 0, 1)])
    _draw_lines(figure, axes, lines, y, low, high, direction, highlight, metric, which)
    for i, dim in enumerate(dims):
        _axis(axes, i, dim)
    _metric_axis(axes, len(dims), low, high, f"{which} {metric}")
    axes.set_xlim(-0.45, len(dims) + 0.25)
    axes.set_ylim(NONE_SLOT - 0.06, 1.04)
    axes.axis("off")
    figure.suptitle(f"Parallel coordinates: {which} {metric} of {int(shown.sum())} runs — "
                    f"{where_from}", fontsize=13, x=0.01, ha="left")
    _footnote(figure, frame, columns, dims, hidden, int((~shown).sum()), clipped, metric)
    return figure


def _columns(sweep: Sweep, wanted: Sequence[str] | None):
    """(column, hyperparameter name) pairs, in the order asked for, else the frame's."""
    known = sweep.hyperparameters()
    if wanted is None:
        return list(known.items())
    by_name = {name: column for column, name in known.items()}
    for name in wanted:
        if name not in by_name:
            sweep.column(name)  # the error: unknown here, or lacking in the selected runs
            names = tuple(sorted(by_name))
            raise UnknownNameError(unknown_message("hyperparameter", name, names,
                                                   sweep.experiment),
                                   known=names, experiment=sweep.experiment)
    return [(by_name[name], name) for name in wanted]


def _heights(dim: Dimension) -> np.ndarray:
    """Where each run crosses the axis, 0 (bottom) to 1 (top)."""
    import numpy as np

    if dim.numeric:
        low, high = np.nanmin(dim.position), np.nanmax(dim.position)
        heights = (dim.position - low) / (high - low)
        return np.where(dim.missing, NONE_SLOT, heights)
    count = len(dim.categories)
    heights = dim.position / max(count - 1, 1)
    # Runs sharing a category fan out a little, so that a crowded value looks crowded.
    spread = min(0.025, 0.3 / count)
    jitter = np.random.default_rng(0).uniform(-spread, spread, len(heights))
    return np.clip(heights + jitter, -0.03, 1.03)


def _metric_range(y: np.ndarray) -> tuple[float, float, bool]:
    """The metric axis: the values' range, or the 1st-99th percentile when a few outliers
    would squeeze the others into a sliver."""
    import numpy as np

    low, high = float(y.min()), float(y.max())
    if len(y) >= 20:
        p1, p99 = (float(v) for v in np.percentile(y, [1, 99]))
        if p99 > p1 and (high - low) > OUTLIER_SPREAD * (p99 - p1):
            return p1, p99, True
    return low, high, False


def _draw_lines(figure, axes, lines, y, low, high, direction, highlight, metric, which):
    import numpy as np
    from matplotlib import colormaps
    from matplotlib import patheffects as effects
    from matplotlib.collections import LineCollection

    # The best runs darkest (and drawn last): the colour map runs from pale to dark. Colours
    # follow the runs' rank, so that a metric bunched near its best still spreads over the
    # whole map; the colour bar keeps the metric's own values.
    cmap = colormaps["viridis_r" if direction == "max" else "viridis"]
    norm = _rank_norm(y, low, high)
    order = np.argsort(y if direction == "max" else -y, kind="stable")
    x = np.arange(lines.shape[1])
    segments = [np.column_stack([x, lines[i]]) for i in order]
    count = len(order)
    width = 1.2 if count <= 50 else (0.8 if count <= 300 else 0.55)
    alpha = 0.9 if count <= 50 else max(0.2, min(0.8, 60 / count))
    axes.add_collection(LineCollection(segments, colors=cmap(norm(y[order])), linewidths=width,
                                       alpha=alpha, zorder=2))
    top = order[::-1][: max(1, min(highlight, count))] if highlight > 0 else []
    if len(top):
        best = LineCollection([np.column_stack([x, lines[i]]) for i in top[::-1]],
                              colors=cmap(norm(y[top[::-1]])), linewidths=1.8, zorder=3)
        best.set_path_effects([effects.Stroke(linewidth=3.0, foreground="white"),
                               effects.Normal()])
        axes.add_collection(best)
    from matplotlib.cm import ScalarMappable

    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, pad=0.01,
                          fraction=0.03, aspect=30)
    if hasattr(norm, "inverse") and high > low:  # ticks at the quartiles of the runs
        bar.set_ticks(sorted({float(norm.inverse(q)) for q in (0, 0.25, 0.5, 0.75, 1)}))
        bar.ax.yaxis.set_major_formatter(lambda value, _: format(value, ".4g"))
    better = "higher" if direction == "max" else "lower"
    outlined = f"; the {len(top)} best outlined" if len(top) else ""
    bar.set_label(f"{which} {metric}, by rank ({better} is better{outlined})", fontsize=9)


def _rank_norm(y: np.ndarray, low: float, high: float):
    """A colour norm from a value to its rank among ``y`` (0 to 1), within [low, high]."""
    import numpy as np
    from matplotlib.colors import FuncNorm, Normalize

    values = np.unique(np.clip(y, low, high))
    if len(values) < 2:
        return Normalize(low - 1, high + 1)
    ranks = np.linspace(0, 1, len(values))
    return FuncNorm((lambda v: np.interp(v, values, ranks), lambda r: np.interp(r, ranks, values)),
                    vmin=float(values[0]), vmax=float(values[-1]))


def _axis(axes, position: int, dim: Dimension) -> None:
    """A vertical axis with its name on top and its values as ticks."""
    import numpy as np

    axes.plot([position, position], [0, 1], color="#333333", linewidth=1.0, zorder=4)
    if dim.numeric:
        low, high = np.nanmin(dim.position), np.nanmax(dim.position)
        ticks = _numeric_ticks(low, high, dim.log)
        labels = [(p, label(dim.value_at(p))) for p in ticks]
        heights = [(p - low) / (high - low) for p in ticks]
        if dim.missing.any():
            axes.plot([position, position], [NONE_SLOT - 0.02, NONE_SLOT + 0.02],
                      color="#333333", linewidth=1.0, zorder=4)
            labels.append((None, MISSING))
            heights.append(NONE_SLOT)
    else:
        count = len(dim.categories)
        step = max(1, int(np.ceil(count / MAX_TICKS)))
        keep = [i for i in range(count) if i % step == 0 or dim.categories[i] == MISSING]
        labels = [(i, label(dim.categories[i])) for i in keep]
        heights = [i / max(count - 1, 1) for i in keep]
    for (_, text), height in zip(labels, heights, strict=True):
        axes.plot([position - 0.03, position], [height, height], color="#333333",
                  linewidth=1.0, zorder=4)
        axes.text(position - 0.05, height, text, ha="right", va="center", fontsize=8,
                  zorder=5, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7,
                                  "pad": 0.6})
    scale = " (log)" if dim.log else ""
    axes.text(position, 1.025, f"{label(dim.name, 24)}{scale}", ha="center", va="bottom",
              fontsize=9, fontweight="bold")


def _numeric_ticks(low: float, high: float, log: bool) -> list[float]:
    """Tick positions within [low, high]: whole decades (and their halves) on a log axis,
    round numbers on a linear one."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    if log and high - low >= 1.5:
        ticks = np.arange(np.ceil(low), np.floor(high) + 1)
    elif log:  # less than two decades: 1, 2, 5 steps in value space
        values = [m * 10.0 ** e for e in range(int(np.floor(low)) - 1, int(np.ceil(high)) + 1)
                  for m in (1, 2, 5)]
        ticks = np.log10([v for v in values if low <= np.log10(v) <= high])
    else:
        ticks = MaxNLocator(nbins=5).tick_values(low, high)
        ticks = ticks[(ticks >= low - 1e-12) & (ticks <= high + 1e-12)]
    ticks = list(ticks)
    return ticks if len(ticks) >= 2 else [low, high]


def _metric_axis(axes, position: int, low: float, high: float, name: str) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.plot([position, position], [0, 1], color="black", linewidth=1.6, zorder=4)
    span = (high - low) or 1.0
    for tick in MaxNLocator(nbins=6).tick_values(low, high):
        if low - 1e-12 <= tick <= high + 1e-12:
            height = (tick - low) / span
            axes.plot([position, position + 0.03], [height, height], color="black",
                      linewidth=1.2, zorder=4)
            axes.text(position + 0.05, height, format(tick, ".4g"), ha="left", va="center",
                      fontsize=8)
    axes.text(position, 1.025, name, ha="center", va="bottom", fontsize=9, fontweight="bold")


def _footnote(figure, frame, columns, dims, hidden, missing, clipped, metric) -> None:
    from ..scales import hashable

    drawn = {d.name for d in dims} | set(hidden)
    constant = [(column, name) for column, name in columns if name not in drawn]
    notes = []
    if constant:
        same = ", ".join(f"{name}={label(hashable(frame[column]).dropna().iloc[0])}"
                         if frame[column].notna().any() else name
                         for column, name in constant[:8])
        notes.append(f"Same in every run: {same}{' …' if len(constant) > 8 else ''}.")
    if hidden:
        notes.append(f"Not drawn (at most {MAX_AXES} axes): {', '.join(hidden)}.")
    if missing:
        notes.append(f"{missing} run(s) without a finite {metric} are not shown.")
    if clipped:
        notes.append(f"The {metric} axis shows the 1st-99th percentile; runs beyond it sit at "
                     "its ends.")
    if notes:
        figure.supxlabel("  ".join(notes), fontsize=9, color="#555555", wrap=True)
