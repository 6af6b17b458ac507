"""Database URLs, engines and transactions: the only module that knows about drivers.

* URL resolution: argument > ``TRACKER_DATABASE_URL`` > ``sqlite:///tracker.db``.
* One engine per URL and process, shared by every ``Repository`` and callback copy.
* SQLite: WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for writes so that
  concurrent writers queue on the busy timeout instead of failing to upgrade a read lock.
* PostgreSQL: pre-ping, a small pool, a short connect timeout, TCP keepalives, a lock timeout
  that also works behind PgBouncer in transaction pooling mode.
* Two levels of patience: ``PATIENT`` (the default: commands and scripts wait up to 30 s for a
  lock) and ``FAIL_FAST`` (the training side: a locked or unreachable database is reported
  within seconds, and the records go to the journal instead).
* ``transaction()``: the one transaction helper; it retries lock and serialization errors with
  bounded, jittered backoff and turns driver errors into ``DatabaseError`` with masked URLs.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, quote_plus

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, SQLAlchemyError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from ..errors import DatabaseError, TrackerError
from . import session_settings

ENV_URL = "TRACKER_DATABASE_URL"
DEFAULT_URL = "sqlite:///tracker.db"

T = TypeVar("T")
log = logging.getLogger("tracker")


@dataclass(frozen=True)
class Patience:
    """How long database calls wait before giving up.

    ``lock_timeout``: seconds a statement waits for a lock (the SQLite busy timeout; on
    PostgreSQL ``lock_timeout``, None for no limit). ``connect_timeout``: seconds to reach a
    PostgreSQL server. ``attempts``: tries of a transaction that hits a transient error (locked,
    serialization failure, deadlock, dropped connection), with jittered exponential pauses of at
    most ``max_backoff`` seconds between them. ``create_sqlite``: whether connecting may
    create a missing SQLite file (the training side never does: a file deleted under a sweep
    is reported, not silently replaced by an empty one).
    """

    lock_timeout: float | None
    connect_timeout: int
    attempts: int
    max_backoff: float
    create_sqlite: bool = True


PATIENT = Patience(lock_timeout=30.0, connect_timeout=5, attempts=6, max_backoff=2.0)
FAIL_FAST = Patience(
    lock_timeout=1.0, connect_timeout=3, attempts=3, max_backoff=0.5, create_sqlite=False
)
SQLITE_BUSY_TIMEOUT_S = PATIENT.lock_timeout
RETRY_ATTEMPTS = PATIENT.attempts


def resolve_url(url: str | URL | None = None) -> URL:
    """The URL to use: ``url``, else ``$TRACKER_DATABASE_URL``, else ``sqlite:///tracker.db``.

    A bare ``postgresql://`` or ``postgres://`` URL means psycopg2, the driver we ship.

    >>> resolve_url("postgres://me@db/sweeps").drivername
    'postgresql+psycopg2'
    """
    raw = url if url is not None else (os.environ.get(ENV_URL) or DEFAULT_URL)
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise TrackerError(
            f"not a database URL: {mask_text(str(raw))!r} "
            "(expected e.g. sqlite:///tracker.db or postgresql://user@host/db)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise TrackerError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
        )
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL as text with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def mask_text(text: str, url: str | URL | None = None) -> str:
    """``text`` with every spelling of the URL's password (raw, quoted) replaced by ``***``."""
    if url is None:
        return _mask_inline_urls(text)
    try:
        password = make_url(url).password
    except ArgumentError:
        return _mask_inline_urls(text)
    if password:
        for spelling in {password, quote(password, safe=""), quote_plus(password)}:
            text = text.replace(spelling, "***")
    return _mask_inline_urls(text)


def _mask_inline_urls(text: str) -> str:
    # "scheme://user:secret@host" -> "scheme://user:***@host", for URLs we were not told about.
    import re

    return re.sub(r"(\w[\w+.-]*://[^\s:/@]*:)[^\s@]*@", r"\1***@", text)


# -- engines ----------------------------------------------------------------------------------

