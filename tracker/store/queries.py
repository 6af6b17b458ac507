"""The read and analysis queries, as functions of an open connection returning frozen
records. Each is a fixed number of set-based statements, never one query per run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Label, Select, and_, exists, func, or_, select

from ..errors import NotFoundError
from . import stale
from .models import HyperparameterKind
from .records import ExperimentInfo, GroupBest, MetricPoint, RankedRun, RunInfo
from .values import decode_hyperparameter, decode_metric, encode_hyperparameter
from .values import hyperparameter_sort_key as _hp_sort_key
from .writes import epoch_metrics as m
from .writes import experiments as e
from .writes import hyperparameters as h
from .writes import runs as r

_NUMERIC_KINDS = (HyperparameterKind.INT.value, HyperparameterKind.FLOAT.value)


def experiments(conn: Connection) -> list[ExperimentInfo]:
    counts = (
        select(r.c.experiment_id, func.count().label("n")).group_by(r.c.experiment_id).subquery()
    )
    stmt = (
        select(e, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.experiment_id == e.c.id)
        .order_by(e.c.created_at, e.c.id)
    )
    return [
        ExperimentInfo(row.id, row.name, row.objective, row.direction, row.created_at, row.n)
        for row in conn.execute(stmt)
    ]


def experiment(conn: Connection, name: str) -> ExperimentInfo:
    """The experiment called ``name``, or ``NotFoundError`` listing the known ones."""
    row = conn.execute(select(e).where(e.c.name == name)).first()
    if row is None:
        known = conn.execute(select(e.c.name).order_by(e.c.name).limit(20)).scalars().all()
        hint = f" (known: {', '.join(known)})" if known else " (the database holds none yet)"
        raise NotFoundError(f"no experiment named {name!r}{hint}")
    return ExperimentInfo(row.id, row.name, row.objective, row.direction, row.created_at)


def runs(
    conn: Connection,
    experiment_id: int | None = None,
    *,
    where: Mapping[str, Any] | None = None,
    status: str | Sequence[str] | None = None,
    run_ids: Iterable[int] | None = None,
    stale_before: dt.datetime | None = None,
) -> list[RunInfo]:
    """Runs in id order, each with its hyperparameters (two statements in all). With
    ``stale_before``, a running run not seen since then has the status ``stale``."""
    stmt = _runs_select()
    if experiment_id is not None:
        stmt = stmt.where(r.c.experiment_id == experiment_id)
    if status is not None:
        if stale_before is not None:
            stmt = stmt.where(stale.status_filter(status, stale_before))
        else:
            stmt = stmt.where(r.c.status.in_([status] if isinstance(status, str) else list(status)))
    if run_ids is not None:
        stmt = stmt.where(r.c.id.in_(list(run_ids)))
    for name, wanted in (where or {}).items():
        stmt = stmt.where(_has_hyperparameter(name, wanted))
    rows = conn.execute(stmt.order_by(r.c.id)).all()
    hparams = hyperparameters_of(conn, stmt.with_only_columns(r.c.id))
    return [_run_info(row, hparams.get(row.id, {}), stale_before) for row in rows]


def run(conn: Connection, ref: int | str, stale_before: dt.datetime | None = None) -> RunInfo:
    """One run by id or by client key."""
    stmt = _runs_select()
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        stmt = stmt.where(r.c.id == int(ref))
    else:
        stmt = stmt.where(r.c.key == ref)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFoundError(f"no run {ref!r}")
    hparams = hyperparameters_of(conn, select(r.c.id).where(r.c.id == row.id))
    return _run_info(row, hparams.get(row.id, {}), stale_before)


def history(conn: Connection, run_id: int, metric: str | None = None) -> list[MetricPoint]:
    stmt = select(m.c.epoch, m.c.name, m.c.value, m.c.value_kind).where(m.c.run_id == run_id)
    if metric is not None:
        stmt = stmt.where(m.c.name == metric)
    return [
        MetricPoint(run_id, row.epoch, row.name, decode_metric(row.value, row.value_kind))
        for row in conn.execute(stmt.order_by(m.c.name, m.c.epoch))
    ]


OVER = ("best", "last")


def check_over(over: str) -> str:
    if over not in OVER:
        raise ValueError(f"over must be 'best' or 'last', not {over!r}")
    return over


def metric_rows(metric: str, over: str, experiment_id: int | None = None) -> Select:
    """``(run_id, epoch, value, value_kind)`` of ``metric``: every epoch (``over="best"``), or
    only each run's final epoch holding the metric (``over="last"``)."""

    def of_experiment(stmt: Select) -> Select:
        if experiment_id is None:
            return stmt
        return stmt.join(r, r.c.id == m.c.run_id).where(r.c.experiment_id == experiment_id)

    stmt = of_experiment(
        select(m.c.run_id, m.c.epoch, m.c.value, m.c.value_kind).where(m.c.name == metric)
    )
    if check_over(over) == "last":
        last = of_experiment(
            select(m.c.run_id, func.max(m.c.epoch).label("epoch")).where(m.c.name == metric)
        )
        last = last.group_by(m.c.run_id).subquery()
        stmt = stmt.join(last, and_(last.c.run_id == m.c.run_id, last.c.epoch == m.c.epoch))
    return stmt


