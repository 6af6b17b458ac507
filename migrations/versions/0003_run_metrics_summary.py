"""Per-run metric summary kept by the database: ``run_metrics``.

One row per run and metric name with the largest and smallest finite value and the value at the
last epoch. Triggers on ``epoch_metrics`` keep it exact on every insert and every change of a
value, whatever the writer (per-epoch upserts, ``COPY``, ``executemany``, replays, hand-written
SQL):

* an insert merges the new rows in (max, min, the later epoch wins);
* a changed value recomputes the pair from ``epoch_metrics`` (index seeks), since the old value
  may have been the extreme.

SQLite gets row triggers; PostgreSQL gets statement triggers with transition tables, so a
``COPY`` of 50,000 rows costs one set-based merge instead of 50,000 trigger calls.

Note for later revisions: a SQLite batch migration that copies ``epoch_metrics`` drops its
triggers; such a revision must create them again (``_create_triggers`` below shows how).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# -- SQLite: row triggers -----------------------------------------------------------------------

_SQLITE_INSERT = """
CREATE TRIGGER trg_epoch_metrics_summary_insert AFTER INSERT ON epoch_metrics
BEGIN
  INSERT INTO run_metrics (run_id, name, high, low, last_epoch, last_value, last_kind)
  VALUES (NEW.run_id, NEW.name, NEW.value, NEW.value, NEW.epoch, NEW.value, NEW.value_kind)
  ON CONFLICT (run_id, name) DO UPDATE SET
    high = CASE WHEN high IS NULL OR excluded.high > high THEN coalesce(excluded.high, high)
                ELSE high END,
    low = CASE WHEN low IS NULL OR excluded.low < low THEN coalesce(excluded.low, low)
               ELSE low END,
    last_value = CASE WHEN excluded.last_epoch >= last_epoch THEN excluded.last_value
                      ELSE last_value END,
    last_kind = CASE WHEN excluded.last_epoch >= last_epoch THEN excluded.last_kind
                     ELSE last_kind END,
    last_epoch = max(last_epoch, excluded.last_epoch);
END
"""

_SQLITE_UPDATE = """
CREATE TRIGGER trg_epoch_metrics_summary_update AFTER UPDATE OF value, value_kind ON epoch_metrics
WHEN OLD.value IS NOT NEW.value OR OLD.value_kind IS NOT NEW.value_kind
BEGIN
  UPDATE run_metrics SET
    high = (SELECT max(m.value) FROM epoch_metrics m
            WHERE m.run_id = NEW.run_id AND m.name = NEW.name),
    low = (SELECT min(m.value) FROM epoch_metrics m
           WHERE m.run_id = NEW.run_id AND m.name = NEW.name),
    last_value = (SELECT m.value FROM epoch_metrics m
                  WHERE m.run_id = NEW.run_id AND m.name = NEW.name
                  ORDER BY m.epoch DESC LIMIT 1),
    last_kind = (SELECT m.value_kind FROM epoch_metrics m
                 WHERE m.run_id = NEW.run_id AND m.name = NEW.name
                 ORDER BY m.epoch DESC LIMIT 1)
  WHERE run_id = NEW.run_id AND name = NEW.name;
END
"""

# -- PostgreSQL: statement triggers over transition tables -----------------------------------

_PG_INSERT_FUNCTION = """
CREATE FUNCTION tracker_run_metrics_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO run_metrics AS s (run_id, name, high, low, last_epoch, last_value, last_kind)
  SELECT DISTINCT ON (n.run_id, n.name)
         n.run_id, n.name,
         max(n.value) OVER pair, min(n.value) OVER pair,
         n.epoch, n.value, n.value_kind
  FROM new_rows n
  WINDOW pair AS (PARTITION BY n.run_id, n.name)
  ORDER BY n.run_id, n.name, n.epoch DESC
  ON CONFLICT (run_id, name) DO UPDATE SET
    high = greatest(s.high, excluded.high),
    low = least(s.low, excluded.low),
    last_value = CASE WHEN excluded.last_epoch >= s.last_epoch THEN excluded.last_value
                      ELSE s.last_value END,
    last_kind = CASE WHEN excluded.last_epoch >= s.last_epoch THEN excluded.last_kind
                     ELSE s.last_kind END,
    last_epoch = greatest(s.last_epoch, excluded.last_epoch);
  RETURN NULL;
