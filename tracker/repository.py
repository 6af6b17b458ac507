"""The public ``Repository``: every read and write of ``tracker.store``, plus the analysis
entry points (DataFrames) that need pandas, imported only when called.

``tracker.Repository`` is this class. The store underneath (``tracker.store.Repository``)
knows nothing of pandas, so training workers and the capture layer never load it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from .store.filters import Where
from .store.repository import Repository as StoreRepository

if TYPE_CHECKING:
    import pandas as pd

    from .store.records import Importance

__all__ = ["Repository"]


class Repository(StoreRepository):
    """The tracking store at ``url`` (else ``$TRACKER_DATABASE_URL``, else
    ``sqlite:///tracker.db``): queries, writes, DataFrames and hyperparameter importance (the
    last two need the ``analysis`` extra).

    >>> repo = Repository("sqlite:///tracker.db")                         # doctest: +SKIP
    >>> repo.best_by("batch_size", "val_accuracy", experiment="mnist")     # doctest: +SKIP
    >>> runs = repo.to_dataframe("mnist")                                 # doctest: +SKIP
    """

    def to_dataframe(
        self,
        experiment: str | None = None,
        *,
        kind: str = "runs",
        metrics: Sequence[str] | None = None,
        modes: Mapping[str, str] | None = None,
        where: Where = None,
    ) -> pd.DataFrame:
        """The runs (``kind="runs"``) or every epoch's metrics (``kind="epochs"``) as a pandas
        DataFrame, from a fixed number of set-based queries. Needs the ``analysis`` extra.

        ``runs``: one row per run with its details, one typed column per hyperparameter (ints
        stay ints) and per metric ``<metric>_best`` and ``<metric>_last``. ``epochs``: long
        format ``run_id, epoch, metric, value``, joinable with ``runs`` on ``run_id``;
        ``metrics`` limits it to some metric names. ``modes`` sets directions by metric name.
        ``where`` keeps the runs passing a filter, in SQL (as ``runs`` takes it).

        >>> runs = repo.to_dataframe("mnist")                              # doctest: +SKIP
        >>> adam = repo.to_dataframe("mnist", where="optimizer == 'adam'")  # doctest: +SKIP
        >>> runs.groupby("batch_size")["val_accuracy_best"].max()          # doctest: +SKIP
        >>> epochs = repo.to_dataframe("mnist", kind="epochs")             # doctest: +SKIP
        >>> epochs.merge(runs[["run_id", "batch_size"]], on="run_id")      # doctest: +SKIP
        """
        from .analysis.dataframes import to_dataframe

        return to_dataframe(self, experiment, kind=kind, metrics=metrics, modes=modes,
                            where=where)

    def iter_epochs(
        self,
        experiment: str | None = None,
        *,
        metrics: Sequence[str] | None = None,
        chunk_rows: int = 100_000,
        where: Where = None,
    ) -> Iterator[pd.DataFrame]:
        """The ``epochs`` DataFrame in chunks of at most ``chunk_rows`` rows, streamed from one
        query, so that memory stays flat however large the store (exports use it).

        >>> for chunk in repo.iter_epochs("mnist"):                        # doctest: +SKIP
        ...     chunk.to_csv("epochs.csv", mode="a", header=False)
        """
        from .analysis.dataframes import iter_epochs

        return iter_epochs(self, experiment, metrics=metrics, chunk_rows=chunk_rows, where=where)

    def importance(
        self,
        metric: str | None = None,
        experiment: str | None = None,
        *,
        over: str = "best",
        where: Where = None,
        mode: str | None = None,
        seed: int = 0,
    ) -> list[Importance]:
        """Which hyperparameters matter for ``metric`` (default: the experiment's objective):
        one ``Importance(name, importance, correlation, runs)`` per hyperparameter that varies,
        most important first, importances summing to 1. Needs the ``analysis`` extra.

        ``importance`` is fANOVA as Optuna computes it (a random forest's variance
        decomposition, Optuna's own evaluator); ``correlation`` is Spearman's rank correlation
        with the metric (its sign is the direction), None for text. Over the completed runs
        with a finite value, each counting with its best value (``over="last"``: its final
        one); runs lacking a hyperparameter are kept. ``where`` keeps some runs, as in
        ``runs``. Deterministic for a given ``seed``.

        >>> for row in repo.importance("val_accuracy", "mnist"):          # doctest: +SKIP
        ...     print(f"{row.name:15} {row.importance:.2f} {row.correlation:+.2f}")
        learning_rate   0.81 -0.62
        """
        from .analysis.importance import rank

        return rank(self, metric, experiment, over=over, where=where, mode=mode,
                    seed=seed).rows
