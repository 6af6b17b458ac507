"""``tracker demo``: a small real keras-tuner search on generated data, tracked into the database.

No downloads: the data is drawn from a fixed random generator (two noisy interleaved
spirals, a task where the learning rate and the batch size visibly matter). keras-tuner's own
files go to a temporary folder, removed afterwards; the database keeps everything.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from ..errors import TrackerError
from ..store import schema

EXPERIMENT = "demo"


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


def run_demo(
    url: str | None = None,
    *,
    trials: int = 3,
    executions: int = 2,
    epochs: int = 3,
    progress: Callable[[str], None] = print,
) -> str:
    """Migrate the database, run a tracked ``RandomSearch`` of ``trials`` trials (each trained
    ``executions`` times) and return the experiment name."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    schema.upgrade(url)
    try:
        import keras
        import keras_tuner as kt

        from .tuner import track
    except ImportError as exc:
        raise TrackerError(
            f"tracker demo needs Keras and keras-tuner ({exc.name} is missing): "
            "pip install 'sweep-tracker[keras]'"
        ) from None

    class Spirals(kt.HyperModel):
        def build(self, hp):
            units = hp.Choice("units", [8, 32])
            model = keras.Sequential(
                [
                    keras.Input((2,)),
                    keras.layers.Dense(units, activation="relu"),
                    keras.layers.Dense(units, activation="relu"),
                    keras.layers.Dense(1, activation="sigmoid"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [3e-3, 3e-2])),
                loss="binary_crossentropy",
                metrics=["accuracy"],
                jit_compile=False,  # compiling would take longer than these tiny fits
            )
            return model

        def fit(self, hp, model, *args, **kwargs):  # a hyperparameter of fit, not of build
            return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 64]), **kwargs)

    class Search(kt.RandomSearch):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            values = ", ".join(f"{k}={v:g}" for k, v in trial.hyperparameters.values.items())
            score = "failed" if trial.score is None else f"val_accuracy={trial.score:.3f}"
            progress(f"trial {int(trial.trial_id) + 1}/{trials}: {values}: {score}")

    x, y = spirals()
    with tempfile.TemporaryDirectory(prefix="tracker-demo-") as folder:
        tuner = Search(
            Spirals(), objective="val_accuracy", max_trials=trials,
            executions_per_trial=executions, seed=7, directory=folder, project_name=EXPERIMENT,
        )
        track(tuner, url)
        tuner.search(x, y, epochs=epochs, validation_split=0.25, verbose=0)
    return EXPERIMENT
