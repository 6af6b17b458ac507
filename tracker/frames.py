"""Runs and epochs as pandas DataFrames.

Each kind comes from a fixed number of set-based statements (never one per run): ``runs`` from
three (the runs, their hyperparameters, one summary row per run and metric), ``epochs`` from
one, read in chunks so that memory stays close to the size of the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, and_, func, select

from .errors import DirectionError, TrackerError
from .models import HyperparameterKind, ValueKind
from .optional import require
from .values import check_mode, decode_hyperparameter, infer_direction
from .writes import epoch_metrics as m
from .writes import experiments as e
from .writes import hyperparameters as h
from .writes import runs as r

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("runs", "epochs")
CHUNK_ROWS = 100_000
RUN_COLUMNS = (
    "run_id", "key", "experiment", "name", "trial_id", "execution", "status", "source",
    "started_at", "ended_at", "duration_s", "score", "last_epoch",
)
EPOCH_COLUMNS = ("run_id", "epoch", "metric", "value")
HYPERPARAMETER_PREFIX = "hp."  # only for a hyperparameter whose name is taken by another column


def pandas():
    """pandas, or ``MissingDependency`` naming the extra that installs it."""
    return require("pandas", "DataFrames")


class KindError(TrackerError, ValueError):
    """A DataFrame kind other than ``runs`` or ``epochs``."""


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise KindError(f"kind must be 'runs' or 'epochs', not {kind!r}")
    return kind


# -- runs -------------------------------------------------------------------------------------


def runs_frame(
    conn: Connection, experiment_id: int | None, *, modes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per run: its details, one typed column per hyperparameter, and per metric
    ``<metric>_best`` (best finite value over its epochs, in the metric's direction) and
    ``<metric>_last`` (the value at its last epoch, NaN and +/-inf as such).

    A metric whose direction cannot be told from its name or the experiment's objective (nor
    from ``modes``) gets only a ``_last`` column. ``frame.attrs`` holds ``hyperparameters``
    (column -> name), ``metrics`` and ``directions``.
    """
    pd = pandas()
    base = _frame(
        pd,
        conn.execute(_runs_select(experiment_id)).all(),
        [c for c in RUN_COLUMNS if c not in ("duration_s", "last_epoch")],
    )
    for column in ("started_at", "ended_at"):
        base[column] = pd.to_datetime(base[column], utc=True)
    base["duration_s"] = (base["ended_at"] - base["started_at"]).dt.total_seconds()
    base["execution"] = base["execution"].astype("int64")
    base["score"] = base["score"].astype("float64")
    for column in ("key", "experiment", "name", "trial_id", "status", "source"):
        base[column] = base[column].astype(pd.StringDtype())

    run_ids = _run_ids(experiment_id)
    summary = _metric_summary(pd, conn, run_ids)
    directions = _directions(conn, summary["metric"].unique(), experiment_id, modes or {})
    last_epoch = summary.groupby("run_id")["last_epoch"].max()
    base["last_epoch"] = base["run_id"].map(last_epoch).astype("Int64")

    metric_columns = _metric_columns(pd, summary, directions, base["run_id"])
    taken = set(base.columns) | set(metric_columns)
    hp_columns = _hyperparameter_columns(pd, conn, run_ids, base["run_id"], taken)
    hp_frame = pd.DataFrame(
        {column: series for column, (_, series) in hp_columns.items()}, index=base.index
    )
    frame = pd.concat([base, hp_frame, pd.DataFrame(metric_columns, index=base.index)], axis=1)
    frame.attrs = {
        "hyperparameters": {column: name for column, (name, _) in hp_columns.items()},
        "metrics": sorted(summary["metric"].unique()),
        "directions": directions,
    }
    return frame


def _runs_select(experiment_id: int | None) -> Select:
    stmt = (
        select(
            r.c.id, r.c.key, e.c.name, r.c.name, r.c.trial_id, r.c.execution, r.c.status,
            r.c.source, r.c.started_at, r.c.ended_at, r.c.score,
        )
        .join(e, e.c.id == r.c.experiment_id)
        .order_by(r.c.id)
    )
    return stmt if experiment_id is None else stmt.where(r.c.experiment_id == experiment_id)


def _run_ids(experiment_id: int | None) -> Select | None:
    return None if experiment_id is None else select(r.c.id).where(
        r.c.experiment_id == experiment_id
    )


def _metric_summary(pd, conn: Connection, run_ids: Select | None) -> pd.DataFrame:
    """Per run and metric: the largest and smallest finite value (non-finite values are NULL
    in ``value``, so MAX/MIN skip them), the last epoch, and the value at that epoch."""
    grouped = select(
        m.c.run_id,
        m.c.name,
        func.max(m.c.value).label("high"),
        func.min(m.c.value).label("low"),
        func.max(m.c.epoch).label("last_epoch"),
    ).group_by(m.c.run_id, m.c.name)
    if run_ids is not None:
        grouped = grouped.where(m.c.run_id.in_(run_ids))
    grouped = grouped.subquery()
    last = m.alias("last")
    stmt = select(grouped, last.c.value, last.c.value_kind).join(
        last,
        and_(
            last.c.run_id == grouped.c.run_id,
            last.c.name == grouped.c.name,
            last.c.epoch == grouped.c.last_epoch,
        ),
    )
    columns = ["run_id", "metric", "high", "low", "last_epoch", "last_value", "last_kind"]
    summary = _frame(pd, conn.execute(stmt).all(), columns)
    for column in ("high", "low", "last_value"):
        summary[column] = summary[column].astype("float64")
    summary["last"] = decode_values(summary["last_value"].to_numpy(), summary["last_kind"])
    return summary


