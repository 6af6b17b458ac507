"""Stale runs: a ``running`` run whose process stopped sending heartbeats.

``stale`` is never stored: it is derived at read time from ``runs.heartbeat_at`` (the last sign
of life: a heartbeat or an epoch) and a timeout, so a run comes back to ``running`` as soon as
its process (or ``tracker sync``) writes again. ``tracker gc`` stores ``failed`` for them.

The timeout is the ``stale_after`` argument, else ``$TRACKER_STALE_AFTER`` (seconds), else
five minutes: ten missed heartbeats at the default interval of 30 s
(``$TRACKER_HEARTBEAT_INTERVAL``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select, update

from ..errors import TrackerError
from .models import RunStatus
from .writes import runs as r
from .writes import utcnow

STALE = "stale"
STATUSES = (*(s.value for s in RunStatus), STALE)
ENV_STALE_AFTER = "TRACKER_STALE_AFTER"
DEFAULT_STALE_AFTER_S = 300.0
ENV_HEARTBEAT_INTERVAL = "TRACKER_HEARTBEAT_INTERVAL"
DEFAULT_HEARTBEAT_INTERVAL_S = 30.0

log = logging.getLogger("tracker")


def heartbeat_interval() -> float:
    """Seconds between heartbeats: ``$TRACKER_HEARTBEAT_INTERVAL``, else 30."""
    raw = os.environ.get(ENV_HEARTBEAT_INTERVAL)
    try:
        value = float(raw) if raw else DEFAULT_HEARTBEAT_INTERVAL_S
    except ValueError:  # never a reason not to track: say so and use the default
        log.warning("%s=%r is not a number of seconds: using %s", ENV_HEARTBEAT_INTERVAL, raw,
                    DEFAULT_HEARTBEAT_INTERVAL_S)
        value = DEFAULT_HEARTBEAT_INTERVAL_S
    return max(value, 0.05)


def stale_after_seconds(value: float | dt.timedelta | None = None) -> float:
    """The stale timeout in seconds: ``value``, else ``$TRACKER_STALE_AFTER``, else 300.

    >>> stale_after_seconds(dt.timedelta(minutes=2))
    120.0
    """
    if value is None:
        raw = os.environ.get(ENV_STALE_AFTER)
        if not raw:
            return DEFAULT_STALE_AFTER_S
        try:
            value = float(raw)
        except ValueError:
            raise TrackerError(f"{ENV_STALE_AFTER}={raw!r} is not a number of seconds") from None
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if not seconds > 0:
        raise TrackerError(f"the stale timeout must be a positive number of seconds, not {value}")
    return seconds


def cutoff(stale_after: float | dt.timedelta | None = None) -> dt.datetime:
    """Runs whose last sign of life is older than this are stale."""
    return utcnow() - dt.timedelta(seconds=stale_after_seconds(stale_after))


def last_seen() -> ColumnElement:
    """The run's last sign of life: its heartbeat, else its start."""
    return func.coalesce(r.c.heartbeat_at, r.c.started_at)


def is_stale(before: dt.datetime) -> ColumnElement[bool]:
    """A running run whose last sign of life is older than ``before``."""
    return and_(r.c.status == RunStatus.RUNNING.value, last_seen() < before)


def status_filter(statuses: str | Sequence[str], before: dt.datetime) -> ColumnElement[bool]:
    """A WHERE clause matching runs whose (derived) status is one of ``statuses``."""
    wanted = [statuses] if isinstance(statuses, str) else list(statuses)
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise TrackerError(f"unknown status {unknown[0]!r}: use one of {', '.join(STATUSES)}")
    running = r.c.status == RunStatus.RUNNING.value
    clauses = []
    for status in wanted:
        if status == STALE:
            clauses.append(is_stale(before))
        elif status == RunStatus.RUNNING.value:
            clauses.append(and_(running, last_seen() >= before))
        else:
            clauses.append(r.c.status == status)
    return or_(*clauses)


def status_column(before: dt.datetime | None) -> ColumnElement[str]:
    """The status to show, in SQL: ``stale`` for a running run not seen since ``before``."""
    if before is None:
        return r.c.status
    return case((is_stale(before), STALE), else_=r.c.status)


def derived_status(status: str, heartbeat_at, started_at, before: dt.datetime | None) -> str:
    """The status to show: ``stale`` for a running run not seen since ``before``."""
    if before is None or status != RunStatus.RUNNING.value:
        return status
    seen = heartbeat_at or started_at
    return STALE if seen is not None and seen < before else status


def fail_stale_runs(
    conn: Connection, before: dt.datetime, experiment_id: int | None = None
) -> list[int]:
    """Store ``failed`` for the runs that are stale at ``before``; returns their ids.

    ``ended_at`` becomes the last sign of life. A run that later reports again (its process was
    only cut off from the database) overwrites this with its real end.
    """
    stale = is_stale(before)
    if experiment_id is not None:
        stale = and_(stale, r.c.experiment_id == experiment_id)
    found = conn.execute(select(r.c.id, last_seen().label("seen")).where(stale).order_by(r.c.id))
    failed = []
    for run_id, seen in found.all():
        seen = _as_utc(seen)
        message = (
            f"no heartbeat since {seen:%Y-%m-%d %H:%M:%S} UTC: the process died or lost its "
            "database (marked failed by tracker gc)"
        )
        done = conn.execute(
            # Re-checked: a heartbeat may have arrived since the select.
            update(r).where(r.c.id == run_id, stale).values(
                status=RunStatus.FAILED.value, ended_at=seen, error=message
            )
        )
        if done.rowcount:
            failed.append(run_id)
    return failed


def _as_utc(value: dt.datetime) -> dt.datetime:
    # COALESCE loses the column type on SQLite: the value may come back naive (UTC) or as text.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
