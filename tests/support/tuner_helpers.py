"""Tiny keras-tuner searches for the tests, and how to read what keras-tuner wrote."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import keras_tuner as kt

STATUS = {"COMPLETED": "completed", "INVALID": "invalid", "FAILED": "failed"}


class TinyHyperModel(kt.HyperModel):
    """Two tuned hyperparameters in ``build`` and one, ``batch_size``, declared in ``fit``."""

    def build(self, hp):
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")),
            loss="binary_crossentropy",
            metrics=["accuracy"],
            jit_compile=False,  # XLA compilation would dominate these tiny fits
        )
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)


class EpochLog(keras.callbacks.Callback):
    """Keeps every execution's epochs in a class-level list (keras-tuner copies callbacks)."""

    fits: list[list[tuple[int, dict]]] = []

    def on_train_begin(self, logs=None):
        EpochLog.fits.append([])

    def on_epoch_end(self, epoch, logs=None):
        EpochLog.fits[-1].append((epoch, dict(logs or {})))


def trial_files(project_dir: Path) -> dict[str, dict]:
    """keras-tuner's own record of each trial: trial id -> trial.json content."""
    trials = {}
    for path in sorted(Path(project_dir).glob("trial_*/trial.json")):
        state = json.loads(path.read_text())
        trials[state["trial_id"]] = state
    return trials