END $$
"""

_PG_UPDATE_FUNCTION = """
CREATE FUNCTION tracker_run_metrics_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE run_metrics s SET
    high = (SELECT max(m.value) FROM epoch_metrics m
            WHERE m.run_id = s.run_id AND m.name = s.name),
    low = (SELECT min(m.value) FROM epoch_metrics m
           WHERE m.run_id = s.run_id AND m.name = s.name),
    last_value = last.value,
    last_kind = last.value_kind
  FROM (SELECT DISTINCT run_id, name FROM new_rows) changed
  CROSS JOIN LATERAL (
    SELECT m.value, m.value_kind FROM epoch_metrics m
    WHERE m.run_id = changed.run_id AND m.name = changed.name
    ORDER BY m.epoch DESC LIMIT 1
  ) last
  WHERE s.run_id = changed.run_id AND s.name = changed.name;
  RETURN NULL;
END $$
"""

_PG_TRIGGERS = [
    "CREATE TRIGGER trg_epoch_metrics_summary_insert AFTER INSERT ON epoch_metrics "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION tracker_run_metrics_inserted()",
    "CREATE TRIGGER trg_epoch_metrics_summary_update AFTER UPDATE ON epoch_metrics "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION tracker_run_metrics_updated()",
]

_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_summary_insert",
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_summary_update",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_summary_insert ON epoch_metrics",
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_summary_update ON epoch_metrics",
        "DROP FUNCTION IF EXISTS tracker_run_metrics_inserted()",
        "DROP FUNCTION IF EXISTS tracker_run_metrics_updated()",
    ],
}


def _create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        statements = [_SQLITE_INSERT, _SQLITE_UPDATE]
    elif dialect == "postgresql":
        statements = [_PG_INSERT_FUNCTION, _PG_UPDATE_FUNCTION, *_PG_TRIGGERS]
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    for statement in statements:
        op.execute(statement)


def _backfill() -> None:
    """One summary row per (run, metric) already in ``epoch_metrics``."""
    m = sa.table(
        "epoch_metrics",
        sa.column("run_id"), sa.column("name"), sa.column("epoch"),
        sa.column("value"), sa.column("value_kind"),
    )
    s = sa.table(
        "run_metrics",
        sa.column("run_id"), sa.column("name"), sa.column("high"), sa.column("low"),
        sa.column("last_epoch"), sa.column("last_value"), sa.column("last_kind"),
    )
    grouped = (
        sa.select(
            m.c.run_id,
            m.c.name,
            sa.func.max(m.c.value).label("high"),
            sa.func.min(m.c.value).label("low"),
            sa.func.max(m.c.epoch).label("last_epoch"),
        )
        .group_by(m.c.run_id, m.c.name)
        .subquery()
    )
    last = m.alias("last")
    rows = sa.select(
        grouped.c.run_id, grouped.c.name, grouped.c.high, grouped.c.low,
        grouped.c.last_epoch, last.c.value, last.c.value_kind,
    ).join(
        last,
        sa.and_(
            last.c.run_id == grouped.c.run_id,
            last.c.name == grouped.c.name,
            last.c.epoch == grouped.c.last_epoch,
        ),
    )
    op.execute(
        s.insert().from_select(
            ["run_id", "name", "high", "low", "last_epoch", "last_value", "last_kind"], rows
        )
    )


def upgrade() -> None:
    op.create_table(
        "run_metrics",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("high", sa.Double(), nullable=True),
        sa.Column("low", sa.Double(), nullable=True),
        sa.Column("last_epoch", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Double(), nullable=True),
        sa.Column("last_kind", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_metrics_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", name=op.f("pk_run_metrics")),
    )
    _backfill()
    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    for statement in _DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("run_metrics")
