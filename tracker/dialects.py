"""Dialect-specific SQL in one place, keyed on ``dialect.name``: upserts, the one-statement
epoch write of PostgreSQL, and bulk loading (``COPY`` on PostgreSQL, ``executemany`` elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    SmallInteger,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert, Update


def insert(dialect_name: str, table: Table) -> Insert:
    """An INSERT that offers ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect_name}")


def upsert(
    dialect_name: str, table: Table, key: Sequence[str], update: Sequence[str]
) -> Insert:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET each of ``update`` to the new row's value.

    Built once per arguments and reused: building it costs more than executing it on SQLite.
    """
    return _upsert(dialect_name, table, tuple(key), tuple(update))


@lru_cache(maxsize=64)
def _upsert(dialect_name: str, table: Table, key: tuple, update: tuple) -> Insert:
    stmt = insert(dialect_name, table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in update}
    )


def insert_ignore(dialect_name: str, table: Table, key: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (key) DO NOTHING."""
    return insert(dialect_name, table).on_conflict_do_nothing(index_elements=list(key))


@lru_cache(maxsize=8)
def epoch_write(dialect_name: str, metrics: Table, runs: Table) -> Update | None:
    """PostgreSQL: one statement that upserts one epoch's metric rows of a run and sets the
    run's heartbeat (a data-modifying CTE over ``unnest`` of three arrays), so that an epoch
    is one round trip in autocommit and the statement compiles once, whatever the number of
    metrics. None elsewhere (SQLite runs two statements in a local transaction, which costs
    no round trip). Parameters: see ``epoch_write_params``.
    """
    if dialect_name != "postgresql":
        return None
    rows = func.unnest(
        bindparam("_names", type_=postgresql.ARRAY(String)),
        bindparam("_values", type_=postgresql.ARRAY(Double)),
        bindparam("_kinds", type_=postgresql.ARRAY(SmallInteger)),
    ).table_valued("name", "value", "value_kind").render_derived()
    source = select(
        bindparam("_run_id", type_=BigInteger),
        bindparam("_epoch", type_=Integer),
        rows.c.name,
        rows.c.value,
        rows.c.value_kind,
    )
    stmt = postgresql.insert(metrics).from_select(
        ["run_id", "epoch", "name", "value", "value_kind"], source
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "name", "epoch"],
        set_={"value": stmt.excluded.value, "value_kind": stmt.excluded.value_kind},
    )
    return (
        update(runs)
        .where(runs.c.id == bindparam("_run_id"))
        .values(heartbeat_at=bindparam("_at"))
        .add_cte(stmt.cte("written"))
    )


def epoch_write_params(run_id: int, epoch: int, rows: Sequence[dict], at) -> dict:
    """The parameters of ``epoch_write`` for ``rows`` (dicts of name, value, value_kind)."""
    return {
        "_run_id": run_id,
        "_epoch": epoch,
        "_at": at,
        "_names": [row["name"] for row in rows],
        "_values": [row["value"] for row in rows],
        "_kinds": [row["value_kind"] for row in rows],
    }
