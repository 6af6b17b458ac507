"""One self-contained HTML report of a sweep: summary, top runs, best value per group of each
hyperparameter, and the plots, embedded as PNG data, so the file opens offline anywhere.

The page is a ``string.Template`` (``templates/report.html``) filled with HTML built here;
every name that comes from the database (experiments, hyperparameters, metrics, values) is
escaped. No script, no external resource.
"""

from __future__ import annotations

import base64
import datetime as dt
import html as _html
import io
import math
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from ..errors import TrackerError
from ..optional import require_all
from ..text import literal
from .plots._common import MAX_GROUPS, Sweep, filter_text, hashable
from .plots._common import label as short_label

if TYPE_CHECKING:
    from ..store.filters import Where
    from ..store.repository import Repository

def escape(text: str) -> str:
    """``text`` as HTML text: markup escaped, control characters shown as escapes."""
    return _html.escape(literal(text, lines=True))


PREFERRED_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")
TOP_RUNS = 10
MAX_GROUP_ROWS = 20


def write_report(
    repo: Repository,
    path: str | Path,
    *,
    experiment: str | None = None,
    metric: str | None = None,
    group_by: str | None = None,
    where: Where = None,
) -> Path:
    """Write the report of ``experiment`` (default: every run) to ``path``.

    ``metric`` ranks and plots (default: the experiment's objective, else ``val_accuracy``,
    ``val_loss``, ...); ``group_by`` colours the learning curves (default: the hyperparameter
    with a few values whose groups differ most); ``where`` keeps the runs passing a filter
    (as ``Repository.runs`` takes it). Unknown names raise ``UnknownNameError``.

    >>> write_report(Repository(), "report.html", experiment="mnist")   # doctest: +SKIP
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise TrackerError(f"cannot write {str(path)!r}: there is no folder {path.parent}")
    html = build_report(repo, experiment=experiment, metric=metric, group_by=group_by,
                        where=where)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(path)
    return path


def build_report(
    repo: Repository,
    *,
    experiment: str | None = None,
    metric: str | None = None,
    group_by: str | None = None,
    where: Where = None,
) -> str:
    """The report as HTML text (see ``write_report``)."""
    require_all(("pandas", "matplotlib"), "The HTML report")
    sweep = Sweep(repo, experiment, where=where)
    runs = sweep.runs
    title = f"Sweep report: {experiment}" if experiment else "Sweep report: all experiments"
    if where:
        title += f" (runs where {filter_text(where)})"
    sections: list[tuple[str, str, str]] = []  # (anchor, heading, html)
    if runs.empty:
        sections.append(("summary", "Summary", "<p>No runs recorded yet.</p>"))
    else:
        metric = _choose_metric(repo, sweep, metric)
        sections.append(("summary", "Summary", _summary(repo, sweep, metric)))
        if metric is not None:
            sections += _ranked_sections(repo, sweep, metric, group_by)
    template = resources.files("tracker.analysis").joinpath("templates/report.html")
    page = Template(template.read_text(encoding="utf-8"))
    from .._version import __version__

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return page.substitute(
        version=escape(__version__),
        title=escape(title),
        subtitle=escape(f"{len(runs)} runs · database {repo.url} · generated {now}"),
        navigation=" ".join(f'<a href="#{a}">{escape(h)}</a>' for a, h, _ in sections),
        body="\n".join(f'<section id="{a}"><h2>{escape(h)}</h2>\n{html}</section>'
                       for a, h, html in sections),
        footer=escape(f"sweep-tracker {__version__}. Best values are over each run's finite "
                      "values at every epoch; NaN and ±inf never win."),
    )


def _ranked_sections(repo, sweep: Sweep, metric: str, group_by: str | None) -> list:
    from .plots import plot_compare, plot_curves, plot_hparams, plot_parallel

    experiment = sweep.experiment
    varying = _varying(sweep)
    if group_by is not None:
        sweep.column(group_by)  # an unknown name is an error, not a missing picture
    group_by = group_by or _choose_group(sweep, varying, metric)
    top = repo.top_runs(metric, TOP_RUNS, experiment=experiment,
                        mode=sweep.direction(metric), where=sweep.where)
    curves = _figure(lambda: plot_curves(sweep, metric, group_by=group_by),
                     f"{metric} at each epoch" + (f", coloured by {group_by}" if group_by else ""))
    sections = [
        ("top", f"Top {len(top)} runs by {metric}", _top_table(top, metric, varying)),
        ("importance", "Which hyperparameters matter", _importance(repo, sweep, metric)),
        ("curves", "Learning curves", curves),
        ("hparams", f"{metric} against each hyperparameter",
         _figure(lambda: plot_hparams(sweep, metric), f"best {metric} of each run")),
        ("parallel", "Parallel coordinates",
         _figure(lambda: plot_parallel(sweep, metric),
                 f"each run through its hyperparameters to its best {metric}, coloured by it")),
    ]
    per_group = []
    for name in varying:
        groups = repo.best_by(name, metric, experiment=experiment, mode=sweep.direction(metric),
                              where=sweep.where)
        table = _groups_table(groups, name, metric, sweep.direction(metric))
        picture = _figure(lambda name=name: plot_compare(sweep, name, metric),
                          f"best {metric} of each run, by {name}")
        per_group.append(f"<h3>{escape(name)}</h3><div class=\"pair\"><div class=\"scroll\">"
                         f"{table}</div>{picture}</div>")
    if per_group:
        sections.append(("groups", "Best per group of each hyperparameter", "\n".join(per_group)))
    return sections


# -- choices ----------------------------------------------------------------------------------


def _choose_metric(repo, sweep: Sweep, metric: str | None) -> str | None:
    if metric is not None:
        sweep.direction(metric)  # a clear error for an unknown metric or direction
        return metric
    directions = sweep.runs.attrs["directions"]
    objectives = {e.objective for e in repo.experiments()
                  if e.objective and (sweep.experiment in (None, e.name))}
    candidates = [*sorted(objectives), *PREFERRED_METRICS, *sorted(directions)]
    return next((m for m in candidates if m in directions), None)


def _varying(sweep: Sweep) -> list[str]:
    """Hyperparameter names whose value is not the same in every run."""
    runs = sweep.runs
    return [name for column, name in sweep.hyperparameters().items()
            if hashable(runs[column]).nunique(dropna=False) > 1]


def _choose_group(sweep: Sweep, varying: list[str], metric: str) -> str | None:
    """The hyperparameter with a few values whose groups' mean best value differ most."""
    runs, best = sweep.runs, sweep.best(metric)
    spread = {}
    for name in varying:
        values = hashable(runs[sweep.column(name)]).astype(str)
        if values.nunique() <= MAX_GROUPS:
            means = best.groupby(values).mean().dropna()
            spread[name] = means.max() - means.min() if len(means) > 1 else 0.0
    return max(spread, key=spread.get) if spread else (varying[0] if varying else None)


