"""The experiments page's summary of one experiment: its runs by status, the best value of
its objective and its last activity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..errors import TrackerError
from ..repository import Repository
from ..store import queries
from ..store.stale import status_column
from ..store.visibility import run_visibility
from ..store.writes import runs as r
from . import live


def summary(repo: Repository, name: str) -> dict[str, Any]:
    """``{experiment, statuses: {status: count}, best: top_runs(k=1) row or None,
    last_activity}`` for the experiment called ``name``."""
    cutoff = repo.stale_cutoff()

    def work(conn):
        found = queries.experiment(conn, name)
        status = status_column(cutoff)
        counts = conn.execute(
            select(status, func.count()).where(r.c.experiment_id == found.id, run_visibility())
            .group_by(status)
        ).all()
        return found, {s: n for s, n in counts}, live.latest(conn, found.id)

    found, statuses, last = repo.read(work)
    best = None
    metric = found.objective
    try:
        ranked = repo.top_runs(k=1, experiment=name)
        if ranked:
            best = {"run_id": ranked[0].run.id, "value": ranked[0].value,
                    "epoch": ranked[0].epoch}
        metric = metric or repo.default_metric(name)
    except TrackerError:  # no objective, no metric recorded yet: nothing to rank by
        pass
    return {"experiment": found, "statuses": statuses, "metric": metric, "best": best,
            "last_activity": last}