def _frame(pd, rows: list, columns: list[str]) -> pd.DataFrame:
    """A DataFrame from result rows, built column by column: several times faster than
    ``pd.DataFrame(rows)`` on tens of thousands of rows (benchmarks/RESULTS.md)."""
    if not rows:
        return pd.DataFrame({column: [] for column in columns})
    return pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))


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


def _metric_columns(pd, summary, directions: Mapping[str, str], run_ids) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if summary.empty:
        return columns
    summary = summary.assign(
        best=summary["high"].where(summary["metric"].map(directions).eq("max"), summary["low"])
    )
    best = summary.pivot(index="run_id", columns="metric", values="best")
    last = summary.pivot(index="run_id", columns="metric", values="last")
    for metric in sorted(summary["metric"].unique()):
        if metric in directions:
            columns[f"{metric}_best"] = best[metric].reindex(run_ids).to_numpy("float64")
        columns[f"{metric}_last"] = last[metric].reindex(run_ids).to_numpy("float64")
    return columns


def _hyperparameter_columns(
    pd, conn: Connection, run_ids: Select | None, order, taken: set[str]
) -> dict[str, tuple[str, Any]]:
    """column -> (hyperparameter name, typed Series in the order of ``order``)."""
    stmt = select(h.c.run_id, h.c.name, h.c.kind, h.c.num_value, h.c.text_value)
    if run_ids is not None:
        stmt = stmt.where(h.c.run_id.in_(run_ids))
    values: dict[str, dict[int, Any]] = {}
    kinds: dict[str, set[str]] = {}
    for run_id, name, kind, num_value, text_value in conn.execute(stmt).all():
        values.setdefault(name, {})[run_id] = decode_hyperparameter(kind, num_value, text_value)
        kinds.setdefault(name, set()).add(kind)
    columns = {}
    for name in sorted(values):
        column = HYPERPARAMETER_PREFIX + name if name in taken else name
        in_order = [values[name].get(run_id) for run_id in order]
        columns[column] = (name, typed_series(pd, in_order, kinds[name], order.index))
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


# -- epochs -----------------------------------------------------------------------------------


def epochs_frame(
    conn: Connection,
    experiment_id: int | None,
    metrics: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """Long format, one row per run, metric and epoch: ``run_id`` (int64), ``epoch`` (int64),
    ``metric`` (categorical), ``value`` (float64; NaN and +/-inf as such), ordered by run,
    metric and epoch. Join ``run_id`` with the runs frame for hyperparameters."""
    pd = pandas()
    np = require("numpy", "DataFrames")
    chunks = list(iter_epoch_chunks(conn, experiment_id, metrics, chunk_rows))
    if not chunks:
        return empty_epochs_frame()
    from pandas.api.types import union_categoricals

    names = union_categoricals([c["metric"] for c in chunks], sort_categories=True)
    frame = pd.DataFrame(
        {
            "run_id": np.concatenate([c["run_id"].to_numpy() for c in chunks]),
            "epoch": np.concatenate([c["epoch"].to_numpy() for c in chunks]),
            "metric": names,
            "value": np.concatenate([c["value"].to_numpy() for c in chunks]),
        }
    )
    return frame


def iter_epoch_chunks(
    conn: Connection,
    experiment_id: int | None,
    metrics: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """The epochs frame in pieces of at most ``chunk_rows`` rows, read from one streamed
    statement (a server-side cursor on PostgreSQL), so memory stays flat however big it is."""
    pd = pandas()
    np = require("numpy", "DataFrames")
    stmt = select(m.c.run_id, m.c.epoch, m.c.name, m.c.value, m.c.value_kind)
    if experiment_id is not None:
        stmt = stmt.where(m.c.run_id.in_(_run_ids(experiment_id)))
    if metrics is not None:
        stmt = stmt.where(m.c.name.in_(list(metrics)))
    stmt = stmt.order_by(m.c.run_id, m.c.name, m.c.epoch)
    result = conn.execution_options(yield_per=chunk_rows).execute(stmt)
    for rows in result.partitions(chunk_rows):
        run_id, epoch, name, value, kind = zip(*rows, strict=True)
        yield pd.DataFrame(
            {
                "run_id": np.array(run_id, dtype="int64"),
                "epoch": np.array(epoch, dtype="int64"),
                "metric": pd.Categorical(name),
                "value": decode_values(value, kind),
            }
        )


def empty_epochs_frame() -> pd.DataFrame:
    """The epochs frame without rows, with its columns and dtypes."""
    pd = pandas()
    return pd.DataFrame(
        {
            "run_id": pd.Series(dtype="int64"),
            "epoch": pd.Series(dtype="int64"),
            "metric": pd.Categorical([]),
            "value": pd.Series(dtype="float64"),
        }
    )


def decode_values(values, kinds):
    """Stored (value, value_kind) columns as a float64 array: NULL values become NaN, +inf or
    -inf as their kind says."""
    np = require("numpy", "DataFrames")
    values = np.array(values, dtype="float64")
    kinds = np.asarray(kinds, dtype="int8")
    values[kinds == ValueKind.POS_INF] = np.inf
    values[kinds == ValueKind.NEG_INF] = -np.inf
    values[kinds == ValueKind.NAN] = np.nan
    return values
