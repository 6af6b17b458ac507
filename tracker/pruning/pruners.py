"""The pruners: configuration and the rule, no database and no threads (see ``session``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..store.values import check_mode


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly between the closest
    ranks (NumPy's default, as Optuna's pruners use).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class PercentilePruner:
    """Stop a run whose best value so far is worse than the ``percentile`` of the other runs'
    best values up to the same epoch, in the same experiment.

    As in Optuna, ``percentile=25`` keeps the runs in the best 25 % (a run must be at least as
    good as the 25th percentile of the others when lower is better, the 75th when higher is);
    ``50`` is the median rule. The other runs are the experiment's completed, running and
    pruned runs of every worker that reached the epoch (a run stopped before it has no best
    "up to" it), as the database holds them.

    * ``metric``: the value compared (default: the experiment's objective; for a plain
      ``TrackingCallback`` without one, ``val_loss`` when the logs have it, else ``loss``);
      ``direction``: ``min`` or ``max`` (default: the objective's, else from the name).
    * ``min_runs``: nothing is pruned until that many other runs count at the epoch.
    * ``warmup_epochs``: the first epochs are never judged (epoch indexes start at 0, so the
      default 1 judges from the second epoch on); ``interval_epochs``: judge every n-th epoch.

    >>> TrackingCallback(url, experiment="mnist", pruner=PercentilePruner(25.0))  # doctest: +SKIP
    """

    percentile: float
    min_runs: int = 5
    warmup_epochs: int = 1
    interval_epochs: int = 1
    metric: str | None = None
    direction: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.percentile, bool) or not isinstance(self.percentile, (int, float)) \
                or not 0.0 <= float(self.percentile) <= 100.0:
            raise ValueError(f"percentile must be a number from 0 to 100, not {self.percentile!r}")
        for name, lowest in (("min_runs", 1), ("warmup_epochs", 0), ("interval_epochs", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise ValueError(f"{name} must be an int >= {lowest}, not {value!r}")
        if self.direction is not None:
            check_mode(self.direction)
        if self.metric is not None and (not isinstance(self.metric, str) or not self.metric):
            raise ValueError(f"metric must be a metric name or None, not {self.metric!r}")

    def judges(self, epoch: int) -> bool:
        """Whether the run is judged after ``epoch`` (0-based)."""
        return epoch >= self.warmup_epochs and (
            (epoch - self.warmup_epochs) % self.interval_epochs == 0
        )

    def next_judged(self, epoch: int) -> int:
        """The first judged epoch at or after ``epoch``."""
        if epoch <= self.warmup_epochs:
            return self.warmup_epochs
        behind = (epoch - self.warmup_epochs) % self.interval_epochs
        return epoch if behind == 0 else epoch + self.interval_epochs - behind

    def threshold(self, others: Sequence[float], direction: str) -> float | None:
        """The value a run must reach given the other runs' bests; None: too few runs."""
        if len(others) < self.min_runs:
            return None
        q = self.percentile if direction == "min" else 100.0 - self.percentile
        return percentile(others, q)

    @staticmethod
    def worse(best: float | None, threshold: float, direction: str) -> bool:
        """Whether ``best`` (None: no finite value yet, as after a NaN) misses ``threshold``."""
        if best is None:
            return True
        return best > threshold if direction == "min" else best < threshold


class MedianPruner(PercentilePruner):
    """The median stopping rule (Optuna's ``MedianPruner``, Vizier's median stopping): stop a
    run whose best value so far is worse than the median of the other runs' best values up to
    the same epoch. ``PercentilePruner(50.0)`` by another name; see it for the arguments.

    >>> tuner = track(kt.RandomSearch(...), url, pruner=MedianPruner())   # doctest: +SKIP
    """

    def __init__(
        self,
        percentile: float = 50.0,
        *,
        min_runs: int = 5,
        warmup_epochs: int = 1,
        interval_epochs: int = 1,
        metric: str | None = None,
        direction: str | None = None,
    ) -> None:
        super().__init__(percentile, min_runs, warmup_epochs, interval_epochs, metric, direction)
