"""Fixtures: every storage test runs on a real SQLite file and on the real PostgreSQL server.

PostgreSQL comes from ``$TRACKER_TEST_POSTGRES_URL`` (default: the local server, database
``test``, user ``postgres``). Each test session creates its own databases there and drops them
at the end. When the server cannot be reached the PostgreSQL cases are skipped, except under
``CI=true``, where that is an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from tracker.store import db, schema
from tracker.store.models import Base

pytest_plugins = ["analysis_fixtures", "ui_fixtures"]  # sweeps shared by several test folders

ADMIN_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class PostgresServer:
    """Creates uniquely named databases on the server and drops them all at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = sa.create_engine(
            db.resolve_url(admin_url), isolation_level="AUTOCOMMIT", pool_pre_ping=True
        )
        self.created: list[str] = []
        self.error: str | None = None
        try:
            with self.admin.connect() as conn:
                conn.execute(sa.select(1))
        except sa.exc.OperationalError as exc:
            self.error = db.mask_text(str(exc.orig).strip().splitlines()[0], admin_url)

    def create(self, prefix: str = "tracker_test") -> str:
        from psycopg2 import sql

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        url = db.resolve_url(self.admin_url).set(database=name)
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from psycopg2 import sql

        db.dispose_engines()
        with self.admin.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cursor:
                for name in self.created:
                    cursor.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
        self.admin.dispose()


@pytest.fixture(autouse=True)
def journal_dir(tmp_path_factory, monkeypatch) -> str:
    """Each test journals into its own folder (never the user's ~/.local/share), beside its
    tmp_path rather than in it."""
    path = str(tmp_path_factory.mktemp("journal"))
    monkeypatch.setenv("TRACKER_JOURNAL_DIR", path)
    return path


@pytest.fixture(autouse=True)
def outboxes_closed() -> Iterator[None]:
    """The outboxes a test opened are closed when it ends, inside the test's capture: what
    they could not write is reported there, not as stray lines when the worker exits."""
    from tracker.capture import registry as outbox

    before = set(outbox._outboxes)
    yield
    for key in set(outbox._outboxes) - before:
        opened = outbox._outboxes.pop(key, None)
        if opened is not None:
            opened.close(timeout=0.5)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(ADMIN_URL)
    if server.error:
        message = f"PostgreSQL at {db.mask_url(ADMIN_URL)} unreachable: {server.error}"
        if _ci():
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "tracker.db"
    schema.upgrade(f"sqlite:///{path}")
    db.dispose_engines()
    return str(path)


@pytest.fixture(scope="session")
def postgres_migrated(request) -> str:
    server = request.getfixturevalue("postgres")
    url = server.create()
    schema.upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def url(backend, request, tmp_path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if backend == "sqlite":
        path = tmp_path / "tracker.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        migrated = request.getfixturevalue("postgres_migrated")
        _empty_tables(migrated)
        yield migrated
    db.dispose_engines()


@pytest.fixture
def empty_url(backend, request, tmp_path) -> Iterator[str]:
    """A database with no tables at all, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield request.getfixturevalue("postgres").create()
    db.dispose_engines()


@pytest.fixture
def new_database(backend, request, tmp_path) -> Callable[[], str]:
    """A factory of fresh, empty databases on the current backend."""
    counter = iter(range(1_000))

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'db{next(counter)}.db'}"
        return request.getfixturevalue("postgres").create()

    return make


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator:
    """A throwaway PostgreSQL server of our own that tests may stop and start (never the
    shared one). Skipped when the PostgreSQL server binaries are missing, except under CI."""
    from pg_cluster import Cluster, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if _ci():
            pytest.fail(f"{message} (CI=true: outage tests must run)", pytrace=False)
        pytest.skip(message)
    cluster = Cluster(bin_dir)
    cluster.start()
    cluster.databases = PostgresServer(cluster.url)
    yield cluster
    cluster.databases.drop_all()
    cluster.remove()


@pytest.fixture(scope="session")
def pgbouncer(postgres) -> Iterator:
    """PgBouncer in transaction pooling mode on a free loopback port in front of the test
    server, started once per session (``pgbouncer.url(database_url)`` goes through it).
    Skipped when Debian's pgbouncer is missing, except under CI."""
    from pgbouncer import Bouncer, find_pgbouncer

    binary = find_pgbouncer()
    if binary is None:
        message = "pgbouncer not found (Debian package pgbouncer)"
        if _ci():
            pytest.fail(f"{message} (CI=true: PgBouncer tests must run)", pytrace=False)
        pytest.skip(message)
    bouncer = Bouncer(binary, postgres.admin_url)
    bouncer.start()
    yield bouncer
    db.dispose_engines()
    bouncer.remove()


@pytest.fixture
def pooled_url(pgbouncer, postgres_migrated) -> Iterator[str]:
    """A migrated, empty PostgreSQL database reached through PgBouncer (transaction pooling)."""
    _empty_tables(postgres_migrated)
    yield pgbouncer.url(postgres_migrated)
    db.dispose_engines()


def _empty_tables(url: str) -> None:
    engine = db.get_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