# -- sections ---------------------------------------------------------------------------------


def _summary(repo, sweep: Sweep, metric: str | None) -> str:
    runs = sweep.runs
    statuses = runs["status"].value_counts()
    cards = [
        ("runs", f"{len(runs)}"),
        ("status", ", ".join(f"{count} {status}" for status, count in statuses.items())),
        ("epochs per run", _range(runs["last_epoch"].dropna() + 1)),
        ("hyperparameters", str(len(sweep.hyperparameters()))),
        ("started", _when(runs["started_at"].min())),
        ("last ended", _when(runs["ended_at"].max())),
    ]
    if metric is not None:
        best = sweep.best(metric)
        direction = sweep.direction(metric)
        if best.notna().any():
            winner = best.idxmax() if direction == "max" else best.idxmin()
            cards.insert(0, (f"best {metric} ({direction})",
                             f"{_number(best[winner])} · run {runs['run_id'][winner]}"))
    if sweep.experiment is not None and "pruned" in statuses.index:
        stats = repo.prune_stats(sweep.experiment, metric)
        cards.append(("pruning", f"~{stats.epochs_saved} of "
                      f"{stats.epochs_trained + stats.epochs_saved} epochs saved; best run "
                      f"{'was' if stats.best_pruned else 'not'} pruned"))
    html = '<div class="cards">' + "".join(
        f'<div class="card"><div class="label">{escape(k)}</div>'
        f'<div class="value">{escape(v)}</div></div>' for k, v in cards) + "</div>"
    metrics = ", ".join(sweep.runs.attrs["metrics"]) or "none"
    html += f'<p class="note">Metrics recorded: {escape(metrics)}.</p>'
    constant = [n for n in sweep.hyperparameters().values() if n not in _varying(sweep)]
    if constant:
        first = runs.iloc[0]
        same = ", ".join(f"{n} = {short_label(first[sweep.column(n)], 40)}" for n in constant)
        html += f'<p class="note">Same in every run: {escape(same)}.</p>'
    if metric is None:
        html += ('<p class="warn">No metric with a known direction: pass --metric (and --mode)'
                 " to rank the runs and draw the plots.</p>")
    return html


