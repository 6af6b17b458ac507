"""``Repository`` methods for early stopping: record a pruning decision, read the other runs'
best values up to an epoch (the pruners' threshold), and the pruning statistics.

Mixed into ``Repository`` (which provides ``_read`` and ``_write``).
"""

from __future__ import annotations

from . import pruning_queries, writes
from .pruning_queries import PruneStats
from .values import encode_metric


class PruningStore:
    """Pruning decisions and the reads behind them."""

    def record_pruning(self, key: str, epoch: int, threshold: float | None) -> None:
        """Record that a pruner stopped run ``key`` after ``epoch`` because its best value
        missed ``threshold``. The run's status becomes ``pruned`` when it ends
        (``finish_run(key, "pruned")``). Writing it again changes nothing more."""
        value = None if threshold is None else encode_metric(threshold)[0]
        self._write(lambda conn: pruning_queries.record_pruning(
            conn, writes.require_run(conn, key), int(epoch), value))

    def pruning_objective(self, experiment: str) -> tuple[str | None, str | None]:
        """The objective metric and direction of ``experiment`` (None, None when unknown)."""
        return self._read(lambda conn: pruning_queries.objective(conn, experiment))

    def bests_up_to(
        self, experiment: str, metric: str, epoch: int, *, direction: str,
        exclude_key: str | None = None,
    ) -> list[float]:
        """The best finite ``metric`` (``direction`` ``max`` or ``min``) over epochs
        ``<= epoch`` of every run of ``experiment`` that counts for pruning: completed,
        running and pruned runs that reached ``epoch`` (a run that stopped before has no best
        "up to" it), except ``exclude_key``. One index seek per run (table ``epoch_bests``),
        whatever the number of epochs.

        >>> repo.bests_up_to("mnist", "val_accuracy", 3, direction="max")  # doctest: +SKIP
        [0.91, 0.88, 0.42]
        """
        return self._read(lambda conn: pruning_queries.bests_up_to(
            conn, experiment, metric, epoch, direction, exclude_key))

    def prune_stats(self, experiment: str, metric: str | None = None) -> PruneStats:
        """What pruning did in ``experiment``: epochs trained, epochs saved (estimated: the
        epochs each pruned run would still have trained, up to the longest run of the
        experiment or its own ``epochs`` hyperparameter), and whether the best run (by
        ``metric``, default the objective) was a pruned one.

        >>> repo.prune_stats("mnist").epochs_saved                        # doctest: +SKIP
        84
        """
        return self._read(lambda conn: pruning_queries.prune_stats(conn, experiment, metric))

