"""Runs and epochs as pandas DataFrames.

Each kind comes from a fixed number of set-based statements (never one per run): ``runs`` is
built in ``runs_frame``; ``epochs`` comes from one statement, read in chunks so that memory
stays close to the size of the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Select, select

from ..errors import TrackerError
from ..optional import require
from ..store import names
from ..store.filters import RunSelection
from ..store.models import ValueKind
from ..store.writes import epoch_metrics as m

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("runs", "epochs")
CHUNK_ROWS = 100_000
EPOCH_COLUMNS = ("run_id", "epoch", "metric", "value")


def pandas():
    """pandas, or ``MissingDependency`` naming the extra that installs it."""
    return require("pandas", "DataFrames")


class KindError(TrackerError, ValueError):
    """A DataFrame kind other than ``runs`` or ``epochs``."""


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise KindError(f"kind must be 'runs' or 'epochs', not {kind!r}")
    return kind


def check_metrics(conn: Connection, selection: RunSelection, metrics: Sequence[str] | None) -> None:
    """``UnknownNameError`` for a metric in ``metrics`` that the experiment never recorded."""
    if not metrics:
        return
    found = names.metrics_present(conn, metrics, selection.experiment_id)
    for metric in metrics:
        if metric not in found:
            raise names.unknown_metric(conn, metric, selection.experiment_id,
                                       selection.experiment)


def fetch(conn: Connection, stmt: Select) -> list[tuple]:
    """Rows of ``stmt`` as the driver's plain tuples: SQLAlchemy builds and runs the statement,
    but building its Row objects would cost more than the query on tens of thousands of rows.
    Values come without SQLAlchemy's type processing (SQLite datetimes as ISO text)."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


# -- epochs -----------------------------------------------------------------------------------


def epochs_frame(
    conn: Connection,
    selection: RunSelection | int | None,
    metrics: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """Long format, one row per run, metric and epoch: ``run_id`` (int64), ``epoch`` (int64),
    ``metric`` (categorical), ``value`` (float64; NaN and +/-inf as such), ordered by run,
    metric and epoch. Join ``run_id`` with the runs frame for hyperparameters."""
    pd = pandas()
    np = require("numpy", "DataFrames")
    chunks = list(iter_epoch_chunks(conn, selection, metrics, chunk_rows))
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
    selection: RunSelection | int | None,
    metrics: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """The epochs frame in pieces of at most ``chunk_rows`` rows, read from one streamed
    statement (a server-side cursor on PostgreSQL), so memory stays flat however big it is."""
    pd = pandas()
    np = require("numpy", "DataFrames")
    stmt = select(m.c.run_id, m.c.epoch, m.c.name, m.c.value, m.c.value_kind)
    run_ids = RunSelection.of(selection).run_ids()
    if run_ids is not None:
        stmt = stmt.where(m.c.run_id.in_(run_ids))
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
