"""The read and analysis queries, as functions of an open connection returning frozen
records. Each is a fixed number of set-based statements, never one query per run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Label, Select, func, select

from ..errors import NotFoundError
from . import stale
from .filters import RunSelection
from .records import ExperimentInfo, GroupBest, MetricPoint, RankedRun, RunInfo
from .values import decode_hyperparameter, decode_metric
from .values import hyperparameter_sort_key as _hp_sort_key
from .visibility import Deleted, experiment_visibility, run_visibility
from .writes import epoch_metrics as m
from .writes import experiments as e
from .writes import hyperparameters as h
from .writes import run_metrics as s
from .writes import run_tags as t
from .writes import runs as r


def experiments(conn: Connection, deleted: Deleted = False) -> list[ExperimentInfo]:
    """Every visible experiment with its number of visible runs (``deleted=True``: deleted
    experiments, and those holding deleted runs, with their deleted runs)."""
    counts = (
        select(r.c.experiment_id, func.count().label("n")).where(run_visibility(deleted))
        .group_by(r.c.experiment_id).subquery()
    )
    stmt = (
        select(e, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.experiment_id == e.c.id)
        .order_by(e.c.created_at, e.c.id)
    )
    if deleted:
        stmt = stmt.where(experiment_visibility(True) | (counts.c.n > 0))
    else:
        stmt = stmt.where(experiment_visibility(deleted))
    return [
        ExperimentInfo(row.id, row.name, row.objective, row.direction, row.created_at, row.n)
        for row in conn.execute(stmt)
    ]


def experiment(conn: Connection, name: str, deleted: Deleted = False) -> ExperimentInfo:
    """The experiment called ``name``, or ``NotFoundError`` listing the known ones (and
    saying so when it was deleted or renamed)."""
    row = conn.execute(select(e).where(e.c.name == name)).first()
    if row is not None and deleted is not None and (row.deleted_at is not None) != deleted:
        if deleted:
            raise NotFoundError(f"experiment {name!r} is not deleted")
        raise NotFoundError(f"experiment {name!r} is deleted: `tracker restore -e {name}` "
                            "brings it back")
    if row is None:
        from .curation_sql import renamed_to

        if (new := renamed_to(conn, name)) is not None:
            raise NotFoundError(f"experiment {name!r} was renamed to {new!r}")
        known = conn.execute(select(e.c.name).where(experiment_visibility())
                             .order_by(e.c.name).limit(20)).scalars().all()
        hint = f" (known: {', '.join(known)})" if known else " (the database holds none yet)"
        raise NotFoundError(f"no experiment named {name!r}{hint}")
    return ExperimentInfo(row.id, row.name, row.objective, row.direction, row.created_at)


def runs(
    conn: Connection,
    selection: RunSelection | None = None,
    *,
    status: str | Sequence[str] | None = None,
    run_ids: Iterable[int] | None = None,
    stale_before: dt.datetime | None = None,
) -> list[RunInfo]:
    """The selected runs (default: every visible run) in id order, each with its
    hyperparameters and tags (three statements in all). With ``stale_before``, a running run
    not seen since then has the status ``stale``."""
    stmt = (selection or RunSelection()).apply(_runs_select())
    if status is not None:
        if stale_before is not None:
            stmt = stmt.where(stale.status_filter(status, stale_before))
        else:
            stmt = stmt.where(r.c.status.in_([status] if isinstance(status, str) else list(status)))
    if run_ids is not None:
        stmt = stmt.where(r.c.id.in_(list(run_ids)))
    rows = conn.execute(stmt.order_by(r.c.id)).all()
    if not rows:
        return []
    ids = stmt.with_only_columns(r.c.id)
    hparams, tags = hyperparameters_of(conn, ids), tags_of(conn, ids)
    return [_run_info(row, hparams.get(row.id, {}), stale_before, tags.get(row.id))
            for row in rows]


def run(conn: Connection, ref: int | str, stale_before: dt.datetime | None = None,
        deleted: Deleted = False) -> RunInfo:
    """One run by id or by client key (``deleted``: as ``RunSelection`` takes it)."""
    stmt = _runs_select()
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        stmt = stmt.where(r.c.id == int(ref))
    else:
        stmt = stmt.where(r.c.key == ref)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFoundError(f"no run {ref!r}")
    gone = row.deleted_at is not None or row.experiment_deleted_at is not None
    if deleted is not None and gone != deleted:
        if deleted:
            raise NotFoundError(f"run {ref!r} is not deleted")
        raise NotFoundError(f"run {ref!r} is deleted: `tracker restore {ref}` brings it back "
                            "(`tracker runs --deleted` lists deleted runs)")
    ids = select(r.c.id).where(r.c.id == row.id)
    hparams, tags = hyperparameters_of(conn, ids), tags_of(conn, ids)
    return _run_info(row, hparams.get(row.id, {}), stale_before, tags.get(row.id))


def history(conn: Connection, run_id: int, metric: str | None = None) -> list[MetricPoint]:
    stmt = select(m.c.epoch, m.c.name, m.c.value, m.c.value_kind).where(m.c.run_id == run_id)
    if metric is not None:
        stmt = stmt.where(m.c.name == metric)
    return [
        MetricPoint(run_id, row.epoch, row.name, decode_metric(row.value, row.value_kind))
        for row in conn.execute(stmt.order_by(m.c.name, m.c.epoch))
    ]


OVER = ("best", "last")
# Aliases are built once: setting one up costs SQLAlchemy more than running a small query.
_HP_ALIASES = {c: h.alias(f"hp_{c}") for c in ("kind", "num_value", "text_value")}
_RUN_VALUES = s.alias("run_values")
_RUN_EPOCHS = m.alias("run_epochs")
_RUN_LAST = s.alias("run_last")


def check_over(over: str) -> str:
    if over not in OVER:
        raise ValueError(f"over must be 'best' or 'last', not {over!r}")
    return over


def best_by(
    conn: Connection,
    hyperparameter: str,
    metric: str,
    mode: str,
    selection: RunSelection,
    over: str = "best",
) -> list[GroupBest]:
    """Per distinct value of ``hyperparameter`` among the selected runs: the best finite
    ``metric`` over every epoch of every run in the group (``over="last"``: over the final
    epoch of each run), the (lowest) run id and epoch reaching it, and the group's size.

    One statement, driven by the selected runs: each run's value of the hyperparameter and its
    best (or last) value of the metric are primary-key seeks (``hyperparameters``,
    ``run_metrics``) in per-run sub-plans, never a join whose method the planner would pick
    from statistics (a fresh database has none); one window over the runs then picks each
    group's winner, and one index seek per group finds its epoch."""
    check_over(over)

    def of_run(column: str, run_id) -> Label:
        own = _HP_ALIASES[column]
        stmt = select(own.c[column]).where(own.c.run_id == run_id, own.c.name == hyperparameter)
        return stmt.scalar_subquery().label(column)

    per_run = selection.apply(
        select(r.c.id.label("run_id"), of_run("kind", r.c.id), of_run("text_value", r.c.id),
               run_value(metric, mode, over, r.c.id))
    ).subquery()
    group = (per_run.c.kind, per_run.c.text_value)
    ranked = select(
        per_run,
        func.row_number()
        .over(partition_by=group, order_by=(_ordered(per_run.c.value, mode), per_run.c.run_id))
        .label("rank"),
        func.count().over(partition_by=group).label("runs"),
    ).subquery()
    winners = select(
        ranked.c.kind, of_run("num_value", ranked.c.run_id), ranked.c.text_value,
        ranked.c.run_id, ranked.c.value, ranked.c.runs,
        run_epoch(metric, over, ranked.c.run_id, ranked.c.value),
    ).where(ranked.c.rank == 1)
    # Runs without the hyperparameter make one group of NULLs, left out here.
    groups = [g for g in conn.execute(winners) if g.kind is not None]
    groups.sort(key=lambda g: _hp_sort_key(g.kind, g.num_value, g.text_value))
    return [
        GroupBest(
            group=decode_hyperparameter(g.kind, g.num_value, g.text_value),
            value=g.value,
            run_id=None if g.value is None else g.run_id,
            epoch=None if g.value is None else g.epoch,
            runs=g.runs,
        )
        for g in groups
    ]


