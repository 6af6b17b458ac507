"""``Repository`` methods that read runs and epochs as pandas DataFrames (the SQL is in
``frames``). Mixed into ``Repository`` (which provides ``engine``, ``_read`` and
``_experiment_id``) to keep each module small.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from . import db

if TYPE_CHECKING:
    import pandas as pd


class FrameStore:
    """DataFrames of the store (needs the ``analysis`` extra)."""

    def to_dataframe(
        self,
        experiment: str | None = None,
        *,
        kind: str = "runs",
        metrics: Sequence[str] | None = None,
        modes: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """The runs (``kind="runs"``) or every epoch's metrics (``kind="epochs"``) as a pandas
        DataFrame, from a fixed number of set-based queries. Needs the ``analysis`` extra.

        ``runs``: one row per run with its details, one typed column per hyperparameter (ints
        stay ints) and per metric ``<metric>_best`` and ``<metric>_last``. ``epochs``: long
        format ``run_id, epoch, metric, value``, joinable with ``runs`` on ``run_id``;
        ``metrics`` limits it to some metric names. ``modes`` sets directions by metric name.

        >>> runs = repo.to_dataframe("mnist")                              # doctest: +SKIP
        >>> runs.groupby("batch_size")["val_accuracy_best"].max()          # doctest: +SKIP
        >>> epochs = repo.to_dataframe("mnist", kind="epochs")             # doctest: +SKIP
        >>> epochs.merge(runs[["run_id", "batch_size"]], on="run_id")      # doctest: +SKIP
        """
        from . import frames

        frames.check_kind(kind)
        frames.pandas()  # the clear error before touching the database

        before = self._stale_before()

        def work(conn: Connection):
            experiment_id = self._experiment_id(conn, experiment)
            if kind == "runs":
                return frames.runs_frame(conn, experiment_id, modes=modes, stale_before=before)
            return frames.epochs_frame(conn, experiment_id, metrics)

        return self._read(work)

    def iter_epochs(
        self,
        experiment: str | None = None,
        *,
        metrics: Sequence[str] | None = None,
        chunk_rows: int = 100_000,
    ) -> Iterator[pd.DataFrame]:
        """The ``epochs`` DataFrame in chunks of at most ``chunk_rows`` rows, streamed from one
        query, so that memory stays flat however large the store (exports use it).

        >>> for chunk in repo.iter_epochs("mnist"):                        # doctest: +SKIP
        ...     chunk.to_csv("epochs.csv", mode="a", header=False)
        """
        from . import frames

        frames.pandas()  # the clear error now, not at the first chunk

        def chunks():
            with db.transaction(self.engine) as conn:
                experiment_id = self._experiment_id(conn, experiment)
                yield from frames.iter_epoch_chunks(conn, experiment_id, metrics, chunk_rows)

        return chunks()
