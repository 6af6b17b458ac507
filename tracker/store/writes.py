"""The write statements, as functions of an open connection. Every write is idempotent: a
replayed call (after a retry, or from the journal) changes nothing more."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from ..errors import NotFoundError
from . import dialects
from .models import (
    BatchMetric,
    EpochMetric,
    Experiment,
    ExperimentAlias,
    Hyperparameter,
    PurgedRun,
    Run,
    RunMetric,
    RunStatus,
    RunTag,
)

experiments = Experiment.__table__
runs = Run.__table__
hyperparameters = Hyperparameter.__table__
epoch_metrics = EpochMetric.__table__
batch_metrics = BatchMetric.__table__
run_metrics = RunMetric.__table__  # kept by database triggers: never written here
run_tags = RunTag.__table__
experiment_aliases = ExperimentAlias.__table__
purged_runs = PurgedRun.__table__


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def ensure_experiment(
    conn: Connection, name: str, objective: str | None = None, direction: str | None = None
) -> int:
    """The id of the experiment called ``name`` (or formerly so), created if needed; fills in
    an objective the experiment does not have yet."""
    # Looked up first, by name or former name (a renamed experiment): a sweep still writing
    # under the old name keeps writing into it, and the common case is one statement.
    row = find_experiment(conn, name)
    if row is None:
        conn.execute(
            dialects.insert_ignore(conn.dialect.name, experiments, ["name"]).values(
                name=name, objective=objective, direction=direction, created_at=utcnow()
            )
        )
        row = find_experiment(conn, name)
    if objective is not None and row.objective is None:
        conn.execute(
            update(experiments)
            .where(experiments.c.id == row.id)
            .values(objective=objective, direction=direction)
        )
    return row.id


def find_experiment(conn: Connection, name: str):
    """``(id, objective)`` of the experiment called ``name``, else of the one formerly called
    so (renamed), else None: one statement."""
    former = select(experiment_aliases.c.experiment_id).where(experiment_aliases.c.name == name)
    stmt = (
        select(experiments.c.id, experiments.c.objective)
        .where(or_(experiments.c.name == name, experiments.c.id.in_(former)))
        .order_by((experiments.c.name == name).desc())
        .limit(1)
    )
    return conn.execute(stmt).first()


def insert_run(conn: Connection, *, key: str, experiment_id: int, **fields: Any) -> int:
    """Insert the run with client key ``key`` unless it exists; return its id either way.
    A run that was purged comes back deleted (a replay of its records): it stays hidden."""
    tombstone = select(purged_runs.c.purged_at).where(purged_runs.c.key == key)
    stmt = dialects.insert_ignore(conn.dialect.name, runs, ["key"]).values(
        key=key,
        experiment_id=experiment_id,
        status=RunStatus.RUNNING.value,
        deleted_at=tombstone.scalar_subquery(),
        **fields,
    )
    run_id = conn.execute(stmt.returning(runs.c.id)).scalar()
    if run_id is None:
        run_id = run_id_for_key(conn, key)
    return run_id


_run_id_for_key = select(runs.c.id).where(runs.c.key == bindparam("_key"))


def run_id_for_key(conn: Connection, key: str) -> int | None:
    return conn.execute(_run_id_for_key, {"_key": key}).scalar()


def require_run(conn: Connection, key: str) -> int:
    """The id of the run with client key ``key`` *now*, inside the caller's transaction (never a
    remembered one: the database may have been re-created under a long sweep, and id 1 may be
    someone else's run by now), or ``NotFoundError``."""
    run_id = run_id_for_key(conn, key)
    if run_id is None:
        raise missing_run(key)
    return run_id


def missing_run(key: str) -> NotFoundError:
    return NotFoundError(f"no run with key {key!r}: call start_run first")


