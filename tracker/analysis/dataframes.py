"""A store's runs and epochs as pandas DataFrames (needs the ``analysis`` extra).

``tracker.Repository.to_dataframe`` and ``iter_epochs`` call these; the SQL behind each kind
is in ``frames`` (epochs) and ``runs_frame`` (runs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from ..store import db
from ..store.filters import Where
from . import frames
from .runs_frame import runs_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..store.repository import Repository


def to_dataframe(
    repo: Repository,
    experiment: str | None = None,
    *,
    kind: str = "runs",
    metrics: Sequence[str] | None = None,
    modes: Mapping[str, str] | None = None,
    where: Where = None,
) -> pd.DataFrame:
    """The runs (``kind="runs"``) or every epoch's metrics (``kind="epochs"``) of ``repo`` as
    a pandas DataFrame, from a fixed number of set-based queries.

    ``runs``: one row per run with its details, one typed column per hyperparameter (ints
    stay ints) and per metric ``<metric>_best`` and ``<metric>_last``. ``epochs``: long
    format ``run_id, epoch, metric, value``, joinable with ``runs`` on ``run_id``.
    ``metrics`` limits either to some metric names (a runs frame of 40 metrics reads ten
    times what one needs). ``modes`` sets directions by metric name.
    ``where`` keeps the runs that pass a filter (as ``Repository.runs`` takes it), in SQL.

    >>> runs = to_dataframe(repo, "mnist", where="optimizer == 'adam'")    # doctest: +SKIP
    >>> runs.groupby("batch_size")["val_accuracy_best"].max()              # doctest: +SKIP
    """
    frames.check_kind(kind)
    frames.pandas()  # the clear error before touching the database
    before = repo.stale_cutoff()

    def work(conn: Connection):
        selection = repo.select_runs(conn, experiment, where, modes=modes)
        frames.check_metrics(conn, selection, metrics)
        if kind == "runs":
            return runs_frame(conn, selection, modes=modes, stale_before=before,
                              metrics=metrics)
        return frames.epochs_frame(conn, selection, metrics)

    return repo.read(work)


def iter_epochs(
    repo: Repository,
    experiment: str | None = None,
    *,
    metrics: Sequence[str] | None = None,
    chunk_rows: int = frames.CHUNK_ROWS,
    where: Where = None,
) -> Iterator[pd.DataFrame]:
    """The ``epochs`` DataFrame in chunks of at most ``chunk_rows`` rows, streamed from one
    query, so that memory stays flat however large the store (exports use it).

    >>> for chunk in iter_epochs(repo, "mnist"):                           # doctest: +SKIP
    ...     chunk.to_csv("epochs.csv", mode="a", header=False)
    """
    frames.pandas()  # the clear error now, not at the first chunk

    def chunks():
        with db.transaction(repo.engine) as conn:
            selection = repo.select_runs(conn, experiment, where)
            frames.check_metrics(conn, selection, metrics)
            yield from frames.iter_epoch_chunks(conn, selection, metrics, chunk_rows)

    return chunks()
