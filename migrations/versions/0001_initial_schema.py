"""Initial schema: experiments, runs, hyperparameters, epoch_metrics.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Declared here, not imported from tracker.models: a revision must not change when models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("objective", sa.String(255), nullable=True),
        sa.Column("direction", sa.String(3), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("direction IN ('min', 'max')", name=op.f("ck_experiments_direction")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )
    op.create_table(
        "runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(36), nullable=False),
        sa.Column("experiment_id", BigId, nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("trial_id", sa.String(255), nullable=True),
        sa.Column("execution", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("history_complete", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("heartbeat_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'invalid')", name=op.f("ck_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_runs_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_runs_key")),
    )
    op.create_index(op.f("ix_runs_experiment_id_trial_id"), "runs", ["experiment_id", "trial_id"])
    op.create_index(op.f("ix_runs_status_heartbeat_at"), "runs", ["status", "heartbeat_at"])
    op.create_table(
        "hyperparameters",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("num_value", sa.Double(), nullable=True),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('int', 'float', 'bool', 'str', 'json', 'none')",
            name=op.f("ck_hyperparameters_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_hyperparameters_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", name=op.f("pk_hyperparameters")),
    )
    op.create_index(
        op.f("ix_hyperparameters_name_num_value"), "hyperparameters", ["name", "num_value"]
    )
    op.create_table(
        "epoch_metrics",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("value_kind", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint(
            "(value_kind = 0 AND value IS NOT NULL) OR (value_kind <> 0 AND value IS NULL)",
            name=op.f("ck_epoch_metrics_value_matches_kind"),
        ),
        sa.CheckConstraint("value_kind IN (0, 1, 2, 3)", name=op.f("ck_epoch_metrics_value_kind")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_epoch_metrics_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", "epoch", name=op.f("pk_epoch_metrics")),
    )


def downgrade() -> None:
    op.drop_table("epoch_metrics")
    op.drop_index(op.f("ix_hyperparameters_name_num_value"), table_name="hyperparameters")
    op.drop_table("hyperparameters")
    op.drop_index(op.f("ix_runs_status_heartbeat_at"), table_name="runs")
    op.drop_index(op.f("ix_runs_experiment_id_trial_id"), table_name="runs")
    op.drop_table("runs")
    op.drop_table("experiments")
