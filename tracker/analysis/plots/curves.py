"""Learning curves: one thin line per run, coloured by its group, each group's mean in bold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import Sweep, group_runs, new_figure, no_data

MEAN_COLOR = "#1a2f5a"  # the mean over all runs, darker than their thin lines

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...store.filters import Where
    from ...store.repository import Repository


def plot_curves(
    source: Sweep | Repository | str | None = None,
    metric: str | None = None,
    *,
    group_by: str | None = None,
    experiment: str | None = None,
    where: Where = None,
) -> Figure:
    """``metric`` against the epoch for every run: one thin line per run, coloured by the run's
    value of ``group_by`` (ranges of values when there are many), the mean of each group in
    bold; the legend lists groups, not runs, so it stays readable for hundreds of runs.

    ``source``: a ``Repository``, a database URL, or a ``Sweep`` already loaded. ``metric``
    defaults to the experiment's objective; ``where`` draws only the runs passing a filter.

    >>> figure = plot_curves(repo, "val_loss", group_by="learning_rate")   # doctest: +SKIP
    >>> figure.savefig("curves.png")                                       # doctest: +SKIP
    """
    sweep = Sweep.of(source, experiment, where=where)
    metric = sweep.metric(metric)
    sweep.check_metric(metric)
    runs = sweep.runs
    epochs = sweep.epochs(metric)
    figure = new_figure(11, 6)
    if epochs.empty:
        return no_data(figure, f"no {metric} values in {sweep.title}")
    groups = group_runs(runs[sweep.column(group_by)] if group_by else None, len(runs))
    group_of = dict(zip(runs["run_id"], groups.labels, strict=True))
    axes = figure.add_subplot()
    data = epochs.assign(group=epochs["run_id"].map(group_of), value=_drawable(epochs["value"]))
    diverged = int(epochs.loc[~_finite_mask(epochs["value"]), "run_id"].nunique())
    _draw_runs(axes, data, groups, len(runs))
    handles = _draw_means(axes, data, groups)
    _limits(axes, data["value"])
    _decorate(axes, figure, sweep, metric, group_by, runs, handles, diverged)
    return figure


def _draw_runs(axes, data, groups, count: int) -> None:
    from matplotlib.collections import LineCollection

    alpha = 0.7 if count <= 10 else 0.45 if count <= 40 else 0.3 if count <= 150 else 0.15
    single = data["epoch"].nunique() == 1
    for name, part in data.groupby("group", sort=False):
        color = groups.colors[name]
        if single:
            axes.scatter(part["epoch"], part["value"], s=14, color=color, alpha=alpha)
            continue
        lines = [run[["epoch", "value"]].to_numpy() for _, run in part.groupby("run_id")]
        axes.add_collection(LineCollection(lines, colors=[color], linewidths=0.9, alpha=alpha))


def _draw_means(axes, data, groups) -> list:
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    halo = [patheffects.withStroke(linewidth=4.6, foreground="white", alpha=0.85)]
    sizes = data.groupby("group")["run_id"].nunique()
    means = data.groupby(["group", "epoch"])["value"].mean()
    handles = []
    for name in groups.order:
        if name not in sizes.index:
            continue
        mean = means.loc[name].dropna()
        color = groups.colors[name] if len(groups.order) > 1 else MEAN_COLOR
        axes.plot(mean.index, mean.to_numpy(), color=color, linewidth=2.8, path_effects=halo,
                  marker="o" if len(mean) <= 3 else None, zorder=3)
        handles.append(Line2D([], [], color=color, linewidth=2.8,
                              label=f"{name}  (n={sizes[name]})"))
    return handles


def _decorate(axes, figure, sweep, metric, group_by, runs, handles, diverged: int) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.grid(True, color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)
    by = f", coloured by {group_by}" if group_by else ""
    axes.set_title(f"{metric} per epoch — {sweep.title}, {len(runs)} runs{by}", loc="left",
                   fontsize=13)
    guide = [
        Line2D([], [], color="#777777", linewidth=0.9, label="one thin line per run"),
        Line2D([], [], color="#777777", linewidth=2.8, label="bold: mean of the group"
               if group_by else "bold: mean over runs"),
    ]
    axes.legend(handles=handles + guide if group_by else guide, title=group_by,
                loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=10)
    if diverged:
        axes.annotate(f"{diverged} run(s) reached NaN or ±inf: not drawn from there",
                      xy=(0, -0.12), xycoords="axes fraction", fontsize=9, color="#b22222")


def _limits(axes, values) -> None:
    """Autoscale, but keep a few exploding runs from flattening every other curve: when the
    full range is far wider than the 1st-99th percentile range, show the latter."""
    axes.autoscale_view()
    shown = values.dropna()
    if len(shown) < 20:
        return
    low, high = shown.quantile(0.01), shown.quantile(0.99)
    if high > low and shown.max() - shown.min() > 4 * (high - low):
        pad = 0.08 * (high - low)
        axes.set_ylim(low - pad, high + pad)
        axes.annotate("y axis limited to the 1st-99th percentile of values",
                      xy=(1.0, -0.12), xycoords="axes fraction", ha="right", fontsize=9,
                      color="#555555")


def _finite_mask(values):
    import numpy as np

    return np.isfinite(values.to_numpy())


def _drawable(values):
    return values.where(_finite_mask(values))
