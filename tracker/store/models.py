"""SQLAlchemy 2.x declarative models: the one schema behind SQLite and PostgreSQL.

Long format throughout: one row per run and hyperparameter name, one row per run, metric
name and epoch, so any metric or hyperparameter name works without a schema change.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    column,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

# Named constraints from the first revision, so that SQLite batch migrations can drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and the zone is put back on read. Naive values given by callers are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class RunStatus(str, enum.Enum):
    """Stored run states. ``stale`` is derived (a running run whose heartbeat stopped)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INVALID = "invalid"  # keras-tuner's TrialStatus.INVALID: the trial asked not to be scored
    PRUNED = "pruned"  # stopped early by a pruner (tracker.pruning): see pruned_epoch


class ValueKind(enum.IntEnum):
    """What a metric value is. Only finite values are stored in ``value``; the others are NULL
    there, so that ``MAX``/``MIN`` never pick a diverged run on either backend."""

    FINITE = 0
    NAN = 1
    POS_INF = 2
    NEG_INF = 3


class HyperparameterKind(str, enum.Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    JSON = "json"  # lists, tuples and dicts, as JSON text
    NONE = "none"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _one_of(column_name: str, values) -> ColumnElement[bool]:
    """``column IN (...)`` over a fixed set of values, for a CHECK constraint: built by
    SQLAlchemy and rendered with literal values in the DDL."""
    return column(column_name).in_([v if isinstance(v, str) else int(v) for v in values])


class Experiment(Base):
    """A sweep: runs that belong together, with the metric it optimises."""

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    objective: Mapped[str | None] = mapped_column(String(255))
    direction: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    # Soft delete (revision 0004): hidden from every read until restored or purged.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    runs: Mapped[list[Run]] = relationship(back_populates="experiment")

    __table_args__ = (
        CheckConstraint("direction IN ('min', 'max')", name="direction"),
    )


class Run(Base):
    """One training run: one ``fit`` call, or one execution of one keras-tuner trial."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(255))
    trial_id: Mapped[str | None] = mapped_column(String(255))
    execution: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    error: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Double)
    # Where the run came from: "callback", "keras-tuner", "keras-tuner-import", ...
    source: Mapped[str | None] = mapped_column(String(32))
    # False when only some epochs exist (e.g. imported from keras-tuner's trial.json, which
    # keeps only the best epoch's values).
    history_complete: Mapped[bool] = mapped_column(Boolean, server_default=true())
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    # Soft delete (revision 0004): hidden from every read; no write of the run clears it.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set when a pruner stopped the run: the epoch it decided at, and the threshold (the
    # percentile of the other runs' best values up to that epoch) the run's best missed.
    pruned_epoch: Mapped[int | None] = mapped_column(Integer)
    pruned_threshold: Mapped[float | None] = mapped_column(Double)

    experiment: Mapped[Experiment] = relationship(back_populates="runs")
    hyperparameters: Mapped[list[Hyperparameter]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint(_one_of("status", (s.value for s in RunStatus)), name="status"),
        Index(None, "status", "heartbeat_at"),
        Index(None, "experiment_id", "trial_id"),
        Index(None, "deleted_at"),
    )


class Hyperparameter(Base):
    """One hyperparameter of one run, typed.

    ``text_value`` always holds the exact value as text (``repr`` of a float), so an int or a
    float reads back unchanged; ``num_value`` holds numbers and bools for ``GROUP BY`` and range
    filters in SQL.
    """

    __tablename__ = "hyperparameters"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    num_value: Mapped[float | None] = mapped_column(Double)
    text_value: Mapped[str | None] = mapped_column(Text)

    run: Mapped[Run] = relationship(back_populates="hyperparameters")

    __table_args__ = (
        CheckConstraint(_one_of("kind", (k.value for k in HyperparameterKind)), name="kind"),
        # Not on text_value: a long string would exceed PostgreSQL's btree row limit.
        Index(None, "name", "num_value"),
    )


class EpochMetric(Base):
    """One metric of one run at one epoch. Unique on (run, name, epoch): writes are upserts."""

    __tablename__ = "epoch_metrics"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float | None] = mapped_column(Double)
    value_kind: Mapped[int] = mapped_column(SmallInteger, default=ValueKind.FINITE)

    __table_args__ = (
        CheckConstraint(_one_of("value_kind", ValueKind), name="value_kind"),
        CheckConstraint(
            "(value_kind = 0 AND value IS NOT NULL) OR (value_kind <> 0 AND value IS NULL)",
            name="value_matches_kind",
        ),
        # "Best value of a metric in a run" is one index seek (best_by, top_runs).
        Index(None, "run_id", "name", "value"),
    )


class BatchMetric(Base):
    """One metric of one run at one training batch (opt-in: ``log_every_n_batches``).

    ``step`` is the global batch index since the start of ``fit`` (unique with run and name),
    ``epoch`` the epoch it fell in. Values are encoded as in ``EpochMetric``.
    """

    __tablename__ = "batch_metrics"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Double)
    value_kind: Mapped[int] = mapped_column(SmallInteger, default=ValueKind.FINITE)

    __table_args__ = (
        CheckConstraint(_one_of("value_kind", ValueKind), name="value_kind"),
        CheckConstraint(
            "(value_kind = 0 AND value IS NOT NULL) OR (value_kind <> 0 AND value IS NULL)",
            name="value_matches_kind",
        ),
    )


class RunMetric(Base):
    """Per run and metric: the largest and smallest finite value, and the last epoch's value.

    Kept up to date by the database itself (triggers created in revision 0003, on SQLite and
    PostgreSQL) on every insert or change of ``epoch_metrics``, whatever writes it: the
    callback, bulk loads, imports, journal replay, or a user's own SQL. Reading a sweep's
    summary then touches one row per run and metric instead of every epoch.
    """

    __tablename__ = "run_metrics"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    high: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)
    last_epoch: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[float | None] = mapped_column(Double)
    last_kind: Mapped[int] = mapped_column(SmallInteger)

    # Revision 0006: the metric names in a few index seeks (a skip scan), not a DISTINCT over
    # every run's rows (the runs frame on PostgreSQL).
    __table_args__ = (Index(None, "name"),)


class RunTag(Base):
    """A ``key=value`` label on a run (values are text). Gone with the run when it is purged."""

    __tablename__ = "run_tags"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index(None, "key", "run_id"),)


class ExperimentTag(Base):
    """A ``key=value`` label on an experiment (values are text)."""

    __tablename__ = "experiment_tags"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ExperimentAlias(Base):
    """An experiment's former name (``rename``): writers still using it, such as a sweep that
    was running during the rename, keep writing into the renamed experiment."""

    __tablename__ = "experiment_aliases"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    renamed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who changed what, and when: delete, restore, rename, move, purge (and tags, notes).

    ``target`` names what was touched as text (``run 12``, ``experiment mnist``); ``details``
    is JSON text. Never deleted by ``purge``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index(None, "at"),)


class EpochBest(Base):
    """Per run, metric and epoch: the largest and smallest finite value over epochs up to and
    including this one (NULL while there is none).

    Kept by database triggers (revision 0005) on every insert or change of ``epoch_metrics``,
    like ``run_metrics``. "Each run's best value up to epoch E" is then one index seek per run
    (the row at the largest epoch <= E), whatever the number of epochs: the pruners' query.
    """

    __tablename__ = "epoch_bests"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    high: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)


class PurgedRun(Base):
    """The key of a run removed by ``purge``: a replay of its records (a journal, a retry)
    recreates it deleted, so that it stays gone from every read."""

    __tablename__ = "purged_runs"

    key: Mapped[str] = mapped_column(String(36), primary_key=True)
    purged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
