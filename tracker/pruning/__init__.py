"""Early stopping from the shared store: ``MedianPruner`` and ``PercentilePruner`` stop a run
whose best value so far is worse than a percentile of the other runs' best values up to the
same epoch, on every worker of a search, read from the tracking database.

Keras-free: the decision is computed on a background thread and handed to the training side
(``TrackingCallback(pruner=...)``, ``track(tuner, pruner=...)``), which stops the model.
May import ``tracker.capture`` and ``tracker.store`` (and the standard library), nothing above.

>>> from tracker.pruning import MedianPruner
>>> pruner = MedianPruner(min_runs=5, warmup_epochs=1)
"""

from __future__ import annotations

from .pruners import MedianPruner, PercentilePruner, percentile
from .session import PruningSession

__all__ = ["MedianPruner", "PercentilePruner", "PruningSession", "percentile"]
