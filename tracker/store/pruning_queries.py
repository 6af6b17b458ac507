"""The SQL behind early stopping: the pruning decision's write, every run's best value up to an
epoch (one index seek per run in ``epoch_bests``), and what pruning saved."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, select, update

from . import names, queries
from .models import EpochBest, Experiment, Hyperparameter, Run, RunMetric, RunStatus

r = Run.__table__
e = Experiment.__table__
b = EpochBest.__table__
rm = RunMetric.__table__
hp = Hyperparameter.__table__

# The runs whose curves count for the threshold, once they reached the epoch judged: a run that
# stopped before it (pruned, or ended early) has no best "up to" that epoch.
_COUNTED = (RunStatus.COMPLETED.value, RunStatus.RUNNING.value, RunStatus.PRUNED.value)


@dataclass(frozen=True, slots=True)
class PruneStats:
    """What pruning did in one experiment (``Repository.prune_stats``)."""

    experiment: str
    metric: str
    direction: str
    runs: int
    pruned: int
    epochs_trained: int
    epochs_saved: int
    best_run: int | None
    best_value: float | None
    best_pruned: bool

    @property
    def saved_fraction(self) -> float:
        """Epochs saved over the epochs a search without pruning would have trained."""
        total = self.epochs_trained + self.epochs_saved
        return self.epochs_saved / total if total else 0.0


def record_pruning(conn: Connection, run_id: int, epoch: int, threshold: float | None) -> None:
    conn.execute(
        update(r).where(r.c.id == run_id).values(pruned_epoch=epoch, pruned_threshold=threshold)
    )


def objective(conn: Connection, experiment: str) -> tuple[str | None, str | None]:
    """The experiment's objective metric and direction (None, None when unknown)."""
    row = conn.execute(
        select(e.c.objective, e.c.direction).where(e.c.name == experiment)
    ).first()
    return (row.objective, row.direction) if row is not None else (None, None)


def bests_up_to(
    conn: Connection, experiment: str, metric: str, epoch: int, direction: str,
    exclude_key: str | None,
) -> list[float]:
    column = b.c.high if direction == "max" else b.c.low
    best = (
        select(column)
        .where(b.c.run_id == r.c.id, b.c.name == metric, b.c.epoch <= epoch)
        .order_by(b.c.epoch.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(best)
        .select_from(r.join(e, e.c.id == r.c.experiment_id))
        .join(rm, and_(rm.c.run_id == r.c.id, rm.c.name == metric))
        .where(
            e.c.name == experiment,
            r.c.status.in_(_COUNTED),
            rm.c.last_epoch >= epoch,
            r.c.deleted_at.is_(None),  # a deleted run (curation) no longer counts
            e.c.deleted_at.is_(None),
        )
    )
    if exclude_key is not None:
        stmt = stmt.where(r.c.key != exclude_key)
    return [value for value in conn.execute(stmt).scalars() if value is not None]


def prune_stats(conn: Connection, experiment: str, metric: str | None) -> PruneStats:
    found = queries.experiment(conn, experiment)
    metric = metric or names.default_metric(conn, found.id, experiment)
    direction = names.metric_direction(conn, metric, None, found.id, experiment, found)
    names.check_metric(conn, metric, found.id, experiment)
    best = rm.c.high if direction == "max" else rm.c.low
    planned = (
        select(hp.c.num_value)
        .where(hp.c.run_id == r.c.id, hp.c.name == "epochs", hp.c.kind == "int")
        .scalar_subquery()
    )
    rows = conn.execute(
        select(r.c.id, r.c.status, rm.c.last_epoch, best.label("best"), planned.label("planned"))
        .outerjoin(rm, and_(rm.c.run_id == r.c.id, rm.c.name == metric))
        .where(r.c.experiment_id == found.id)
        .order_by(r.c.id)
    ).all()
    trained = {row.id: (row.last_epoch + 1 if row.last_epoch is not None else 0) for row in rows}
    longest = max((trained[row.id] for row in rows if row.status != RunStatus.PRUNED.value),
                  default=0)
    pruned = [row for row in rows if row.status == RunStatus.PRUNED.value]
    saved = sum(
        max(0, int(row.planned if row.planned is not None else longest) - trained[row.id])
        for row in pruned
    )
    scored = [row for row in rows if row.best is not None]
    top = None
    if scored:
        top = max(scored, key=lambda row: row.best if direction == "max" else -row.best)
    return PruneStats(
        experiment=experiment,
        metric=metric,
        direction=direction,
        runs=len(rows),
        pruned=len(pruned),
        epochs_trained=sum(trained.values()),
        epochs_saved=saved,
        best_run=top.id if top else None,
        best_value=top.best if top else None,
        best_pruned=bool(top and top.status == RunStatus.PRUNED.value),
    )

