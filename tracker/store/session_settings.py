"""Server settings (timeouts, in milliseconds) on every PostgreSQL connection of an engine,
straight to the server or through PgBouncer in transaction pooling mode.

Straight to PostgreSQL they are startup parameters (``options``, sent by libpq with the login),
checked once per new connection. A pooler refuses them (PgBouncer: "unsupported startup
parameter") or drops them (``ignore_startup_parameters = options``): the connection is then
made or kept without them, and every transaction starts with a transaction-local
``set_config`` of each instead. A session ``SET`` would be wrong there: in transaction pooling
the next transaction may run on another server connection, and the setting would stay on this
one for other clients. Single-statement (autocommit) work runs without them behind a pooler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, event, func, select

log = logging.getLogger("tracker")

# A constant query on the raw connection, before SQLAlchemy's own first-connect queries.
_READ = "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)"


def apply(engine: Engine, settings: Mapping[str, int]) -> None:
    """Give every connection of ``engine`` (PostgreSQL, psycopg2) these millisecond settings.

    >>> apply(engine, {"lock_timeout": 1000})                          # doctest: +SKIP
    """
    wanted = {name: int(ms) for name, ms in settings.items()}
    option = " ".join(f"-c {name}={ms}" for name, ms in wanted.items())
    local = select(*(func.set_config(name, f"{ms}ms", True) for name, ms in wanted.items()))
    pooled = threading.Event()  # set once a pooler refused or dropped the startup parameter

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, _record, cargs, cparams):
        if pooled.is_set():
            return None  # SQLAlchemy connects with the user's own parameters
        given = cparams.get("options")
        try:
            raw = dialect.connect(*cargs, **{**cparams, "options": _join(given, option)})
        except dialect.loaded_dbapi.OperationalError as exc:
            if "unsupported startup parameter" not in str(exc):
                raise
            raw = None
        if raw is not None and _read(raw, wanted) == wanted:
            return raw
        pooled.set()
        log.debug("%s does not pass startup parameters on (a pooler such as PgBouncer): %s "
                  "set per transaction", engine.url.render_as_string(hide_password=True),
                  ", ".join(wanted))
        return raw  # None: SQLAlchemy connects again, without the option

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if pooled.is_set() and not conn.connection.driver_connection.autocommit:
            conn.execute(local)


def _join(*options: str | None) -> str:
    return " ".join(o for o in options if o)


def _read(raw, wanted: Mapping[str, int]) -> dict[str, int]:
    """The connection's values of ``wanted``'s settings (one round trip, no transaction)."""
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            cursor.execute(_READ, (list(wanted),))
            return {name: int(value) for name, value in cursor.fetchall()}
    except BaseException:
        raw.close()
        raise
    finally:
        if not raw.closed:
            raw.autocommit = False
