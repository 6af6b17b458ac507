"""Alembic environment for sweep-tracker.

The package (``tracker.store.schema``) hands an open connection in ``config.attributes``. A
developer running the ``alembic`` command from the checkout gets an engine from
``tracker.store.db``: the URL is ``-x url=...``, else ``TRACKER_DATABASE_URL``, else
``sqlite:///tracker.db``.
"""

from alembic import context

from tracker.store import db
from tracker.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move instead
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = db.get_engine(context.get_x_argument(as_dictionary=True).get("url"))
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: run against a database")
run_migrations_online()