def top_runs(
    conn: Connection,
    metric: str,
    k: int,
    mode: str,
    selection: RunSelection,
    over: str = "best",
    stale_before: dt.datetime | None = None,
) -> list[RankedRun]:
    """The ``k`` selected runs with the best finite ``metric`` at any epoch (``over="last"``:
    at their final epoch), best first (ties: lowest run id)."""
    check_over(over)
    per_run = selection.apply(
        select(r.c.id.label("run_id"), run_value(metric, mode, over, r.c.id))
    ).subquery()
    # NULL (no finite value) sorts last and is dropped below: a WHERE on the value would make
    # PostgreSQL evaluate the per-run seek twice.
    best = (
        select(per_run)
        .order_by(_ordered(per_run.c.value, mode), per_run.c.run_id)
        .limit(k)
        .subquery()
    )
    top = [
        row
        for row in conn.execute(
            select(best, run_epoch(metric, over, best.c.run_id, best.c.value)).order_by(
                _ordered(best.c.value, mode), best.c.run_id
            )
        )
        if row.value is not None
    ]
    if not top:
        return []
    ids = [row.run_id for row in top]
    infos = {info.id: info for info in runs(conn, run_ids=ids, stale_before=stale_before)}
    return [RankedRun(infos[row.run_id], row.value, row.epoch) for row in top]


