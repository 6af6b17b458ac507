"""Early stopping: the ``pruned`` run status, the pruning decision, and ``epoch_bests``.

* ``runs.status`` may be ``pruned`` (a pruner of ``tracker.pruning`` stopped the run);
  ``runs.pruned_epoch`` and ``runs.pruned_threshold`` say at which epoch and against which
  threshold. SQLite cannot change a CHECK constraint in place: a batch copy of ``runs``
  (no trigger lives on ``runs``, so none is lost).
* ``epoch_bests``: per run, metric and epoch, the largest and smallest finite value over the
  epochs up to that one. "Every run's best value up to epoch E" is then one index seek per run
  (the row at the largest epoch <= E) instead of a scan of E epochs per run: the pruners' query
  costs in proportion to runs, not epochs. Triggers on ``epoch_metrics`` keep it exact, like
  ``run_metrics`` (0003), whatever writes the epochs:

  - SQLite, row triggers: an insert seeds its row from the row of the previous epoch (one seek)
    and raises/lowers the later rows (none, when epochs arrive in order); a changed value
    recomputes the rows from that epoch on.
  - PostgreSQL, statement triggers over transition tables: the pairs touched are recomputed from
    their first touched epoch with a running window seeded by the stored best before it, one
    set-based statement per write (a ``COPY`` of 500,000 rows is one pass).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_STATUSES = "status IN ('running', 'completed', 'failed', 'invalid')"
_NEW_STATUSES = "status IN ('running', 'completed', 'failed', 'invalid', 'pruned')"

# -- SQLite: row triggers -----------------------------------------------------------------------

# The best up to the previous stored epoch, merged with the new value (NULL-aware max/min).
_SQLITE_INSERT = """
CREATE TRIGGER trg_epoch_metrics_bests_insert AFTER INSERT ON epoch_metrics
BEGIN
  INSERT INTO epoch_bests (run_id, name, epoch, high, low)
  SELECT NEW.run_id, NEW.name, NEW.epoch,
         coalesce(max(p.high, NEW.value), p.high, NEW.value),
         coalesce(min(p.low, NEW.value), p.low, NEW.value)
  FROM (SELECT 1 AS one) seed
  LEFT JOIN (SELECT b.high, b.low FROM epoch_bests b
             WHERE b.run_id = NEW.run_id AND b.name = NEW.name AND b.epoch < NEW.epoch
             ORDER BY b.epoch DESC LIMIT 1) p ON 1 = 1
  WHERE true
  ON CONFLICT (run_id, name, epoch) DO UPDATE SET high = excluded.high, low = excluded.low;
  UPDATE epoch_bests SET
    high = coalesce(max(high, NEW.value), high, NEW.value),
    low = coalesce(min(low, NEW.value), low, NEW.value)
  WHERE run_id = NEW.run_id AND name = NEW.name AND epoch > NEW.epoch AND NEW.value IS NOT NULL;
END
"""

_SQLITE_UPDATE = """
CREATE TRIGGER trg_epoch_metrics_bests_update AFTER UPDATE OF value, value_kind ON epoch_metrics
WHEN OLD.value IS NOT NEW.value
BEGIN
  UPDATE epoch_bests SET
    high = (SELECT max(m.value) FROM epoch_metrics m WHERE m.run_id = epoch_bests.run_id
            AND m.name = epoch_bests.name AND m.epoch <= epoch_bests.epoch),
    low = (SELECT min(m.value) FROM epoch_metrics m WHERE m.run_id = epoch_bests.run_id
           AND m.name = epoch_bests.name AND m.epoch <= epoch_bests.epoch)
  WHERE run_id = NEW.run_id AND name = NEW.name AND epoch >= NEW.epoch;
