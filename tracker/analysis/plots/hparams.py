"""A metric against each hyperparameter: one panel per hyperparameter that varies, the best
runs highlighted."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._common import (
    BEST_COLOR,
    MISSING,
    RUN_COLOR,
    Sweep,
    hashable,
    is_number,
    label,
    log_scaled,
    new_figure,
    no_data,
    sort_key,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...store.filters import Where
    from ...store.repository import Repository

MAX_PANELS = 24
BAND_INCHES = 0.75  # the title and the legend, above the panels
FEW_VALUES = 6  # numbers with at most this many distinct values are drawn as categories


def plot_hparams(
    source: Sweep | Repository | str | None = None,
    metric: str | None = None,
    *,
    experiment: str | None = None,
    mode: str | None = None,
    highlight: int = 5,
    where: Where = None,
) -> Figure:
    """Each run's best ``metric`` (over its epochs) against each hyperparameter that varies:
    a scatter on a linear or log axis (log when the values spread over decades, like a
    learning rate), or columns of points for strings, booleans and a few distinct numbers.
    The ``highlight`` best runs (at most a quarter of the runs, which the figure says) are
    drawn in red in every panel.

    >>> plot_hparams(repo, "val_accuracy", experiment="mnist").savefig("hp.png")  # doctest: +SKIP
    """
    sweep = Sweep.of(source, experiment, mode, metric, where)
    metric = sweep.metric(metric)
    best = sweep.best(metric)
    direction = sweep.direction(metric)
    runs = sweep.runs
    columns = sweep.hyperparameters()
    values = {column: hashable(runs[column]) for column in columns}
    varying = [c for c in columns if values[c].nunique(dropna=False) > 1][:MAX_PANELS]
    constant = [c for c in columns if values[c].nunique(dropna=False) == 1]
    shown = best.notna()
    if not varying or not shown.any():
        figure = new_figure(8, 4)
        why = ("no hyperparameter varies across these runs" if shown.any()
               else f"no run has a finite {metric}")
        return no_data(figure, f"{why} ({sweep.title})")
    ranked = best[shown].sort_values(ascending=direction == "min", kind="stable")
    # A highlight is a minority: at most a quarter of the runs, at least the best one.
    count = max(1, min(highlight, len(ranked) // 4))
    top = set(ranked.index[:count])
    ncols = min(3, len(varying))
    nrows = math.ceil(len(varying) / ncols)
    height = 3.4 * nrows + 1.3
    figure = new_figure(4.4 * ncols + 0.4, height)
    # The title and the legend get a band of their own at the top, one above the other: with
    # one or two panels there is no room for both on one line (constrained layout puts an
    # "outside" legend on the title's line).
    figure.get_layout_engine().set(rect=(0, 0, 1, 1 - BAND_INCHES / height))
    grid = figure.subplots(nrows, ncols, sharey=True, squeeze=False)
    for axes, column in zip(grid.flat, varying, strict=False):
        _panel(axes, values[column][shown], best[shown], top, columns[column])
    for axes in list(grid.flat)[len(varying):]:
        axes.set_visible(False)
    for row in grid:
        row[0].set_ylabel(f"best {metric}")
    figure.text(0.01, 1 - 0.1 / height,
                f"Best {metric} per run against each hyperparameter — {sweep.title}, "
                f"{int(shown.sum())} runs", fontsize=13, ha="left", va="top")
    _legend(figure, len(top), metric, direction, 1 - 0.42 / height)
    capped = f"{count} best runs highlighted, not {highlight}: at most a quarter of the " \
        f"{len(ranked)} runs." if count < highlight else None
    _footnote(figure, runs, values, constant, columns, int((~shown).sum()), metric, capped)
    return figure


def _panel(axes, values, best, top: set, name: str) -> None:
    distinct = sorted(set(values.dropna().tolist()), key=sort_key)
    numeric = all(is_number(v) for v in distinct)
    if numeric and len(distinct) > FEW_VALUES:
        x = values.astype("float64")
        if log_scaled(distinct):
            powers_of_two = all(float(v).is_integer() and v > 0 and int(v) & (int(v) - 1) == 0
                                for v in distinct)
            axes.set_xscale("log", base=2 if powers_of_two else 10)
    else:
        x = _category_positions(axes, values, distinct)
    chosen = best.index.isin(list(top))
    axes.scatter(x[~chosen], best[~chosen], s=22, color=RUN_COLOR, alpha=0.6, linewidths=0)
    axes.scatter(x[chosen], best[chosen], s=70, color=BEST_COLOR, edgecolors="black",
                 linewidths=0.8, zorder=3)
    axes.set_xlabel(name)
    axes.grid(True, color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)


def _category_positions(axes, values, distinct):
    """x positions for categories (in value order, a missing value last), jittered a little
    so that runs sharing a value stay visible."""
    import numpy as np

    names = [label(v) for v in distinct]
    position = {v: i for i, v in enumerate(distinct)}
    has_missing = values.isna().any()
    if has_missing:
        names.append(MISSING)
    x = np.array([len(distinct) if _isna(v) else position[v] for v in values.tolist()], float)
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, size=len(x))
    long = max(map(len, names)) > 9
    axes.set_xticks(range(len(names)), names, rotation=30 if long else 0,
                    ha="right" if long else "center")
    axes.set_xlim(-0.6, len(names) - 0.4)
    return x + jitter


def _isna(value) -> bool:
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):
        return False


def _legend(figure, count: int, metric: str, direction: str, top: float) -> None:
    from matplotlib.lines import Line2D

    better = "highest" if direction == "max" else "lowest"
    handles = [
        Line2D([], [], linestyle="", marker="o", markersize=9, markerfacecolor=BEST_COLOR,
               markeredgecolor="black",
               label=f"the {f'{count} best runs' if count > 1 else 'best run'} "
                     f"({better} {metric})"),
        Line2D([], [], linestyle="", marker="o", markersize=6, markerfacecolor=RUN_COLOR,
               markeredgecolor="none", alpha=0.6, label="other runs"),
    ]
    figure.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.005, top), ncols=2,
                  frameon=False, borderaxespad=0)


def _footnote(figure, runs, values, constant, columns, missing: int, metric: str,
              capped: str | None) -> None:
    notes = [capped] if capped else []
    if constant:
        same = ", ".join(f"{columns[c]}={label(values[c].iloc[0])}" for c in constant[:8])
        notes.append(f"Same in every run: {same}{' …' if len(constant) > 8 else ''}.")
    if missing:
        notes.append(f"{missing} run(s) without a finite {metric} are not shown.")
    if notes:
        figure.supxlabel("  ".join(notes), fontsize=9, color="#555555")