def _top_table(top, metric: str, varying: list[str]) -> str:
    tagged = any(ranked.run.tags for ranked in top)
    headers = ["rank", "run", f"best {metric}", "epoch", "status", *varying,
               *(["tags"] if tagged else [])]
    rows = [
        [i, ranked.run.id, ranked.value, ranked.epoch, ranked.run.status,
         *[_value(ranked.run.hyperparameters.get(name)) for name in varying],
         *([", ".join(f"{k}={v}" for k, v in ranked.run.tags.items())] if tagged else [])]
        for i, ranked in enumerate(top, 1)
    ]
    return f'<div class="scroll">{_table(headers, rows, best_row=0)}</div>'


def _importance(repo, sweep: Sweep, metric: str) -> str:
    """The importance table (fANOVA share and rank correlation of each hyperparameter), or a
    note saying why there is none."""
    from .importance import rank

    try:
        ranking = rank(repo, metric, sweep.experiment, mode=sweep.direction(metric))
    except TrackerError as exc:
        return f'<p class="warn">Not computed: {escape(str(exc))}</p>'
    rows = "".join(
        f"<tr><td class=\"num\">{i}</td><td>{escape(row.name)}</td>"
        f'<td class="num">{row.importance:.3f}</td>'
        f'<td><meter min="0" max="1" value="{row.importance:.4f}">'
        f"{row.importance:.0%}</meter></td>"
        f'<td class="num">{NOTHING if row.correlation is None else f"{row.correlation:+.2f}"}'
        f'</td><td class="num">{row.runs}</td></tr>'
        for i, row in enumerate(ranking.rows, 1))
    head = "".join(f"<th>{h}</th>" for h in
                   ("rank", "hyperparameter", "importance", "", "correlation", "runs"))
    note = escape(
        f"Over the {ranking.used} completed runs with a finite {metric}. Importance: the "
        f"hyperparameter's share of the variance of the best {metric} (fANOVA on a random "
        "forest, as Optuna computes it; the shares sum to 1). Correlation: Spearman's rank "
        f"correlation, positive when larger values go with a larger {metric} (none for text).")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}'
            f'</tbody></table></div><p class="note">{note}</p>')


def _groups_table(groups, name: str, metric: str, direction: str) -> str:
    """``best_by``'s rows in value order; with many values (a continuous hyperparameter, one
    run each), only the best ones, ranked."""
    values = [g.value for g in groups if g.value is not None]
    best = (max if direction == "max" else min)(values) if values else None
    shown = groups
    note = ""
    if len(groups) > MAX_GROUP_ROWS:
        sign = -1 if direction == "max" else 1
        ranked = sorted(groups, key=lambda g: (g.value is None, sign * (g.value or 0.0)))
        shown = ranked[:MAX_GROUP_ROWS]
        note = (f'<p class="note">The {MAX_GROUP_ROWS} best of {len(groups)} distinct values, '
                "best first; the plot shows them all.</p>")
    rows = [[_value(g.group), g.value, g.run_id, g.epoch, g.runs] for g in shown]
    best_row = next((i for i, g in enumerate(shown) if g.value == best), None)
    return note + _table([name, f"best {metric}", "run", "epoch", "runs"], rows,
                         best_row=best_row)


def _table(headers: list[str], rows: list[list[Any]], *, best_row: int | None = None) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td class="num">{escape(_number(c) if isinstance(c, float) else str(c))}</td>'
            if isinstance(c, (int, float)) and not isinstance(c, bool)
            else f"<td>{escape(_text(c))}</td>" for c in row)
        body.append(f'<tr class="best">{cells}</tr>' if i == best_row else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(draw, caption: str) -> str:
    """A figure as an embedded PNG, or a note saying why it could not be drawn."""
    try:
        figure = draw()
    except TrackerError as exc:
        return f'<p class="warn">Not drawn: {escape(str(exc))}</p>'
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


# -- formatting -------------------------------------------------------------------------------


NOTHING = "\u2013"  # an en dash, for "no value"


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOTHING
    return format(value, ".6g")


def _value(value: Any) -> str:
    return "(none)" if value is None else short_label(value, 60)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _range(values) -> str:
    if len(values) == 0:
        return NOTHING
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low} to {high}"


def _when(value) -> str:
    try:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    except (AttributeError, ValueError):  # NaT or None
        return NOTHING