def upsert_hyperparameters(
    conn: Connection, run_id: int, rows: Iterable[tuple[str, str, float | None, str | None]]
) -> None:
    """``rows``: (name, kind, num_value, text_value); a name already stored gets the new value."""
    values = [
        {"run_id": run_id, "name": n, "kind": k, "num_value": num, "text_value": text}
        for n, k, num, text in rows
    ]
    if values:
        stmt = dialects.upsert(
            conn.dialect.name,
            hyperparameters,
            ["run_id", "name"],
            ["kind", "num_value", "text_value"],
        )
        conn.execute(stmt, values)


def upsert_metrics(
    conn: Connection, rows: list[dict[str, Any]]
) -> None:
    """``rows``: dicts of run_id, epoch, name, value, value_kind; the last write of a
    (run, name, epoch) wins, so a replay is harmless."""
    if len(rows) > _BULK_FROM:
        columns = [c.name for c in epoch_metrics.c]
        insert_epoch_rows(conn, [tuple(row[c] for c in columns) for row in rows])
    elif rows:
        stmt = dialects.upsert(
            conn.dialect.name, epoch_metrics, ["run_id", "name", "epoch"], ["value", "value_kind"]
        )
        conn.execute(stmt, rows)


# Past this many rows the bulk path (COPY / executemany) beats one upsert per row.
_BULK_FROM = 16
EPOCH_KEY = ("run_id", "name", "epoch")
BATCH_KEY = ("run_id", "name", "step")


def insert_epoch_rows(conn: Connection, rows: list[tuple]) -> None:
    """Bulk-write ``(run_id, name, epoch, value, value_kind)`` tuples (values encoded by
    ``values.encode_metric``); a row already stored is overwritten."""
    dialects.bulk_upsert(conn, epoch_metrics, EPOCH_KEY, rows)


def insert_batch_rows(conn: Connection, rows: list[tuple]) -> None:
    """Bulk-write ``(run_id, name, step, epoch, value, value_kind)`` tuples of per-batch
    metrics; a row already stored is overwritten."""
    dialects.bulk_upsert(conn, batch_metrics, BATCH_KEY, rows)


# Built once: every epoch runs it, and building an UPDATE costs about as much as running it.
_touch = update(runs).where(runs.c.id == bindparam("_run_id")).values(heartbeat_at=bindparam("_at"))
_touch_key = (
    update(runs)
    .where(runs.c.key == bindparam("_key"))
    .values(heartbeat_at=bindparam("_at"))
    .returning(runs.c.id)
)


def record_epoch(
    conn: Connection, key: str, epoch: int, rows: list[dict[str, Any]], at: dt.datetime
) -> None:
    """Upsert one epoch's metric ``rows`` (dicts of name, value, value_kind) of the run with
    client key ``key`` and set its heartbeat: one statement on PostgreSQL (which finds the run
    by its key itself), two elsewhere. ``NotFoundError`` when no run has that key."""
    stmt = dialects.epoch_write(conn.dialect.name, epoch_metrics, runs)
    if stmt is not None and rows:
        found = conn.execute(stmt, dialects.epoch_write_params(key, epoch, rows, at)).first()
        if found is None:
            raise missing_run(key)
        return
    run_id = touch_key(conn, key, at)  # finds the run by key and touches it: one statement
    upsert_metrics(conn, [{**row, "run_id": run_id, "epoch": epoch} for row in rows])


def touch(conn: Connection, run_id: int, when: dt.datetime) -> None:
    """Record that the run's process is alive."""
    conn.execute(_touch, {"_run_id": run_id, "_at": when})


def touch_key(conn: Connection, key: str, when: dt.datetime) -> int:
    """Record that the process of the run with client key ``key`` is alive; its id."""
    run_id = conn.execute(_touch_key, {"_key": key, "_at": when}).scalar()
    if run_id is None:
        raise missing_run(key)
    return run_id


def finish_run(conn: Connection, key: str, values: Mapping[str, Any]) -> None:
    """Store how the run with client key ``key`` ended (addressed by its key, in one
    statement); ``NotFoundError`` when no run has that key."""
    if conn.execute(update(runs).where(runs.c.key == key).values(**values)).rowcount == 0:
        raise missing_run(key)
