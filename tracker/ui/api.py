"""The JSON API: each route answers what the ``Repository`` answers, as JSON
(``json_values``), and the dashboard's pages read nothing else.

The functions here take the repository and the query's parameters and return JSON-ready
values; ``app`` maps them to routes and library errors to JSON error responses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from ..errors import FilterError
from ..repository import Repository
from . import live
from .json_values import to_json
from .runs_table import RunsTable

MAX_K = 1_000
MAX_CHANGED = 1_000  # more changed runs than this: the page reads the runs again


def experiments(repo: Repository) -> list[dict[str, Any]]:
    """``GET /api/experiments``: ``repo.experiments()``."""
    return to_json(repo.experiments())


def summary(table: RunsTable, name: str) -> dict[str, Any]:
    """``GET /api/experiments/{name}/summary``: the experiment, its runs by status, the best
    value of its objective (``top_runs(k=1)``) and its last activity."""
    from .overview import summary as overview

    return table.remember(name, ("summary",), lambda: to_json(overview(table.repo, name)))


def runs(table: RunsTable, name: str, params: Mapping[str, str]) -> Response:
    """``GET /api/experiments/{name}/runs?where=&sort=&limit=&offset=``: the runs passing
    ``where`` (as ``repo.runs``), each with its hyperparameters and each metric's best and last
    value (as ``repo.to_dataframe``), sorted by ``sort`` (a column, ``-`` first for
    descending) and paged; ``format=columns`` gives the same values column by column (what
    the page reads: far cheaper to build at 10,000 runs). The encoded answer is kept until
    the runs change: megabytes of JSON at 10,000 runs, costly to build for every visit."""
    where, sort = params.get("where") or None, params.get("sort") or None
    limit, offset = _int(params, "limit", None), _int(params, "offset", 0)
    form = params.get("format") or "rows"
    if form not in ("rows", "columns"):
        raise FilterError(f"format must be rows or columns, not {form!r}")

    def encode() -> bytes:
        answer = table.page(name, where, sort=sort, limit=limit, offset=offset,
                            columns=form == "columns")
        return json.dumps(answer, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()

    body = table.remember(name, ("runs", where, sort, limit, offset, form), encode)
    return Response(body, media_type="application/json")


def changes(table: RunsTable, name: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``GET /api/experiments/{name}/changes?since=&where=``: the new cursor and the rows (as in
    ``runs``) of the runs changed since the cursor ``since``; ``full`` (no cursor, or too many
    changes) says to read ``runs`` again instead."""
    where = params.get("where") or None
    found = table.repo.read(lambda conn: live.changes(conn, name, params.get("since")))
    if found.run_ids is None or len(found.run_ids) > MAX_CHANGED:  # read them all instead
        return {"cursor": found.cursor, "runs": [], "full": True}
    rows = table.rows(name, where, found.run_ids) if found.run_ids else []
    return {"cursor": found.cursor, "runs": rows, "full": False}


def best(table: RunsTable, name: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /api/experiments/{name}/best?group_by=&metric=&over=&where=``: ``repo.best_by``."""
    repo = table.repo
    group_by = params.get("group_by")
    if not group_by:
        names = ", ".join(repo.names(name).hyperparameters) or "none recorded"
        raise FilterError(f"best needs group_by=<hyperparameter> (recorded: {names})")
    return table.remember(name, ("best", dict(params)), lambda: to_json(repo.best_by(
        group_by, params.get("metric") or None, experiment=name,
        over=params.get("over") or "best", where=params.get("where") or None,
        mode=params.get("mode") or None)))


def top(table: RunsTable, name: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /api/experiments/{name}/top?metric=&k=&over=&where=``: ``repo.top_runs``."""
    k = _int(params, "k", 10)
    if not 1 <= k <= MAX_K:
        raise FilterError(f"k must be between 1 and {MAX_K}, not {k}")
    return table.remember(name, ("top", dict(params)), lambda: to_json(table.repo.top_runs(
        params.get("metric") or None, k, experiment=name, over=params.get("over") or "best",
        where=params.get("where") or None, mode=params.get("mode") or None)))


def trials(table: RunsTable, name: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /api/experiments/{name}/trials?metric=&over=&where=``: ``repo.trials``."""
    return table.remember(name, ("trials", dict(params)), lambda: to_json(table.repo.trials(
        name, params.get("metric") or None, over=params.get("over") or "best",
        where=params.get("where") or None, mode=params.get("mode") or None)))


def importance(table: RunsTable, name: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /api/experiments/{name}/importance?metric=&over=&where=``: ``repo.importance``."""
    return table.remember(name, ("importance", dict(params)), lambda: to_json(
        table.repo.importance(params.get("metric") or None, name,
                              over=params.get("over") or "best",
                              where=params.get("where") or None,
                              mode=params.get("mode") or None)))


def names(repo: Repository, name: str) -> dict[str, Any]:
    """``GET /api/experiments/{name}/names``: ``repo.names`` (for the filter box's help)."""
    return to_json(repo.names(name))


def run(repo: Repository, run_id: int) -> dict[str, Any]:
    """``GET /api/runs/{id}``: ``repo.run``."""
    return to_json(repo.run(run_id))


def history(repo: Repository, run_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /api/runs/{id}/history?metric=``: ``repo.history``."""
    return to_json(repo.history(run_id, params.get("metric") or None))


def batches(repo: Repository, run_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /api/runs/{id}/batches?metric=``: ``repo.batch_history`` (per-batch points)."""
    return to_json(repo.batch_history(run_id, params.get("metric") or None))


def _int(params: Mapping[str, str], key: str, default: int | None) -> int | None:
    text = params.get(key)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise FilterError(f"{key} must be a whole number, not {text!r}") from None
    if value < 0:
        raise FilterError(f"{key} must not be negative, not {value}")
    return value