END
"""

# -- PostgreSQL: statement triggers over transition tables -----------------------------------

# Each (run, metric) touched is recomputed from its first touched epoch on, seeded with the best
# stored for the epoch before it (one seek): an epoch written in order costs one row, not E.
# LATERAL ... OFFSET 0 keeps both lookups index seeks: a transition table has no statistics, and
# a join (or a LATERAL the planner flattens into one) was a hash join over all of epoch_metrics.
_PG_FUNCTION = """
CREATE FUNCTION tracker_epoch_bests_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO epoch_bests AS b (run_id, name, epoch, high, low)
  SELECT s.run_id, s.name, m.epoch,
         greatest(s.seed_high, max(m.value) OVER running),
         least(s.seed_low, min(m.value) OVER running)
  FROM (
    SELECT t.run_id, t.name, t.first_epoch, p.high AS seed_high, p.low AS seed_low
    FROM (SELECT run_id, name, min(epoch) AS first_epoch FROM new_rows
          GROUP BY run_id, name) t
    LEFT JOIN LATERAL (
      SELECT e.high, e.low FROM epoch_bests e
      WHERE e.run_id = t.run_id AND e.name = t.name AND e.epoch < t.first_epoch
      ORDER BY e.epoch DESC LIMIT 1
    ) p ON true
  ) s
  CROSS JOIN LATERAL (
    SELECT m.epoch, m.value FROM epoch_metrics m
    WHERE m.run_id = s.run_id AND m.name = s.name AND m.epoch >= s.first_epoch
    OFFSET 0
  ) m
  WINDOW running AS (PARTITION BY s.run_id, s.name ORDER BY m.epoch
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  ON CONFLICT (run_id, name, epoch) DO UPDATE SET high = excluded.high, low = excluded.low
  WHERE b.high IS DISTINCT FROM excluded.high OR b.low IS DISTINCT FROM excluded.low;
  RETURN NULL;
END $$
"""

_PG_TRIGGERS = [
    "CREATE TRIGGER trg_epoch_metrics_bests_insert AFTER INSERT ON epoch_metrics "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION tracker_epoch_bests_refresh()",
    "CREATE TRIGGER trg_epoch_metrics_bests_update AFTER UPDATE ON epoch_metrics "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION tracker_epoch_bests_refresh()",
]

_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_bests_insert",
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_bests_update",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_bests_insert ON epoch_metrics",
        "DROP TRIGGER IF EXISTS trg_epoch_metrics_bests_update ON epoch_metrics",
        "DROP FUNCTION IF EXISTS tracker_epoch_bests_refresh()",
    ],
}


def _create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        statements = [_SQLITE_INSERT, _SQLITE_UPDATE]
    elif dialect == "postgresql":
        statements = [_PG_FUNCTION, *_PG_TRIGGERS]
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    for statement in statements:
        op.execute(statement)


def _backfill() -> None:
    """The running best of every (run, metric) already in ``epoch_metrics``: one window pass."""
    m = sa.table(
        "epoch_metrics", sa.column("run_id"), sa.column("name"), sa.column("epoch"),
        sa.column("value"),
    )
    b = sa.table(
        "epoch_bests", sa.column("run_id"), sa.column("name"), sa.column("epoch"),
        sa.column("high"), sa.column("low"),
    )
    running = {"partition_by": [m.c.run_id, m.c.name], "order_by": m.c.epoch,
               "rows": (None, 0)}
    rows = sa.select(
        m.c.run_id, m.c.name, m.c.epoch,
        sa.func.max(m.c.value).over(**running), sa.func.min(m.c.value).over(**running),
    )
    op.execute(b.insert().from_select(["run_id", "name", "epoch", "high", "low"], rows))


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch.add_column(sa.Column("pruned_epoch", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pruned_threshold", sa.Double(), nullable=True))
        batch.create_check_constraint(op.f("ck_runs_status"), sa.text(_NEW_STATUSES))
    op.create_table(
        "epoch_bests",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("high", sa.Double(), nullable=True),
        sa.Column("low", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_epoch_bests_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", "epoch", name=op.f("pk_epoch_bests")),
    )
    _backfill()
    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    for statement in _DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("epoch_bests")
    # The older schema knows no ``pruned``: such a run ended, as keras-tuner saw it, completed.
    runs = sa.table("runs", sa.column("status"))
    op.execute(runs.update().where(runs.c.status == "pruned").values(status="completed"))
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch.drop_column("pruned_threshold")
        batch.drop_column("pruned_epoch")
        batch.create_check_constraint(op.f("ck_runs_status"), sa.text(_OLD_STATUSES))
