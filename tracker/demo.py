"""``tracker demo``: a small real sweep on generated data, recorded into the database.

No downloads: the data is drawn from a fixed random generator (two noisy interleaved
spirals, a task where batch size and learning rate visibly matter).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from . import schema
from .errors import TrackerError

EXPERIMENT = "demo"
GRID = [(batch_size, rate) for batch_size in (16, 64) for rate in (3e-3, 3e-2)]


def spirals(n: int = 600, seed: int = 7):
    """Two interleaved noisy spirals: ``(x, y)`` with ``x`` of shape (n, 2)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    turn = rng.uniform(0.25, 1.0, n) * 3 * np.pi
    angle = turn + labels * np.pi
    x = np.stack([turn * np.cos(angle), turn * np.sin(angle)], axis=1) / (3 * np.pi)
    x += rng.normal(scale=0.04, size=x.shape)
    return x.astype("float32"), labels.astype("float32")


def run_demo(url: str | None = None, *, epochs: int = 4, progress: Callable[[str], None] = print):
    """Migrate the database, train one tiny model per grid point with ``TrackingCallback``,
    and return the experiment name."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    schema.upgrade(url)
    try:
        import keras

        from .callback import TrackingCallback
    except ImportError as exc:
        raise TrackerError(
            f"tracker demo needs Keras ({exc.name} is missing): "
            "pip install 'sweep-tracker[keras]'"
        ) from None
    x, y = spirals()
    for number, (batch_size, rate) in enumerate(GRID, 1):
        model = keras.Sequential(
            [
                keras.Input((2,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy", metrics=["accuracy"]
        )
        callback = TrackingCallback(url, experiment=EXPERIMENT, hyperparameters={"units": 16})
        history = model.fit(
            x, y, batch_size=batch_size, epochs=epochs, validation_split=0.25, verbose=0,
            callbacks=[callback],
        )
        progress(
            f"run {number}/{len(GRID)}: batch_size={batch_size} learning_rate={rate:g} "
            f"val_accuracy={max(history.history['val_accuracy']):.3f}"
        )
    return EXPERIMENT
