"""The search of the pruning acceptance test and benchmark: a real keras-tuner ``RandomSearch``
on generated data where half the search space cannot learn (``learning_rate`` 1e-7).

Every trial seeds Keras from its own hyperparameters, so a trial trains the same curve with or
without a pruner and the two searches can be compared trial by trial.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import keras
import keras_tuner as kt
import numpy as np

from tracker import track

TRIALS = 20
EPOCHS = 10
FEATURES = 8
BATCH_SIZE = 16
GOOD_RATE = 5e-2


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(384, FEATURES)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("float32")
    return (x[:256], y[:256]), (x[256:], y[256:])


class LearnOrNot(kt.HyperModel):
    """Half the learning rates learn (``GOOD_RATE``), half cannot (1e-7); width and dropout
    vary."""

    def build(self, hp):
        rate = hp.Choice("learning_rate", [1e-7, GOOD_RATE])
        units = hp.Int("units", 2, 16)
        dropout = hp.Float("dropout", 0.0, 0.5)
        keras.utils.set_random_seed(zlib.crc32(repr(sorted(hp.values.items())).encode()))
        model = keras.Sequential([
            keras.Input((FEATURES,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy",
                      metrics=["accuracy"], jit_compile=False)
        return model


class EpochCounter(keras.callbacks.Callback):
    """Counts every epoch trained (keras-tuner deep-copies callbacks: the copies share it)."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def __deepcopy__(self, memo):
        return self

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@dataclass
class SearchResult:
    experiment: str
    epochs: int
    wall_s: float
    best_trial: str
    best_score: float
    scores: dict[str, float]


def run_search(url: str, directory, experiment: str, *, pruner=None, trials: int = TRIALS,
               epochs: int = EPOCHS) -> SearchResult:
    """Run the search tracked into ``url`` as ``experiment`` (with ``pruner``, if any)."""
    (x, y), validation = make_data()
    tuner = kt.RandomSearch(LearnOrNot(), objective="val_accuracy", max_trials=trials, seed=3,
                            directory=str(directory), project_name=experiment, overwrite=True)
    track(tuner, url, pruner=pruner)
    counter = EpochCounter()
    started = time.perf_counter()
    tuner.search(x, y, epochs=epochs, validation_data=validation, batch_size=BATCH_SIZE, verbose=0,
                 callbacks=[counter])
    wall = time.perf_counter() - started
    best = tuner.oracle.get_best_trials(1)[0]
    scores = {t.trial_id: t.score for t in tuner.oracle.trials.values()}
    return SearchResult(experiment, counter.epochs, wall, best.trial_id, best.score, scores)
