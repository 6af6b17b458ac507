"""fANOVA importances through Optuna's own evaluator: the runs become the trials of an
in-memory Optuna study, and ``FanovaImportanceEvaluator`` fits its random forest (scikit-learn)
and decomposes the forest's variance by hyperparameter. No statistics are written here; this
module only translates hyperparameters into Optuna's search space.

Two translations keep what Optuna would otherwise lose:

* a log-spread number (a learning rate) enters as its log10, so the variance is taken over the
  scale it was sampled on;
* a run that lacks a hyperparameter (a conditional search space: ``dropout`` only for some
  optimizers) is kept, where Optuna drops it: a category gets the value ``(none)``; a number
  gets a band below its range whose width is the share of runs lacking it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..optional import require

if TYPE_CHECKING:
    import numpy as np

    from .scales import Dimension

# Optuna's evaluator defaults to 64 trees of depth 64. The cost of its variance decomposition
# grows with the trees and the leaves of each tree (a fully grown tree has about one per run):
# 11 s of CPU at 500 runs, minutes at 10,000. 32 trees of depth 6 (at most 64 leaves) keep the
# shares within 0.03 of Optuna's defaults on the test sweeps (tests/analysis/test_importance.py
# checks 0.05) at a fiftieth of the cost.
N_TREES = 32
MAX_DEPTH = 6
# Beyond this many runs the forest is fitted to a random sample of them (drawn with the seed,
# so answers still repeat): a depth-6 forest learns nothing more from the rest.
MAX_RUNS = 2_000
PURPOSE = "Hyperparameter importance"


def sample(count: int, seed: int) -> np.ndarray:
    """The runs (positions) the forest is fitted to: all, or ``MAX_RUNS`` of them."""
    import numpy as np

    if count <= MAX_RUNS:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, MAX_RUNS, replace=False))


def fanova(dimensions: Sequence[Dimension], target: np.ndarray, seed: int) -> dict[str, float]:
    """Each dimension's share of the variance of ``target`` (one value per run, finite and not
    all equal), normalised to sum to 1, from Optuna's ``FanovaImportanceEvaluator``."""
    optuna = require("optuna", PURPOSE)
    require("sklearn", PURPOSE)
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    rows = sample(len(target), seed)
    distributions = {}
    columns = {}
    for dim in dimensions:
        if dim.numeric:
            distributions[dim.name], columns[dim.name] = _numeric(dim, FloatDistribution, rows)
        else:
            distributions[dim.name] = CategoricalDistribution(tuple(range(len(dim.categories))))
            columns[dim.name] = [int(i) for i in dim.position[rows]]
    names = list(columns)
    trials = [
        optuna.trial.create_trial(
            params={name: columns[name][i] for name in names},
            distributions=distributions,
            value=float(value),
        )
        for i, value in enumerate(target[rows])
    ]
    evaluator = FanovaImportanceEvaluator(n_trees=N_TREES, max_depth=MAX_DEPTH, seed=seed)
    try:
        found = evaluator.evaluate(_Trials(trials))
    except AttributeError:  # an Optuna whose evaluator asks more of a study: give it one
        with _quiet(optuna):
            study = optuna.create_study()
            study.add_trials(trials)
            found = get_param_importances(study, evaluator=evaluator, normalize=False)
    total = sum(found.values())
    return {name: float(found.get(name, 0.0) / total) if total > 0 else 0.0 for name in names}


class _Trials:
    """The completed trials as the evaluator reads a study (``get_trials``): an in-memory
    study's ``add_trials`` deep-copies every trial, 0.7 ms a run, more than the forest costs."""

    def __init__(self, trials: list) -> None:
        self._trials = trials

    def get_trials(self, deepcopy: bool = False, states=None) -> list:
        return self._trials

    def _is_multi_objective(self) -> bool:
        return False


def _numeric(dim: Dimension, distribution_class, rows: np.ndarray):
    """The Optuna distribution and the values at ``rows`` of a numeric dimension; runs lacking
    it sit in a band below the range, as wide as their share of the runs."""
    import numpy as np

    values = dim.position[rows].astype("float64")
    missing = dim.missing[rows]
    low, high = float(np.nanmin(dim.position)), float(np.nanmax(dim.position))
    absent = int(missing.sum())
    if absent:
        band = (high - low) * absent / max(len(values) - absent, 1)
        values[missing] = low - band / 2
        low -= band
    return distribution_class(low, high), [float(v) for v in values]


@contextlib.contextmanager
def _quiet(optuna) -> Iterator[None]:
    """Optuna logs each study it creates at INFO: not news to our user. Restored afterwards,
    so a user's own Optuna logging is left as it was."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
