"""The runs DataFrame: one row per run with its details, one typed column per hyperparameter,
and per metric its best and its last value.

A fixed number of set-based statements whatever the number of runs: the runs; the names (and
kinds) of the hyperparameters and metrics; then the hyperparameters and the per-run metric
summaries (``run_metrics``, kept by the database) pivoted in SQL to one row per run by
conditional aggregation. The driver then hands over one row per run rather than one per run and
name, which is where the time goes at 10,000 runs (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Double,
    Select,
    String,
    Table,
    case,
    func,
    literal,
    select,
)

from ..errors import DirectionError
from ..optional import require
from ..store.filters import RunSelection
from ..store.models import HyperparameterKind
from ..store.stale import status_column
from ..store.values import check_mode, decode_hyperparameter, infer_direction
from ..store.writes import experiments as e
from ..store.writes import hyperparameters as h
from ..store.writes import run_metrics as summaries
from ..store.writes import run_tags
from ..store.writes import runs as r
from .columnar import read_columns, typed
from .frames import decode_values, fetch, pandas

if TYPE_CHECKING:
    import pandas as pd

RUN_COLUMNS = (
    "run_id", "key", "experiment", "name", "trial_id", "execution", "status", "source",
    "started_at", "ended_at", "duration_s", "score", "last_epoch",
)
# Tag columns: tags.stage...
TAG_PREFIX = "tags."
# Only for a hyperparameter whose name is taken by another column.
HYPERPARAMETER_PREFIX = "hp."
# Result columns per pivot statement: well under SQLite's 2,000 and PostgreSQL's 1,664.
COLUMNS_PER_STATEMENT = 300


def runs_frame(
    conn: Connection,
    selection: RunSelection | int | None,
    *,
    modes: Mapping[str, str] | None = None,
    stale_before: dt.datetime | None = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per run: its details, one typed column per hyperparameter, and per metric
    ``<metric>_best`` (best finite value over its epochs, in the metric's direction) and
    ``<metric>_last`` (the value at its last epoch, NaN and +/-inf as such), and one text
    column ``tags.KEY`` per tag key.

    A metric whose direction cannot be told from its name or the experiment's objective (nor
    from ``modes``) gets only a ``_last`` column. With ``stale_before``, a running run not seen
    since then has the status ``stale``, as in ``Repository.runs``. ``metrics`` limits the
    metric columns to these names. ``frame.attrs`` holds
    ``hyperparameters`` (column -> name), ``metrics`` and ``directions``.
    """
    pd = pandas()
    selection = RunSelection.of(selection)
    base = _base(pd, conn, selection, stale_before)
    order = base["run_id"].to_numpy()
    run_ids = selection.run_ids()

    metrics, directions, metric_columns, last_epoch = _metric_columns(
        pd, conn, run_ids, selection.experiment_id, modes or {}, order, metrics)
    base["last_epoch"] = pd.array(last_epoch, dtype="Int64")

    taken = set(base.columns) | set(metric_columns)
    hp_columns = _hyperparameter_columns(pd, conn, run_ids, order, base.index, taken)
    hp_frame = pd.DataFrame({column: series for column, (_, series) in hp_columns.items()},
                            index=base.index)
    tag_columns = _tag_columns(pd, conn, run_ids, order, base.index)
    frame = pd.concat([base, hp_frame, pd.DataFrame(metric_columns, index=base.index),
                       pd.DataFrame(tag_columns, index=base.index)], axis=1)
    frame.attrs = {
        "hyperparameters": {column: name for column, (name, _) in hp_columns.items()},
        "metrics": metrics,
        "directions": directions,
        "tags": {column: column[len(TAG_PREFIX):] for column in tag_columns},
    }
    return frame


def _tag_columns(pd, conn: Connection, run_ids: Select | None, order, index) -> dict[str, Any]:
    """``tags.KEY`` -> text Series (missing: <NA>), from one statement over ``run_tags``."""
    np = require("numpy", "DataFrames")
    stmt = select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value)
    rows = fetch(conn, stmt if run_ids is None else stmt.where(run_tags.c.run_id.in_(run_ids)))
    grids: dict[str, Any] = {}
    for run_id, key, value in rows:
        grid = grids.setdefault(key, np.full(len(order), None, dtype=object))
        grid[np.searchsorted(order, run_id)] = value
    return {TAG_PREFIX + key: pd.Series(grids[key], index=index, dtype=pd.StringDtype())
            for key in sorted(grids)}


