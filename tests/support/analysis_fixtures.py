"""Sweeps for the analysis tests (plots, report): a real one recorded by ``model.fit`` with the
callback, once per backend and module, and a larger synthetic one written through the
repository (100 runs, like a real search, too slow to train here)."""

from __future__ import annotations

import math
import random

import pytest

from tracker import Repository
from tracker.store import db, schema

KERAS_EXPERIMENT = "keras-sweep"
SYNTHETIC_EXPERIMENT = "synthetic"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sweep_url(request, tmp_path_factory) -> str:
    """A database holding a real tiny Keras sweep (experiment ``keras-sweep``: batch size x
    learning rate x units, 3 epochs each) and a synthetic 100-run one (``synthetic``)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sweep') / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    record_keras_sweep(url)
    record_synthetic_sweep(Repository(url))
    yield url
    db.dispose_engines()


def record_keras_sweep(url: str) -> None:
    from keras_helpers import make_data, make_model

    from tracker import TrackingCallback

    x, y = make_data(n=160)
    for batch_size, learning_rate, units in [(16, 1e-2, 4), (32, 1e-2, 8), (16, 5e-2, 8),
                                             (32, 5e-2, 4)]:
        make_model(learning_rate, units=units).fit(
            x, y, batch_size=batch_size, epochs=3, validation_split=0.25, verbose=0,
            callbacks=[TrackingCallback(url, experiment=KERAS_EXPERIMENT,
                                        hyperparameters={"units": units})],
        )


def record_synthetic_sweep(repo: Repository, runs: int = 100, epochs: int = 12) -> None:
    """Runs whose val_loss falls faster for learning rates near 3e-3, with a log-uniform
    learning rate, four batch sizes, three optimizers, and two diverging runs."""
    rng = random.Random(7)
    for i in range(runs):
        lr = 10 ** rng.uniform(-4, -1)
        bs = rng.choice([16, 32, 64, 128])
        opt = rng.choice(["adam", "sgd", "rmsprop"])
        key = repo.start_run(SYNTHETIC_EXPERIMENT, hyperparameters={
            "learning_rate": lr, "batch_size": bs, "optimizer": opt, "epochs": epochs})
        quality = 1 - abs(math.log10(lr) + 2.5) / 3 - bs / 1000
        history = {}
        for epoch in range(epochs):
            loss = 0.3 + (1.2 - quality) * math.exp(-epoch * (0.05 + 0.25 * max(quality, 0)))
            loss += rng.gauss(0, 0.02)
            history[epoch] = {"val_loss": loss, "val_accuracy": 1 - loss / 2}
            if i in (3, 4) and epoch > 6:
                history[epoch] = {"val_loss": math.inf if i == 3 else math.nan,
                                  "val_accuracy": math.nan}
        repo.log_epochs(key, history)
        repo.finish_run(key)
