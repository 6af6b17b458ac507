"""Curation: tags, notes, soft delete, experiment aliases and the audit log.

* ``runs.note`` / ``experiments.note``: free text;
* ``runs.deleted_at`` / ``experiments.deleted_at``: soft delete (NULL: visible), indexed on
  runs so that ``--deleted`` and ``purge`` find them with one index range;
* ``run_tags`` / ``experiment_tags``: ``key=value`` text labels, one table per target so that
  each has a real foreign key (a purged run takes its tags with it);
* ``experiment_aliases``: former names of renamed experiments, so that a sweep still writing
  under the old name lands in the renamed experiment;
* ``audit_log``: who (user, host) did what (delete, restore, rename, move, purge...) and when;
* ``purged_runs``: keys of purged runs, so that a replay of their records recreates them
  deleted (hidden) rather than visible.

Only columns are added to existing tables: SQLite's ``ALTER TABLE ADD COLUMN`` in place, so no
table is copied and the triggers of revision 0003 stay as they are.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("deleted_at", _when(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("deleted_at", _when(), nullable=True))
        batch.create_index(batch.f("ix_runs_deleted_at"), ["deleted_at"])

    op.create_table(
        "run_tags",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_tags_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_run_tags")),
    )
    op.create_index(op.f("ix_run_tags_key_run_id"), "run_tags", ["key", "run_id"])
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", BigId, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"],
            name=op.f("fk_experiment_tags_experiment_id_experiments"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "key", name=op.f("pk_experiment_tags")),
    )
    op.create_table(
        "experiment_aliases",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("experiment_id", BigId, nullable=False),
        sa.Column("renamed_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"],
            name=op.f("fk_experiment_aliases_experiment_id_experiments"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_experiment_aliases")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("user", sa.String(255), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_table(
        "purged_runs",
        sa.Column("key", sa.String(36), nullable=False),
        sa.Column("purged_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_purged_runs")),
    )


def downgrade() -> None:
    op.drop_table("purged_runs")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("experiment_aliases")
    op.drop_table("experiment_tags")
    op.drop_index(op.f("ix_run_tags_key_run_id"), table_name="run_tags")
    op.drop_table("run_tags")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(batch.f("ix_runs_deleted_at"))
        batch.drop_column("deleted_at")
        batch.drop_column("note")
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("note")