def _base(
    pd, conn: Connection, selection: RunSelection, stale_before: dt.datetime | None
) -> pd.DataFrame:
    np = require("numpy", "DataFrames")
    stmt = (
        select(
            r.c.id, r.c.key, e.c.name, r.c.name, r.c.trial_id, r.c.execution,
            status_column(stale_before), r.c.source, r.c.started_at, r.c.ended_at, r.c.score,
        )
        .join(e, e.c.id == r.c.experiment_id)
        .order_by(r.c.id)
    )
    rows = fetch(conn, selection.apply(stmt))
    names = [c for c in RUN_COLUMNS if c not in ("duration_s", "last_epoch")]
    columns = zip(*rows, strict=True) if rows else [()] * len(names)
    base = pd.DataFrame({n: np.array(v, dtype=object) for n, v in zip(names, columns, strict=True)})
    for column in ("started_at", "ended_at"):
        base[column] = pd.to_datetime(base[column], utc=True)
    base["duration_s"] = (base["ended_at"] - base["started_at"]).dt.total_seconds()
    for column, dtype in (("run_id", "int64"), ("execution", "int64"), ("score", "float64")):
        base[column] = base[column].astype(dtype)
    for column in ("key", "experiment", "name", "trial_id", "status", "source"):
        base[column] = base[column].astype(pd.StringDtype())
    return base


MAX_SKIP_SCAN_NAMES = 1_000


def _every_metric_name(conn: Connection) -> list[str] | None:
    """Every metric name in ``run_metrics``, sorted, by a skip scan of its name index (one
    seek per name, whatever the rows); None beyond ``MAX_SKIP_SCAN_NAMES`` names."""
    s = summaries
    seed = select(func.min(s.c.name).label("name")).cte("metric_names", recursive=True)
    following = select(func.min(s.c.name)).where(s.c.name > seed.c.name).scalar_subquery()
    walk = seed.union_all(select(following).where(seed.c.name.is_not(None)))
    found = [n for (n,) in conn.execute(
        select(walk.c.name).where(walk.c.name.is_not(None)).limit(MAX_SKIP_SCAN_NAMES + 1))]
    return None if len(found) > MAX_SKIP_SCAN_NAMES else found


def _distinct(conn: Connection, stmt: Select, table: Table, run_ids: Select | None) -> list:
    if run_ids is not None:
        stmt = stmt.where(table.c.run_id.in_(run_ids))
    return sorted(fetch(conn, stmt.distinct()))


def _pivot(conn: Connection, table: Table, run_ids: Select | None,
           expressions: Sequence[ColumnElement], order) -> list:
    """Each aggregate expression per run (``GROUP BY run_id``), as object arrays aligned on
    ``order`` (ascending run ids), None where a run has no row."""
    np = require("numpy", "DataFrames")
    arrays = []
    for start in range(0, len(expressions), COLUMNS_PER_STATEMENT):
        chunk = expressions[start:start + COLUMNS_PER_STATEMENT]
        stmt = select(table.c.run_id, *chunk).group_by(table.c.run_id)
        if run_ids is not None:
            stmt = stmt.where(table.c.run_id.in_(run_ids))
        rows = fetch(conn, stmt)
        ids, *columns = zip(*rows, strict=True) if rows else [()] * (len(chunk) + 1)
        ids = np.array(ids, dtype="int64")
        positions = np.minimum(np.searchsorted(order, ids), max(len(order) - 1, 0))
        known = (order[positions] == ids) if len(order) else ids[:0].astype(bool)
        for values in columns:
            aligned = np.full(len(order), None, dtype=object)
            aligned[positions[known]] = np.array(values, dtype=object)[known]
            arrays.append(aligned)
    return arrays


def _metric_columns(pd, conn, run_ids, experiment_id, modes: Mapping[str, str], order,
                    only: Sequence[str] | None = None):
    """The metric names (sorted), their directions, the ``<metric>_best`` (where the direction
    is known) and ``<metric>_last`` arrays, and each run's last epoch (None without metrics).

    The runs' ``run_metrics`` rows are read as they are (one per run and metric) and NumPy
    pivots them: at 40 metrics, conditional aggregation in SQL evaluates a hundred CASE
    expressions for each of 400,000 rows, several times slower (benchmarks/RESULTS.md)."""
    np = require("numpy", "DataFrames")
    s = summaries
    nan = literal(float("nan"), Double())
    ids = run_ids
    if conn.dialect.name == "postgresql":  # binary COPY: names as codes, NULLs as NaN
        names = _every_metric_name(conn)
        if names is None:  # very many names in the database: those of these runs
            names = [n for (n,) in _distinct(conn, select(s.c.name), s, ids)]
        names = [n for n in names if only is None or n in only]
        if not names:
            return [], {}, {}, [None] * len(order)
        # Each name's position in the list (1-based), computed per row: no join for the
        # planner to turn into a walk of the name index.
        code = func.array_position(literal(names, ARRAY(String())), s.c.name) - 1
        stmt = select(typed(s.c.run_id, "int64"), typed(code, "int16"),
                      func.coalesce(s.c.high, nan), func.coalesce(s.c.low, nan),
                      func.coalesce(s.c.last_value, nan), typed(s.c.last_kind, "int16"),
                      typed(s.c.last_epoch, "int32"))
        dtypes = ["int64", "int16", "float64", "float64", "float64", "int16", "int32"]
    else:
        stmt = select(s.c.run_id, s.c.name, s.c.high, s.c.low, s.c.last_value, s.c.last_kind,
                      s.c.last_epoch)
        dtypes = ["int64", "object", "float64", "float64", "float64", "int16", "int32"]
    if ids is not None:
        stmt = stmt.where(s.c.run_id.in_(ids))
    if only is not None:
        stmt = stmt.where(s.c.name.in_(list(only)))
    run, code, high, low, last, kind, epoch = read_columns(conn, stmt, dtypes)
    if conn.dialect.name != "postgresql":
        code, names = pd.factorize(code, sort=True)
        names = [str(n) for n in names]
    else:  # the names of the whole database: keep those these runs recorded
        present, code = np.unique(code, return_inverse=True)
        names = [names[i] for i in present]
    directions = _directions(conn, names, experiment_id, modes)
    runs = np.searchsorted(order, run) if len(order) else run

    def pivot(found, fill, dtype="float64"):
        grid = np.full((len(names), len(order)), fill, dtype=dtype)
        grid[code, runs] = found
        return grid

    highs, lows, lasts, kinds = pivot(high, np.nan), pivot(low, np.nan), pivot(last, np.nan), \
        pivot(kind, 0, "int16")
    columns: dict[str, Any] = {}
    for i, metric in enumerate(names):
        if metric in directions:
            columns[f"{metric}_best"] = highs[i] if directions[metric] == "max" else lows[i]
        columns[f"{metric}_last"] = decode_values(lasts[i], kinds[i])
    epochs = np.full(len(order), -1, dtype="int64")
    np.maximum.at(epochs, runs, epoch)
    return names, directions, columns, [None if e < 0 else int(e) for e in epochs]