def best_by(
    conn: Connection,
    hyperparameter: str,
    metric: str,
    mode: str,
    experiment_id: int | None,
    over: str = "best",
) -> list[GroupBest]:
    """Per distinct value of ``hyperparameter``: the best finite ``metric`` over every epoch of
    every run in the group (``over="last"``: over the final epoch of each run), and the
    (lowest) run id and epoch reaching it.

    Set-based and index-driven: each run's own best is one seek in the (run_id, name, value)
    index (see ``run_value``), then one window over the runs picks each group's winner."""
    check_over(over)
    per_run = select(
        h.c.kind, h.c.text_value, h.c.run_id, run_value(metric, mode, over, h.c.run_id)
    ).where(h.c.name == hyperparameter)
    if experiment_id is not None:
        per_run = per_run.join(r, r.c.id == h.c.run_id).where(r.c.experiment_id == experiment_id)
    per_run = per_run.subquery()
    ranked = select(
        per_run,
        func.row_number()
        .over(
            partition_by=(per_run.c.kind, per_run.c.text_value),
            order_by=(_ordered(per_run.c.value, mode), per_run.c.run_id),
        )
        .label("rank"),
    ).subquery()
    winners = select(
        ranked.c.kind,
        ranked.c.text_value,
        ranked.c.run_id,
        ranked.c.value,
        run_epoch(metric, over, ranked.c.run_id, ranked.c.value),
    ).where(ranked.c.rank == 1, ranked.c.value.is_not(None))
    best = {(row.kind, row.text_value): row for row in conn.execute(winners)}
    sizes = select(
        h.c.kind, h.c.num_value, h.c.text_value, func.count().label("runs")
    ).where(h.c.name == hyperparameter)
    if experiment_id is not None:
        sizes = sizes.join(r, r.c.id == h.c.run_id).where(r.c.experiment_id == experiment_id)
    groups = conn.execute(sizes.group_by(h.c.kind, h.c.num_value, h.c.text_value)).all()
    groups.sort(key=lambda g: _hp_sort_key(g.kind, g.num_value, g.text_value))
    result = []
    for g in groups:
        top = best.get((g.kind, g.text_value))
        result.append(
            GroupBest(
                group=decode_hyperparameter(g.kind, g.num_value, g.text_value),
                value=None if top is None else top.value,
                run_id=None if top is None else top.run_id,
                epoch=None if top is None else top.epoch,
                runs=g.runs,
            )
        )
    return result


