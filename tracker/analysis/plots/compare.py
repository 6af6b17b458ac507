"""One box per group: the spread of a metric over the runs sharing a hyperparameter's value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import BEST_COLOR, Sweep, group_runs, label, new_figure, no_data

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...store.filters import Where
    from ...store.repository import Repository


def plot_compare(
    source: Sweep | Repository | str | None = None,
    group_by: str = "batch_size",
    metric: str | None = None,
    *,
    experiment: str | None = None,
    mode: str | None = None,
    where: Where = None,
) -> Figure:
    """Each run's best ``metric`` (over its epochs), one box per value of ``group_by`` with
    every run drawn as a point on it, the number of runs under each box, and the best run
    marked with a star.

    >>> plot_compare(repo, "batch_size", "val_accuracy").savefig("compare.png")  # doctest: +SKIP
    """
    import numpy as np

    sweep = Sweep.of(source, experiment, mode, metric, where)
    metric = sweep.metric(metric)
    best = sweep.best(metric)
    direction = sweep.direction(metric)
    runs = sweep.runs
    groups = group_runs(runs[sweep.column(group_by)], len(runs))
    labels = np.array(groups.labels, dtype=object)
    figure = new_figure(max(6.5, 1.1 * len(groups.order) + 3.5), 5.8)
    if best.notna().sum() == 0:
        return no_data(figure, f"no run has a finite {metric} ({sweep.title})")
    axes = figure.add_subplot()
    rng = np.random.default_rng(0)
    ticks = []
    x_of = {}  # run index -> where its point is drawn
    for position, name in enumerate(groups.order):
        members = best[labels == name].dropna()
        values = members.to_numpy()
        total = int((labels == name).sum())
        ticks.append(f"{name}\n(n={total})")
        color = groups.colors[name]
        if len(values) == 0:
            axes.text(position, 0.5, "no finite\nvalue", transform=axes.get_xaxis_transform(),
                      ha="center", va="center", fontsize=9, color="#777777")
            continue
        box = axes.boxplot([values], positions=[position], widths=0.55, patch_artist=True,
                           showfliers=False, medianprops={"color": "black", "linewidth": 1.6},
                           whiskerprops={"color": "#555555"}, capprops={"color": "#555555"})
        for patch in box["boxes"]:
            patch.set(facecolor=color, alpha=0.35, edgecolor="#555555")
        x = position + rng.uniform(-0.14, 0.14, size=len(values))
        x_of.update(zip(members.index, x, strict=True))
        axes.scatter(x, values, s=24, color=color, edgecolors="#333333",
                     linewidths=0.5, zorder=3)
    winner = best.idxmax() if direction == "max" else best.idxmin()
    axes.scatter([x_of[winner]], [best[winner]], marker="*", s=260, color=BEST_COLOR,
                 edgecolors="black", linewidths=0.8, zorder=4,
                 label=f"best run: {label(best[winner], 12)} (run {runs['run_id'][winner]})")
    axes.set_xticks(range(len(ticks)), ticks)
    axes.set_xlim(-0.7, len(ticks) - 0.3)
    axes.set_xlabel(group_by)
    better = "higher" if direction == "max" else "lower"
    axes.set_ylabel(f"best {metric} per run (over its epochs; {better} is better)")
    axes.grid(True, axis="y", color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.legend(loc="best", frameon=True, fontsize=9)
    axes.set_title(f"Best {metric} per run, by {group_by} — {sweep.title}", loc="left",
                   fontsize=13)
    return figure
