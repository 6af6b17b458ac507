"""What changed since the page last looked: a cursor over the runs' heartbeats and ends, so
that a live refresh reads the runs that changed, not the whole sweep.

Every epoch a run records moves its ``heartbeat_at``; its end sets ``ended_at``. The cursor is
the server's time when the page last asked; the runs changed since are those with a later
start, heartbeat or end, plus the runs still ``running`` (so that one whose process died
turns ``stale`` on the page). Those times come from the training machines' clocks, so the
look-back starts ``SKEW`` before the cursor: a run written by a machine whose clock is a few
seconds behind is not missed (and the runs active in the last seconds are sent again, which
the page takes as they are). A sweep where nothing happened reads nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, or_, select

from ..errors import FilterError
from ..store import queries
from ..store.stale import is_stale
from ..store.visibility import run_visibility
from ..store.writes import runs as r

SKEW = dt.timedelta(seconds=15)


@dataclass(frozen=True)
class Changes:
    """The new ``cursor`` and the ids of the runs changed since the old one (None when there
    was no old cursor: read them all)."""

    cursor: str
    run_ids: list[int] | None


def parse_cursor(since: str | None) -> dt.datetime | None:
    """A cursor as the page sends it back (an ISO 8601 time), or a clear error."""
    if since in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(since)
    except ValueError:
        raise FilterError(f"since must be a cursor returned by this API, not {since!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def latest(conn: Connection, experiment_id: int) -> dt.datetime | None:
    """The latest heartbeat or end among the experiment's runs."""
    row = conn.execute(
        select(func.max(r.c.heartbeat_at), func.max(r.c.ended_at), func.max(r.c.started_at))
        .where(r.c.experiment_id == experiment_id, run_visibility())
    ).one()
    found = [_aware(value) for value in row if value is not None]
    return max(found) if found else None


def changes(conn: Connection, experiment: str, since: str | None) -> Changes:
    """The cursor now, and which runs of ``experiment`` changed since ``since``."""
    when = parse_cursor(since)
    found = queries.experiment(conn, experiment)
    cursor = dt.datetime.now(dt.timezone.utc).isoformat()
    if when is None:
        return Changes(cursor, None)
    after = when - SKEW
    ids = conn.execute(
        select(r.c.id)
        .where(r.c.experiment_id == found.id, run_visibility(),
               or_(r.c.heartbeat_at > after, r.c.ended_at > after, r.c.started_at > after,
                   r.c.status == "running"))
        .order_by(r.c.id)
    ).scalars().all()
    return Changes(cursor, list(ids))


def version(conn: Connection, experiment_id: int, stale_before: dt.datetime) -> tuple:
    """A value that changes whenever the runs table of the experiment would read differently
    (a new run, an epoch, an end, a run turning stale): what the runs cache checks."""
    row = conn.execute(
        select(func.count(), func.max(r.c.id), func.max(r.c.heartbeat_at),
               func.max(r.c.ended_at),
               func.count().filter(is_stale(stale_before)))
        .where(r.c.experiment_id == experiment_id, run_visibility())
    ).one()
    return tuple(row)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
