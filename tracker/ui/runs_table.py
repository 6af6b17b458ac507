"""The experiment page's runs table: ``repo.to_dataframe`` rows as JSON, sorted and paged,
with the frame of each (experiment, filter), and the charts' answers, kept until the runs
change (``live.version``), so that sorting, paging and re-reading an idle sweep cost no
database work beyond one small aggregate.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import UnknownNameError
from ..repository import Repository
from ..store import queries
from ..store.filters import Where
from . import live
from .columns import columns_of, plain
from .json_values import kind_of

if TYPE_CHECKING:
    import pandas as pd

CACHED_ANSWERS = 64  # a few runs frames of a few MB each, and small answers
T = TypeVar("T")
# Frame column -> the row's field (the frame's ``run_id`` is ``RunInfo.id``).
RUN_FIELDS = {
    "run_id": "id", "key": "key", "name": "name", "trial_id": "trial_id",
    "execution": "execution", "status": "status", "source": "source",
    "started_at": "started_at", "ended_at": "ended_at", "duration_s": "duration_s",
    "score": "score", "last_epoch": "last_epoch",
}


@dataclass
class _Cached:
    version: tuple
    answer: Any


class RunsTable:
    """The runs of an experiment as table rows, for the API's ``runs`` and ``changes``."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._answers: OrderedDict[tuple, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, name: str, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``, or its answer from an earlier call with the same ``key`` if the runs
        of experiment ``name`` have not changed since (``live.version``: one small aggregate).
        The pages' charts ask the same questions again on every visit."""
        cutoff = self.repo.stale_cutoff()

        def check(conn):
            return live.version(conn, queries.experiment(conn, name).id, cutoff)

        version = self.repo.read(check)
        key = (name, json.dumps(key, sort_keys=True, default=str))
        with self._lock:
            cached = self._answers.get(key)
            if cached is not None and cached.version == version:
                self._answers.move_to_end(key)
                return cached.answer
        answer = compute()
        with self._lock:
            self._answers[key] = _Cached(version, answer)
            while len(self._answers) > CACHED_ANSWERS:
                self._answers.popitem(last=False)
        return answer

    def frame(self, name: str, where: Where) -> pd.DataFrame:
        """``repo.to_dataframe(name, where=where)``, re-read only when the runs changed."""
        return self.remember(name, ("frame", where),
                             lambda: self.repo.to_dataframe(name, where=where))

    def page(self, name: str, where: Where, *, sort: str | None = None,
             limit: int | None = None, offset: int = 0, columns: bool = False
             ) -> dict[str, Any]:
        """The rows of one page, sorted, with what the page needs to draw the table
        (``columns``: as ``columns.columns_of``, under ``"columns"`` instead of ``"runs"``)."""
        frame = self.frame(name, where)
        ordered = frame if sort is None else sort_frame(frame, sort)
        end = None if limit is None else offset + limit
        hyperparameters = list(frame.attrs["hyperparameters"].values())
        return {
            "experiment": name,
            "where": where,
            "sort": sort,
            "offset": offset,
            "limit": limit,
            "total": len(frame),
            "hyperparameters": hyperparameters,
            "varying": [n for c, n in frame.attrs["hyperparameters"].items()
                        if frame[c].astype(str).nunique(dropna=False) > 1],
            "metrics": list(frame.attrs["metrics"]),
            "directions": dict(frame.attrs["directions"]),
            **({"columns": columns_of(ordered.iloc[offset:end], RUN_FIELDS)} if columns
               else {"runs": rows_of(ordered.iloc[offset:end])}),
        }

    def rows(self, name: str, where: Where, run_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The rows of some runs (those changed since a cursor) that pass ``where``."""
        ids = {"id": list(run_ids)}
        frame = self.repo.to_dataframe(name, where=[where, ids] if where else ids)
        return rows_of(frame)


def sort_keys(frame: pd.DataFrame) -> dict[str, str]:
    """What ``sort`` may name -> the frame's column: run fields, hyperparameters, and
    ``best.M`` / ``last.M`` for each metric ``M``."""
    keys = {field: column for column, field in RUN_FIELDS.items()}
    keys.update({n: c for c, n in frame.attrs["hyperparameters"].items()})
    for metric in frame.attrs["metrics"]:
        for which in ("best", "last"):
            if f"{metric}_{which}" in frame.columns:
                keys[f"{which}.{metric}"] = f"{metric}_{which}"
    return keys


def sort_frame(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    """``frame`` sorted by ``sort`` (``-`` first: descending), missing values last, ties in
    run id order."""
    descending = sort.startswith("-")
    key = sort.lstrip("-+")
    keys = sort_keys(frame)
    if key not in keys:
        raise UnknownNameError(f"cannot sort by {key!r}: sort by one of {', '.join(keys)}",
                               known=tuple(keys))
    column = frame[keys[key]]
    if column.dtype == object:  # mixed kinds (e.g. json values): compare their text
        column = column.map(lambda v: None if v is None else str(v))
    if column.dtype.kind == "f":  # NaN and infinities sort as missing, as best-of queries do
        column = column.where(column.map(math.isfinite, na_action="ignore").fillna(False)
                              .astype(bool))
    order = column.sort_values(ascending=not descending, na_position="last", kind="stable")
    return frame.loc[order.index]


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON object per row: the run's fields, ``hyperparameters``, and ``best`` and
    ``last`` per metric (non-finite values as null with ``<metric>_kind`` beside)."""
    if frame.empty:
        return []
    fields = {field: plain(frame[column]) for column, field in RUN_FIELDS.items()}
    hps = {name: plain(frame[column]) for column, name in frame.attrs["hyperparameters"].items()}
    metric_columns = {
        which: {m: frame[f"{m}_{which}"].tolist() for m in frame.attrs["metrics"]
                if f"{m}_{which}" in frame.columns}
        for which in ("best", "last")
    }
    out = []
    for i in range(len(frame)):
        row = {field: values[i] for field, values in fields.items()}
        row["hyperparameters"] = {n: v[i] for n, v in hps.items() if v[i] is not None}
        for which, columns in metric_columns.items():
            row[which] = _numbers({m: values[i] for m, values in columns.items()},
                                  finite_only=which == "best")
        out.append(row)
    return out


def _numbers(values: dict[str, Any], *, finite_only: bool) -> dict[str, Any]:
    """Metric values by name; a best value is finite or absent (none of the run's epochs had
    a finite one), a last one may be NaN or infinite."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        value = float(value)
        kind = kind_of(value)
        if kind is None:
            out[name] = value
        elif not finite_only:
            out[name], out[f"{name}_kind"] = None, kind
    return out
