"""Alembic from code: upgrade, downgrade, current revision, and the check-at-open.

The migrations live in the top-level ``migrations/`` folder of a source checkout, and inside
the package (``tracker/migrations``) in a wheel. The Alembic ``Config`` is built here, never
from ``alembic.ini``, and the connection is handed to ``env.py`` so that no URL (and no ``%``
in a password) goes through Alembic's config parser.

Concurrent ``upgrade`` calls are serialised: a transaction-scoped advisory lock on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite. The loser waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from ..errors import SchemaError, TrackerError
from . import db

# The revision this version of the code is written for. A test keeps it equal to Alembic's head.
SCHEMA_REVISION = "0006"

# Arbitrary constant that identifies "a tracker migration is running" among advisory locks.
_PG_MIGRATION_LOCK = 7_366_542_001

_version_table = Table("alembic_version", MetaData(), Column("version_num", String(32)))


def migrations_dir() -> Path:
    """The folder holding ``env.py`` and ``versions/``: packaged copy first, then the checkout."""
    package = Path(__file__).resolve().parents[1]  # tracker/
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise TrackerError(
        f"the migrations folder is missing next to {package}: reinstall sweep-tracker"
    )


def alembic_config(connection: Connection | None = None):
    """An Alembic ``Config`` for our migrations, optionally bound to an open connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision among the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    return _read_revision(db.get_engine(url))


def upgrade(url: str | None = None, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the database up to ``revision``; returns (revision before, revision after)."""
    return _migrate(url, "upgrade", revision)


def downgrade(url: str | None = None, revision: str = "-1") -> tuple[str | None, str | None]:
    """Migrate the database down to ``revision`` (``base`` removes every table)."""
    return _migrate(url, "downgrade", revision)


def missing_database(url: str | URL | None) -> str | None:
    """The absolute path of a SQLite database file that does not exist (connecting would
    create it, empty), else None.

    >>> missing_database("sqlite:///no/such/file.db")                    # doctest: +SKIP
    '/home/me/no/such/file.db'
    """
    resolved = db.resolve_url(url)
    path = resolved.database
    if resolved.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return None
    if path.startswith("file:") or resolved.query.get("uri"):
        return None  # a URI filename: SQLite's own rules (mode=ro, memory databases...)
    path = os.path.abspath(path)
    return None if os.path.exists(path) else path


def check_schema(engine: Engine) -> None:
    """Raise ``SchemaError`` naming ``tracker db upgrade`` unless the database is at the
    revision this code expects. A SQLite file that does not exist is not created."""
    missing = missing_database(engine.url)
    if missing is not None:
        raise SchemaError(
            f"there is no database at {missing}: create it with `tracker db upgrade` (with "
            "--url or TRACKER_DATABASE_URL pointing at it), or point --url / "
            "TRACKER_DATABASE_URL at an existing one"
        )
    found = _read_revision(engine)
    if found == SCHEMA_REVISION:
        return
    where = db.mask_url(engine.url)
    if found is None:
        raise SchemaError(
            f"database {where} has no sweep-tracker tables yet: run `tracker db upgrade` "
            "(with --url or TRACKER_DATABASE_URL pointing at it) before training"
        )
    if found < SCHEMA_REVISION:
        raise SchemaError(
            f"database {where} is at schema revision {found}, this version of sweep-tracker "
            f"needs {SCHEMA_REVISION}: run `tracker db upgrade` (with --url or "
            "TRACKER_DATABASE_URL pointing at it)"
        )
    raise SchemaError(
        f"database {where} is at schema revision {found}, newer than this version of "
        f"sweep-tracker knows ({SCHEMA_REVISION}): upgrade the sweep-tracker package"
    )


def _read_revision(engine: Engine) -> str | None:
    if missing_database(engine.url) is not None:
        return None  # never create the file just to look
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "alembic_version"):
                return None
            return conn.execute(select(_version_table.c.version_num)).scalar()
    except SQLAlchemyError as exc:
        raise db.wrap_error(exc, engine.url) from exc


def _migrate(url: str | None, direction: str, revision: str) -> tuple[str | None, str | None]:
    from alembic import command
    from alembic.util import CommandError

    engine = db.get_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = engine.dialect.name == "sqlite"
            if sqlite:
                # Batch migrations copy and drop tables: with foreign keys on, dropping a parent
                # table would cascade-delete its children. The pragma only works outside a
                # transaction, so set it on the raw connection before ours begins.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
            conn = conn.execution_options(tracker_write=True)
            try:
                with conn.begin():
                    if engine.dialect.name == "postgresql":
                        conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
                    before = _revision_in(conn)
                    getattr(command, direction)(alembic_config(conn), revision)
                    after = _revision_in(conn)
                    if sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                        if broken is not None:
                            raise SchemaError(f"migration broke a foreign key: {tuple(broken)}")
            finally:
                if sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys = ON")
    except CommandError as exc:
        raise SchemaError(f"cannot {direction} to {revision!r}: {exc}") from None
    except SQLAlchemyError as exc:
        raise db.wrap_error(exc, engine.url) from exc
    return before, after


def _revision_in(conn: Connection) -> str | None:
    if not conn.dialect.has_table(conn, "alembic_version"):
        return None
    return conn.execute(select(_version_table.c.version_num)).scalar()
