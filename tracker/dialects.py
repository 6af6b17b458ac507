"""Dialect-specific SQL in one place, keyed on ``dialect.name``: upserts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


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
    """INSERT ... ON CONFLICT (key) DO UPDATE SET each of ``update`` to the new row's value."""
    stmt = insert(dialect_name, table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in update}
    )


def insert_ignore(dialect_name: str, table: Table, key: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (key) DO NOTHING."""
    return insert(dialect_name, table).on_conflict_do_nothing(index_elements=list(key))
