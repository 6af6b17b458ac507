"""The names an experiment recorded (hyperparameters, metrics) and the run fields, and the
``UnknownNameError`` that names them when a query asks for one that is not there.

Checks are cheap on the happy path: a name that exists is found by the first run that has it
(one index seek per run until then); the full lists are read only to explain an error, or for
``Repository.names``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from sqlalchemy import Connection, Select, exists, select

from ..errors import DirectionError, TrackerError, UnknownNameError
from .records import ExperimentInfo, RecordedNames
from .values import check_mode, infer_direction
from .visibility import Deleted, run_visibility
from .writes import experiments as e
from .writes import hyperparameters as h
from .writes import run_metrics as s
from .writes import run_tags as t
from .writes import runs as r

# Run fields a filter can name, and what they hold.
FIELDS: dict[str, str] = {
    "status": "text", "trial_id": "text", "worker": "text", "source": "text", "name": "text",
    "execution": "number", "attempt": "number", "id": "number", "score": "number",
}
_LISTED = 30  # names shown in an error message; the rest are counted


def experiment_runs(experiment_id: int | None, deleted: Deleted = False) -> Select:
    """The ids of an experiment's visible runs (``experiment_id`` None: of every one;
    ``deleted``: as ``RunSelection`` takes it)."""
    if experiment_id is None:
        return select(r.c.id).where(run_visibility(deleted))
    return select(r.c.id).where(r.c.experiment_id == experiment_id, run_visibility(deleted))


def recorded_names(conn: Connection, experiment_id: int | None,
                   experiment: str | None) -> RecordedNames:
    """Every hyperparameter (with the kinds of value it holds) and metric recorded by the
    experiment's runs (every run's with ``experiment_id`` None), and the run fields."""
    hp = select(h.c.name, h.c.kind).distinct()
    metrics = select(s.c.name).distinct()
    ids = experiment_runs(experiment_id)
    if ids is not None:
        hp = hp.where(h.c.run_id.in_(ids))
        metrics = metrics.where(s.c.run_id.in_(ids))
    kinds: dict[str, set[str]] = {}
    for name, kind in conn.execute(hp):
        kinds.setdefault(name, set()).add(kind)
    tags = select(t.c.key).distinct().where(t.c.run_id.in_(ids))
    return RecordedNames(
        experiment=experiment,
        hyperparameters={name: tuple(sorted(kinds[name])) for name in sorted(kinds)},
        metrics=tuple(sorted(conn.execute(metrics).scalars())),
        fields=tuple(FIELDS),
        tags=tuple(sorted(conn.execute(tags).scalars())),
    )


def hyperparameter_kinds(conn: Connection, names: Iterable[str], experiment_id: int | None,
                         deleted: Deleted = False) -> dict[str, set[str]]:
    """The kinds of value each of ``names`` holds in the experiment (absent: never recorded)."""
    names = sorted(set(names))
    if not names:
        return {}
    stmt = select(h.c.name, h.c.kind).where(h.c.name.in_(names)).distinct()
    ids = experiment_runs(experiment_id, deleted)
    if ids is not None:
        stmt = stmt.where(h.c.run_id.in_(ids))
    found: dict[str, set[str]] = {}
    for name, kind in conn.execute(stmt):
        found.setdefault(name, set()).add(kind)
    return found


def metrics_present(conn: Connection, names: Iterable[str], experiment_id: int | None,
                    deleted: Deleted = False) -> set[str]:
    """Those of ``names`` that some run of the experiment recorded, in one statement."""
    names = sorted(set(names))
    if not names:
        return set()
    checks = []
    for name in names:
        mine = s.c.name == name
        if experiment_id is None:
            checks.append(exists().where(mine, s.c.run_id.in_(experiment_runs(None, deleted))))
        else:  # from the experiment's runs: one primary-key seek each, until one has it
            checks.append(exists().where(r.c.experiment_id == experiment_id,
                                         run_visibility(deleted),
                                         exists().where(s.c.run_id == r.c.id, mine)))
    row = conn.execute(select(*(check.label(f"m{i}") for i, check in enumerate(checks)))).one()
    return {name for name, present in zip(names, row, strict=True) if present}


def check_metric(conn: Connection, name: str, experiment_id: int | None,
                 experiment: str | None) -> None:
    """``UnknownNameError`` unless some run of the experiment recorded metric ``name``."""
    if name not in metrics_present(conn, [name], experiment_id):
        raise unknown_metric(conn, name, experiment_id, experiment)


def check_hyperparameter(conn: Connection, name: str, experiment_id: int | None,
                         experiment: str | None) -> None:
    """``UnknownNameError`` unless some run of the experiment has hyperparameter ``name``."""
    if name not in hyperparameter_kinds(conn, [name], experiment_id):
        raise unknown_hyperparameter(conn, name, experiment_id, experiment)


def unknown_metric(conn: Connection, name: str, experiment_id: int | None,
                   experiment: str | None) -> UnknownNameError:
    known = recorded_names(conn, experiment_id, experiment).metrics
    return UnknownNameError(unknown_message("metric", name, known, experiment), known=known,
                            experiment=experiment)


def unknown_hyperparameter(conn: Connection, name: str, experiment_id: int | None,
                           experiment: str | None) -> UnknownNameError:
    known = tuple(recorded_names(conn, experiment_id, experiment).hyperparameters)
    return UnknownNameError(unknown_message("hyperparameter", name, known, experiment),
                            known=known, experiment=experiment)


def where_text(experiment: str | None) -> str:
    return f"experiment {experiment!r}" if experiment is not None else "any experiment"


def unknown_message(what: str, name: str, known: Iterable[str], experiment: str | None) -> str:
    """``no metric 'val_acc' in experiment 'mnist'; did you mean 'val_accuracy'? (recorded:
    ...)``."""
    known = list(known)
    return f"no {what} {name!r} in {where_text(experiment)}{suggestion(name, known)} " \
        f"({listing(known)})"


def suggestion(wanted: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(wanted, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def listing(known: Iterable[str], label: str = "recorded") -> str:
    """``recorded: a, b, c`` (the first few, then how many more)."""
    known = list(known)
    if not known:
        return f"{label}: none"
    shown = ", ".join(known[:_LISTED])
    if len(known) > _LISTED:
        shown += f" and {len(known) - _LISTED} more"
    return f"{label}: {shown}"

class MetricRequired(TrackerError, ValueError):
    """No metric was given and the experiment has no objective to default to."""


def default_metric(conn: Connection, experiment_id: int | None, experiment: str | None) -> str:
    """The experiment's objective (with no experiment: the objective every experiment that has
    one shares), else ``MetricRequired`` listing the recorded metrics."""
    stmt = select(e.c.objective).where(e.c.objective.is_not(None)).distinct()
    if experiment_id is not None:
        stmt = stmt.where(e.c.id == experiment_id)
    objectives = sorted(conn.execute(stmt).scalars())
    if len(objectives) == 1:
        return objectives[0]
    known = recorded_names(conn, experiment_id, experiment).metrics
    why = ("the experiments have different objectives" if objectives
           else f"{where_text(experiment)} has no objective")
    raise MetricRequired(f"pass the metric: {why} ({listing(known)})")


def metric_direction(conn: Connection, metric: str, mode: str | None,
                     experiment_id: int | None, experiment: str | None,
                     found: ExperimentInfo | None = None) -> str:
    """``mode`` if given; else the experiment's objective direction when ``metric`` is its
    objective (``found``: the experiment, already read); else from the name
    (``DirectionError`` when it does not tell, or ``UnknownNameError`` when the metric was
    never recorded)."""
    if mode is not None:
        return check_mode(mode)
    if found is not None:
        directions = {found.direction} if found.objective == metric and found.direction else set()
    else:
        stmt = select(e.c.direction).where(e.c.objective == metric, e.c.direction.is_not(None))
        if experiment_id is not None:
            stmt = stmt.where(e.c.id == experiment_id)
        directions = set(conn.execute(stmt.distinct()).scalars())
    if len(directions) == 1:
        return directions.pop()
    try:
        return infer_direction(metric)
    except DirectionError:
        check_metric(conn, metric, experiment_id, experiment)  # an unknown name comes first
        raise