def _hyperparameter_columns(pd, conn, run_ids, order, index, taken: set[str]):
    """column -> (hyperparameter name, typed Series in the order of ``order``)."""
    kinds: dict[str, set[str]] = {}
    for name, kind in _distinct(conn, select(h.c.name, h.c.kind), h, run_ids):
        kinds.setdefault(name, set()).add(kind)
    expressions: list[ColumnElement] = []
    for name, found in kinds.items():
        expressions.append(func.max(case((h.c.name == name, h.c.text_value))))
        if len(found) > 1:  # mixed kinds: each value needs its own
            expressions.append(func.max(case((h.c.name == name, h.c.kind))))
    arrays = iter(_pivot(conn, h, run_ids, expressions, order))
    columns = {}
    for name, found in kinds.items():
        texts = next(arrays)
        row_kinds = next(arrays) if len(found) > 1 else [next(iter(found))] * len(texts)
        values = [
            None if text is None and kind != HyperparameterKind.NONE.value
            else decode_hyperparameter(kind, None, text)
            for text, kind in zip(texts, row_kinds, strict=True)
        ]
        column = HYPERPARAMETER_PREFIX + name if name in taken else name
        columns[column] = (name, typed_series(pd, values, found, index))
    return columns


def typed_series(pd, values: Sequence[Any], kinds: set[str], index) -> pd.Series:
    """A Series of hyperparameter values with the narrowest dtype that holds them: int64 (or
    nullable Int64 when some are missing), float64, bool (or boolean), string, else object."""
    present = set(kinds) - {HyperparameterKind.NONE.value}
    missing = any(v is None for v in values)
    numeric = {HyperparameterKind.INT.value, HyperparameterKind.FLOAT.value}
    if present == {HyperparameterKind.INT.value}:
        dtype = "Int64" if missing else "int64"
    elif present and present <= numeric:
        dtype = "float64"
        values = [float("nan") if v is None else v for v in values]
    elif present == {HyperparameterKind.BOOL.value}:
        dtype = "boolean" if missing else "bool"
    elif present == {HyperparameterKind.STR.value}:
        dtype = pd.StringDtype()
    else:
        dtype = object
    try:
        return pd.Series(values, index=index, dtype=dtype)
    except (OverflowError, TypeError, ValueError):  # e.g. an int beyond 64 bits
        return pd.Series(values, index=index, dtype=object)


def _directions(
    conn: Connection, metrics, experiment_id: int | None, modes: Mapping[str, str]
) -> dict[str, str]:
    """Each metric's direction as ``Repository.direction`` decides it: ``modes``, else the
    experiment's objective direction, else the name. Metrics with none are left out."""
    stmt = select(e.c.objective, e.c.direction).where(
        e.c.objective.is_not(None), e.c.direction.is_not(None)
    )
    if experiment_id is not None:
        stmt = stmt.where(e.c.id == experiment_id)
    objectives: dict[str, set[str]] = {}
    for objective, direction in conn.execute(stmt):
        objectives.setdefault(objective, set()).add(direction)
    directions = {}
    for metric in sorted(metrics):
        if metric in modes:
            directions[metric] = check_mode(modes[metric])
        elif len(objectives.get(metric, ())) == 1:
            directions[metric] = next(iter(objectives[metric]))
        else:
            try:
                directions[metric] = infer_direction(metric)
            except DirectionError:
                pass
    return directions