def top_runs(
    conn: Connection,
    metric: str,
    k: int,
    mode: str,
    experiment_id: int | None,
    over: str = "best",
    stale_before: dt.datetime | None = None,
) -> list[RankedRun]:
    """The ``k`` runs with the best finite ``metric`` at any epoch (``over="last"``: at their
    final epoch), best first (ties: lowest run id)."""
    check_over(over)
    per_run = select(r.c.id.label("run_id"), run_value(metric, mode, over, r.c.id))
    if experiment_id is not None:
        per_run = per_run.where(r.c.experiment_id == experiment_id)
    per_run = per_run.subquery()
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
    ids = [row.run_id for row in top]
    infos = {info.id: info for info in runs(conn, run_ids=ids, stale_before=stale_before)}
    return [RankedRun(infos[row.run_id], row.value, row.epoch) for row in top]


def run_value(metric: str, mode: str, over: str, run_id) -> Label:
    """Column ``value``: the run's best finite ``metric`` (``over="last"``: its value at its
    final epoch, NULL when that is NaN or +/-inf). Non-finite values are NULL in ``value``, so
    MAX/MIN skip them, and with the (run_id, name, value) index each is one index seek
    (SQLite's min/max optimisation, PostgreSQL's backward index-only scan)."""
    own = m.alias("run_values")
    mine = (own.c.run_id == run_id, own.c.name == metric)
    if over == "best":
        pick = func.max(own.c.value) if mode == "max" else func.min(own.c.value)
        return select(pick).where(*mine).scalar_subquery().label("value")
    # The value at the run's last epoch: two primary-key seeks (ORDER BY epoch DESC LIMIT 1
    # makes SQLite scan the run's rows through the value index instead).
    final = m.alias("final_epochs")
    last_epoch = (
        select(func.max(final.c.epoch))
        .where(final.c.run_id == run_id, final.c.name == metric)
        .correlate_except(final)  # run_id belongs to the query two levels up
    )
    last = select(own.c.value).where(*mine, own.c.epoch == last_epoch.scalar_subquery())
    return last.scalar_subquery().label("value")


def run_epoch(metric: str, over: str, run_id, value) -> Label:
    """Column ``epoch``: the first epoch at which the run reached ``value`` (``over="last"``:
    its final epoch holding ``metric``)."""
    own = m.alias("run_epochs")
    mine = (own.c.run_id == run_id, own.c.name == metric)
    if over == "best":
        stmt = select(func.min(own.c.epoch)).where(*mine, own.c.value == value)
    else:
        stmt = select(func.max(own.c.epoch)).where(*mine)
    return stmt.scalar_subquery().label("epoch")


def _ordered(column, mode: str):
    return (column.desc() if mode == "max" else column.asc()).nulls_last()


# -- helpers ----------------------------------------------------------------------------------


def _runs_select() -> Select:
    return select(r, e.c.name.label("experiment_name")).join(e, e.c.id == r.c.experiment_id)


def _run_info(row, hyperparameters: dict[str, Any], stale_before=None) -> RunInfo:
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
    )


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


def _has_hyperparameter(name: str, wanted: Any):
    """EXISTS a hyperparameter ``name`` equal to ``wanted`` (or to any item of a list/set).
    Numbers compare numerically, so ``32`` matches ``32.0``."""
    options = list(wanted) if isinstance(wanted, (list, set, frozenset)) else [wanted]
    clauses = []
    for option in options:
        kind, num, text = encode_hyperparameter(option)
        if kind in _NUMERIC_KINDS and num is not None:
            clauses.append(and_(h.c.kind.in_(_NUMERIC_KINDS), h.c.num_value == num))
        elif kind == HyperparameterKind.NONE.value:
            clauses.append(h.c.kind == kind)
        else:
            clauses.append(and_(h.c.kind == kind, h.c.text_value == text))
    return exists().where(h.c.run_id == r.c.id, h.c.name == name, or_(*clauses))
