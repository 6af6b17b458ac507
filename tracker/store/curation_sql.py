"""The SQL of curation: soft delete and restore, purge, rename, move, and the audit log.

Functions of an open connection inside one write transaction; ``curation`` (the
``Repository`` methods) calls them. Every statement is set-based: a fixed number per call
whatever the number of runs.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, literal, select, update

from . import dialects
from .models import AuditEntry, UTCDateTime
from .writes import batch_metrics as b
from .writes import epoch_metrics as m
from .writes import experiment_aliases as aliases
from .writes import experiments as e
from .writes import purged_runs, utcnow
from .writes import runs as r

audit_log = AuditEntry.__table__
_MAX_IDS_IN_AUDIT = 1_000


def _who() -> tuple[str | None, str | None]:
    try:
        user = getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry): still audited
        user = None
    return user, socket.gethostname() or None


def audit(conn: Connection, action: str, target: str, details: dict[str, Any]) -> None:
    """Record who (user, host) did ``action`` on ``target``, now."""
    if "run_ids" in details and len(details["run_ids"]) > _MAX_IDS_IN_AUDIT:
        details = {**details, "run_ids": details["run_ids"][:_MAX_IDS_IN_AUDIT],
                   "run_ids_truncated": True}
    user, host = _who()
    conn.execute(audit_log.insert().values(
        at=utcnow(), action=action, target=target,
        details=json.dumps(details, sort_keys=True, default=str), user=user, host=host))


def renamed_to(conn: Connection, name: str) -> str | None:
    """The current name of the experiment formerly called ``name``, if any."""
    stmt = select(e.c.name).join(aliases, aliases.c.experiment_id == e.c.id).where(
        aliases.c.name == name)
    return conn.execute(stmt).scalar()


def runs_text(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'}"


def counts(conn: Connection, run_ids: Sequence[int]) -> dict[str, int]:
    """How many runs, epoch rows and batch rows ``run_ids`` hold (what a command touches)."""
    ids = list(run_ids)
    if not ids:
        return {"runs": 0, "epochs": 0, "batches": 0}
    epochs = conn.execute(select(func.count()).where(m.c.run_id.in_(ids))).scalar()
    batches = conn.execute(select(func.count()).where(b.c.run_id.in_(ids))).scalar()
    return {"runs": len(ids), "epochs": int(epochs), "batches": int(batches)}


def set_run_deleted(conn: Connection, run_ids: Sequence[int], when: dt.datetime | None) -> int:
    """Soft-delete (``when``) or restore (None) runs; returns how many changed."""
    if not run_ids:
        return 0
    changing = r.c.deleted_at.is_(None) if when is not None else r.c.deleted_at.is_not(None)
    stmt = update(r).where(r.c.id.in_(list(run_ids)), changing).values(deleted_at=when)
    return conn.execute(stmt).rowcount


def set_experiment_deleted(conn: Connection, experiment_id: int,
                           when: dt.datetime | None) -> int:
    stmt = update(e).where(e.c.id == experiment_id).values(deleted_at=when)
    return conn.execute(stmt).rowcount


def rename(conn: Connection, experiment_id: int, old: str, new: str) -> None:
    """Rename in place (the id stays, so no run moves) and keep ``old`` as an alias."""
    conn.execute(delete(aliases).where(aliases.c.name.in_([old, new])))
    conn.execute(update(e).where(e.c.id == experiment_id).values(name=new))
    conn.execute(aliases.insert().values(name=old, experiment_id=experiment_id,
                                         renamed_at=utcnow()))


def move(conn: Connection, run_ids: Sequence[int], target_id: int) -> dict[int, int]:
    """Move runs into experiment ``target_id``; returns run id -> its new attempt.

    keras-tuner trials stay consistent: the moved runs of one trial (per source experiment
    and attempt) become the next attempts of that trial id in the target, executions kept,
    as if the target had run them again after its own (``trials`` then shows the latest)."""
    rows = conn.execute(
        select(r.c.id, r.c.experiment_id, r.c.trial_id, r.c.attempt)
        .where(r.c.id.in_(list(run_ids)), r.c.experiment_id != target_id)
        .order_by(r.c.experiment_id, r.c.trial_id, r.c.attempt, r.c.id)
    ).all()
    if not rows:
        return {}
    trial_ids = sorted({row.trial_id for row in rows if row.trial_id is not None})
    latest = dict(conn.execute(
        select(r.c.trial_id, func.max(r.c.attempt))
        .where(r.c.experiment_id == target_id, r.c.trial_id.in_(trial_ids))
        .group_by(r.c.trial_id)
    ).all()) if trial_ids else {}
    attempts: dict[int, int] = {}
    given: dict[tuple, int] = {}
    for row in rows:
        if row.trial_id is None:
            attempts[row.id] = row.attempt
            continue
        group = (row.experiment_id, row.trial_id, row.attempt)
        if group not in given:
            found = latest.get(row.trial_id)
            given[group] = 0 if found is None else found + 1
            latest[row.trial_id] = given[group]
        attempts[row.id] = given[group]
    stmt = update(r).where(r.c.id == bindparam("_id")).values(
        experiment_id=target_id, attempt=bindparam("_attempt"))
    conn.execute(stmt, [{"_id": i, "_attempt": a} for i, a in attempts.items()])
    return attempts


def purgeable(conn: Connection, before: dt.datetime, alive_after: dt.datetime):
    """``(run ids, experiment ids)`` deleted before ``before``: the runs deleted themselves,
    and the deleted experiments (with every run they hold). A run still running whose
    process was seen after ``alive_after`` is kept (and so is its experiment) until it ends
    or goes stale: its process may still be writing."""
    alive = (r.c.status == "running") & (func.coalesce(r.c.heartbeat_at, r.c.started_at)
                                         > alive_after)
    run_ids = conn.execute(
        select(r.c.id).where(r.c.deleted_at.is_not(None), r.c.deleted_at < before, ~alive)
        .order_by(r.c.id)
    ).scalars().all()
    busy = select(r.c.experiment_id).where(alive)
    experiment_ids = conn.execute(
        select(e.c.id).where(e.c.deleted_at.is_not(None), e.c.deleted_at < before,
                             e.c.id.not_in(busy)).order_by(e.c.id)
    ).scalars().all()
    return list(run_ids), list(experiment_ids)


def purge(conn: Connection, run_ids: Sequence[int], experiment_ids: Sequence[int]) -> None:
    """Delete for good: the foreign keys cascade to hyperparameters, epochs, batches,
    summaries and tags; the runs' keys are kept in ``purged_runs`` (a replay of their records
    then recreates them deleted). Locks the experiments first on PostgreSQL so that no run can
    be inserted into one being removed (its insert waits, then sees it gone)."""
    run_ids, experiment_ids = list(run_ids), list(experiment_ids)
    if conn.dialect.name == "postgresql" and experiment_ids:
        conn.execute(select(e.c.id).where(e.c.id.in_(experiment_ids)).with_for_update())
    gone = select(r.c.key, literal(utcnow(), UTCDateTime()).label("purged_at")).where(
        r.c.id.in_(run_ids) | r.c.experiment_id.in_(experiment_ids))
    conn.execute(dialects.insert_ignore(conn.dialect.name, purged_runs, ["key"])
                 .from_select(["key", "purged_at"], gone))
    if experiment_ids:
        conn.execute(delete(e).where(e.c.id.in_(experiment_ids)))
    if run_ids:
        conn.execute(delete(r).where(r.c.id.in_(run_ids)))


def runs_of(conn: Connection, experiment_ids: Sequence[int]) -> list[int]:
    if not experiment_ids:
        return []
    stmt = select(r.c.id).where(r.c.experiment_id.in_(list(experiment_ids))).order_by(r.c.id)
    return list(conn.execute(stmt).scalars())