def run_value(metric: str, mode: str, over: str, run_id) -> Label:
    """Column ``value``: the run's best finite ``metric`` in direction ``mode``
    (``over="last"``: its value at its final epoch, NULL when that is NaN or +/-inf), read from
    the ``run_metrics`` summary the database keeps: one primary-key seek."""
    summary = _RUN_VALUES
    if over == "best":
        pick = summary.c.high if mode == "max" else summary.c.low
    else:
        pick = summary.c.last_value
    stmt = select(pick).where(summary.c.run_id == run_id, summary.c.name == metric)
    return stmt.scalar_subquery().label("value")


def run_epoch(metric: str, over: str, run_id, value) -> Label:
    """Column ``epoch``: the first epoch at which the run reached ``value`` (one seek in the
    ``(run_id, name, value)`` index; ``over="last"``: its final epoch holding ``metric``)."""
    if over == "best":
        own = _RUN_EPOCHS
        stmt = select(func.min(own.c.epoch)).where(
            own.c.run_id == run_id, own.c.name == metric, own.c.value == value
        )
    else:
        summary = _RUN_LAST
        stmt = select(summary.c.last_epoch).where(
            summary.c.run_id == run_id, summary.c.name == metric
        )
    return stmt.scalar_subquery().label("epoch")


def _ordered(column, mode: str):
    return (column.desc() if mode == "max" else column.asc()).nulls_last()


# -- helpers ----------------------------------------------------------------------------------


def _runs_select() -> Select:
    return select(r, e.c.name.label("experiment_name"),
                  e.c.deleted_at.label("experiment_deleted_at")).join(
        e, e.c.id == r.c.experiment_id)


def _run_info(row, hyperparameters: dict[str, Any], stale_before=None,
              tags: dict[str, str] | None = None) -> RunInfo:
    return RunInfo(
        id=row.id,
        key=row.key,
        experiment=row.experiment_name,
        name=row.name,
        trial_id=row.trial_id,
        execution=row.execution,
        status=stale.derived_status(row.status, row.heartbeat_at, row.started_at, stale_before),
        started_at=row.started_at,
        ended_at=row.ended_at,
        error=row.error,
        hyperparameters=hyperparameters,
        attempt=row.attempt,
        worker=row.worker,
        score=row.score,
        heartbeat_at=row.heartbeat_at,
        source=row.source,
        history_complete=bool(row.history_complete),
        tags=tags or {},
        note=row.note,
        deleted_at=row.deleted_at or row.experiment_deleted_at,
    )


def tags_of(conn: Connection, run_ids: Select) -> dict[int, dict[str, str]]:
    """Each run's tags (key -> text), for the runs whose ids ``run_ids`` selects."""
    stmt = select(t.c.run_id, t.c.key, t.c.value).where(t.c.run_id.in_(run_ids))
    result: dict[int, dict[str, str]] = {}
    for run_id, key, value in conn.execute(stmt.order_by(t.c.run_id, t.c.key)):
        result.setdefault(run_id, {})[key] = value
    return result


def hyperparameters_of(conn: Connection, run_ids: Select) -> dict[int, dict[str, Any]]:
    stmt = (
        select(h.c.run_id, h.c.name, h.c.kind, h.c.num_value, h.c.text_value)
        .where(h.c.run_id.in_(run_ids))
        .order_by(h.c.run_id, h.c.name)
    )
    result: dict[int, dict[str, Any]] = {}
    for row in conn.execute(stmt):
        result.setdefault(row.run_id, {})[row.name] = decode_hyperparameter(
            row.kind, row.num_value, row.text_value
        )
    return result