_engines: dict[tuple[str, int, Patience], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | URL | None = None, patience: Patience = PATIENT) -> Engine:
    """The process-wide engine for ``url`` and ``patience`` (created on first use, re-created
    after a fork)."""
    resolved = resolve_url(url)
    cache_key = (resolved.render_as_string(hide_password=False), os.getpid(), patience)
    engine = _engines.get(cache_key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(cache_key)
            if engine is None:
                engine = _create_engine(resolved, patience)
                _engines[cache_key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, and before dropping a database)."""
    with _engines_lock:
        for (_, pid, _patience), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()


def _create_engine(url: URL, patience: Patience) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, patience)
    connect_args: dict = {
        "connect_timeout": patience.connect_timeout,
        "application_name": "sweep-tracker",
        # Notice a server that vanished without closing the connection within ~25 s.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    engine = create_engine(
        url,
        pool_pre_ping=True,
        # At most two connections per process (the epoch writer and the per-batch writer), so
        # that 32 training workers need at most 64 of the server's connections.
        pool_size=2,
        max_overflow=0,
        connect_args=connect_args,
    )
    if patience.lock_timeout is not None:
        # Also behind PgBouncer in transaction pooling mode, where a startup parameter fails.
        session_settings.apply(engine, {"lock_timeout": int(patience.lock_timeout * 1000)})
    return engine


def _create_sqlite_engine(url: URL, patience: Patience) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        folder = os.path.dirname(os.path.abspath(url.database))
        if not os.path.isdir(folder):
            raise TrackerError(
                f"cannot create SQLite database {url.database!r}: there is no folder {folder}"
            )
    # sqlite3's ``timeout`` is SQLite's busy timeout: how long a statement waits for a lock.
    engine = create_engine(url, connect_args={"timeout": patience.lock_timeout or 30.0})
    path = _sqlite_file(url)

    if path is not None:
        # A file deleted or replaced under a long sweep: pooled connections would go on
        # writing into the deleted file (lost) or the old one. Each checkout compares the
        # file the connection opened with the file at the path now (one stat).
        @event.listens_for(engine, "do_connect")
        def _on_do_connect(_dialect, record, _cargs, _cparams) -> None:
            if not patience.create_sqlite and not os.path.exists(path):
                import sqlite3

                raise sqlite3.OperationalError(
                    f"unable to open database file {path}: it does not exist (deleted?); "
                    "create it with `tracker db upgrade`"
                )
            record.info["sqlite_file"] = _file_identity(path)

        @event.listens_for(engine, "checkout")
        def _on_checkout(_dbapi_connection, record, _proxy) -> None:
            if record.info.get("sqlite_file") != _file_identity(path):
                raise DisconnectionError(f"SQLite file {path} was deleted or replaced")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record) -> None:
        if path is not None and record.info.get("sqlite_file") is None:
            record.info["sqlite_file"] = _file_identity(path)
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 64 MB of page cache instead of 2 MB: bulk ingest into a large store stops re-reading
        # index pages (108k vs 61k rows/s at 4M rows, benchmarks/RESULTS.md). An upper bound,
        # taken only as pages are read.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("tracker_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _sqlite_file(url: URL) -> str | None:
    """The absolute path of a SQLite URL's file; None for memory and URI databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if url.query.get("uri"):
        return None
    return os.path.abspath(database)


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


# -- transactions -----------------------------------------------------------------------------


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: SQLite busy/locked, PostgreSQL serialization failure or deadlock,
    or a connection that dropped."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "pgcode", None)
    # serialization_failure, deadlock_detected, lock_not_available (lock_timeout expired)
    if code in ("40001", "40P01", "55P03"):
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


def is_disconnect(exc: BaseException) -> bool:
    """The database could not be reached (as opposed to refusing the statement)."""
    if isinstance(exc, DatabaseError):
        exc = exc.__cause__ or exc
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    return any(
        hint in message
        for hint in (
            "could not connect",
            "connection refused",
            "server closed the connection",
            "terminating connection",
            "connection already closed",
            "the database system is",
            "no connection to the server",
            "ssl connection has been closed",
            "database is locked",
            "unable to open database",
        )
    )


@contextmanager
def transaction(
    engine: Engine, *, write: bool = False, single_statement: bool = False
) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on error.

    ``single_statement=True`` promises that the work writes with one statement: PostgreSQL
    then runs it in autocommit (the statement is its own transaction), saving the BEGIN and
    COMMIT round trips. Driver errors leave as ``DatabaseError`` with the password masked.
    """
    try:
        with engine.connect() as conn:
            if write:
                conn = conn.execution_options(tracker_write=True)
            if single_statement and engine.dialect.name == "postgresql":
                with _autocommit(conn):
                    yield conn
                return
            with conn.begin():
                yield conn
    except SQLAlchemyError as exc:
        raise wrap_error(exc, engine.url) from exc


@contextmanager
def _autocommit(conn: Connection) -> Iterator[None]:
    # psycopg2's autocommit flag is client-side (no round trip), unlike SQLAlchemy's
    # isolation_level="AUTOCOMMIT", which sends SET default_transaction_isolation twice.
    raw = conn.connection.driver_connection
    raw.autocommit = True
    try:
        yield
        conn.commit()  # ends SQLAlchemy's autobegun transaction; nothing is sent
    finally:
        if not raw.closed:
            raw.autocommit = False


def run_in_transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    write: bool = True,
    patience: Patience = PATIENT,
    single_statement: bool = False,
) -> T:
    """Run ``work(conn)`` in a transaction, retrying transient errors (locked, serialization
    failure, deadlock, dropped connection) up to ``patience.attempts`` times with jittered
    exponential backoff; then the error leaves as ``DatabaseError``.

    >>> run_in_transaction(get_engine(url), lambda conn: conn.execute(stmt))  # doctest: +SKIP
    """
    # The first attempt runs without tenacity: building a ``Retrying`` costs more than the
    # whole write on SQLite (benchmarks/RESULTS.md, per-epoch writes).
    try:
        with transaction(engine, write=write, single_statement=single_statement) as conn:
            return work(conn)
    except DatabaseError as exc:
        if patience.attempts <= 1 or not is_transient(exc.__cause__ or exc):
            raise
        log.debug("retrying after a transient database error (attempt 1): %s", exc)
        time.sleep(random.uniform(0, 0.05))  # jitter, so that colliding writers part ways
    retrying = Retrying(
        retry=retry_if_exception(lambda e: is_transient(e.__cause__ or e)),
        stop=stop_after_attempt(patience.attempts - 1),
        wait=wait_random_exponential(multiplier=0.05, max=patience.max_backoff),
        before_sleep=_log_retry,
        reraise=True,
    )
    for attempt in retrying:
        with attempt, transaction(engine, write=write, single_statement=single_statement) as conn:
            return work(conn)
    raise AssertionError("unreachable")  # pragma: no cover


def _log_retry(state) -> None:
    log.debug(
        "retrying after a transient database error (attempt %d): %s",
        state.attempt_number,
        state.outcome.exception() if state.outcome else None,
    )


def wrap_error(exc: SQLAlchemyError, url: URL | str) -> DatabaseError:
    """A ``DatabaseError`` saying what went wrong and where, without the password."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return DatabaseError(mask_text(f"{mask_url(url)}: {first}", url))
