"""Dialect-specific SQL in one place, keyed on ``dialect.name``: upserts, the one-statement
epoch write of PostgreSQL, and bulk loading (``COPY`` on PostgreSQL, ``executemany`` elsewhere)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import (
    Connection,
    Double,
    Integer,
    SmallInteger,
    String,
    Table,
    bindparam,
    func,
    select,
    true,
    update,
)
from sqlalchemy.sql.dml import Insert, Update


def insert(dialect_name: str, table: Table) -> Insert:
    """An INSERT that offers ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect_name == "sqlite":
        # Imported on first use, like postgresql: a SQLite-only CLI command starts faster.
        from sqlalchemy.dialects import sqlite

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
    metrics. The run is found by its client key in the statement itself (never a remembered
    id); it returns the run's id, no row when no run has the key. None elsewhere (SQLite
    runs two statements in a local transaction, which costs no round trip).
    Parameters: see ``epoch_write_params``.
    """
    if dialect_name != "postgresql":
        return None
    from sqlalchemy.dialects import postgresql

    rows = func.unnest(
        bindparam("_names", type_=postgresql.ARRAY(String)),
        bindparam("_values", type_=postgresql.ARRAY(Double)),
        bindparam("_kinds", type_=postgresql.ARRAY(SmallInteger)),
    ).table_valued("name", "value", "value_kind").render_derived()
    source = (
        select(
            runs.c.id,
            bindparam("_epoch", type_=Integer),
            rows.c.name,
            rows.c.value,
            rows.c.value_kind,
        )
        .select_from(runs.join(rows, true()))
        .where(runs.c.key == bindparam("_key", type_=String))
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
        .where(runs.c.key == bindparam("_key", type_=String))
        .values(heartbeat_at=bindparam("_at"))
        .add_cte(stmt.cte("written"))
        .returning(runs.c.id)
    )


def epoch_write_params(key: str, epoch: int, rows: Sequence[dict], at) -> dict:
    """The parameters of ``epoch_write`` for ``rows`` (dicts of name, value, value_kind) of
    the run with client key ``key``."""
    return {
        "_key": key,
        "_epoch": epoch,
        "_at": at,
        "_names": [row["name"] for row in rows],
        "_values": [row["value"] for row in rows],
        "_kinds": [row["value_kind"] for row in rows],
    }


# -- bulk loading -----------------------------------------------------------------------------


def bulk_upsert(conn: Connection, table: Table, key: Sequence[str], rows: list[tuple]) -> None:
    """Write ``rows`` (tuples in ``table``'s column order) into ``table`` inside the caller's
    transaction; a row whose ``key`` exists already is overwritten (so a replay is harmless).

    SQLite: the driver's ``executemany`` of one compiled upsert. PostgreSQL: ``COPY`` (CSV,
    buffered on the client), and where a row exists already (a replay), an upsert of the chunk
    from ``unnest`` of one array per column instead. Elsewhere: SQLAlchemy ``executemany``.
    """
    if not rows:
        return
    name = conn.dialect.name
    columns = [c.name for c in table.columns]
    update = [c for c in columns if c not in key]
    if name == "sqlite":
        sql = _compiled_upsert(conn.dialect, table, tuple(key), tuple(update))
        conn.connection.driver_connection.cursor().executemany(sql, rows)
    elif name == "postgresql":
        _postgresql_bulk_upsert(conn, table, key, update, rows)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported today
        params = [dict(zip(columns, row, strict=True)) for row in rows]
        conn.execute(upsert(name, table, key, update), params)


@lru_cache(maxsize=16)
def _compiled_upsert(dialect, table: Table, key: tuple, update: tuple) -> str:
    # Compiled by SQLAlchemy once; positional ("?") parameters in column order.
    compiled = upsert(dialect.name, table, key, update).compile(dialect=dialect)
    if list(compiled.positiontup) != [c.name for c in table.columns]:
        raise AssertionError(f"unexpected parameter order {compiled.positiontup}")
    return compiled.string


def _postgresql_bulk_upsert(
    conn: Connection, table: Table, key: Sequence[str], update: Sequence[str], rows: list[tuple]
) -> None:
    from psycopg2 import errors

    savepoint = conn.begin_nested()
    try:
        _copy(conn, table, rows)
    except Exception as exc:  # a row exists already: overwrite instead of failing the load
        savepoint.rollback()
        if not isinstance(getattr(exc, "orig", exc), errors.UniqueViolation):
            raise
        _unnest_upsert(conn, table, key, update, rows)
    else:
        savepoint.commit()


def _copy(conn: Connection, table: Table, rows: list[tuple]) -> None:
    from psycopg2 import sql

    buffer = io.StringIO()
    # The csv module writes floats with repr(): the shortest text that reads back exactly.
    # None becomes an empty unquoted field, which COPY's CSV format reads as NULL.
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in table.c)
    )
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.copy_expert(statement, buffer)


def _unnest_upsert(
    conn: Connection, table: Table, key: Sequence[str], update: Sequence[str], rows: list[tuple]
) -> None:
    # ON CONFLICT DO UPDATE refuses to touch one row twice in a statement: the last row wins.
    positions = [i for i, c in enumerate(table.c) if c.name in key]
    latest = {tuple(row[i] for i in positions): row for row in rows}
    columns = list(zip(*latest.values(), strict=True))
    conn.execute(
        _unnest_statement(table, tuple(key), tuple(update)),
        {f"_{c.name}": list(values) for c, values in zip(table.c, columns, strict=True)},
    )


@lru_cache(maxsize=16)
def _unnest_statement(table: Table, key: tuple, update: tuple) -> Insert:
    from sqlalchemy.dialects import postgresql

    arrays = func.unnest(
        *(bindparam(f"_{c.name}", type_=postgresql.ARRAY(c.type)) for c in table.c)
    ).table_valued(*(c.name for c in table.c)).render_derived()
    stmt = postgresql.insert(table).from_select(
        [c.name for c in table.c], select(*(arrays.c[c.name] for c in table.c))
    )
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in update}
    )
