"""Tracking never changes what keras-tuner does, on both backends: a ``run_trial`` whose
``**kwargs`` reach a function without a ``callbacks`` parameter still runs every trial (once),
recorded without epochs; a ``HyperModel.fit`` with a custom training loop that calls the
callbacks' hooks by hand (keras.io's guide) gets its epochs recorded."""

from __future__ import annotations

import warnings

import pytest

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")

import numpy as np  # noqa: E402
from keras_helpers import make_data  # noqa: E402
from tuner_helpers import STATUS, TinyHyperModel, trial_files  # noqa: E402

from tracker import Repository, track  # noqa: E402
from tracker.errors import TrackingWarning  # noqa: E402

pytestmark = pytest.mark.keras


class HelperTuner(kt.RandomSearch):
    """Hands its keyword arguments to a helper that takes no callbacks."""

    fits = 0

    def run_trial(self, trial, x, y, **kwargs):
        return self._train(trial.hyperparameters, x, y, **kwargs)

    def _train(self, hp, x, y, epochs=1, validation_split=0.0, verbose=0):
        HelperTuner.fits += 1
        model = self.hypermodel.build(hp)
        history = model.fit(x, y, epochs=epochs, validation_split=validation_split,
                            verbose=verbose)
        return {"val_accuracy": history.history["val_accuracy"][-1]}


def test_a_run_trial_without_callbacks_runs_every_trial_once(url, tmp_path):
    x, y = make_data()
    tuner = track(HelperTuner(TinyHyperModel(), objective="val_accuracy", max_trials=3,
                              seed=1, directory=tmp_path, project_name="helper"), url)
    HelperTuner.fits = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert HelperTuner.fits == 3  # each trial ran once: the refused call ran nothing
    said = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(said) == 1 and "without their epochs" in str(said[0].message)
    files = trial_files(tmp_path / "helper")
    repo = Repository(url)
    runs = repo.runs("helper")
    assert sorted(r.trial_id for r in runs) == sorted(files) and len(files) == 3
    for run in runs:
        state = files[run.trial_id]
        assert (run.status, run.score) == (STATUS[state["status"]], state["score"])
        assert state["status"] == "COMPLETED" and repo.history(run.id) == []


class CustomLoop(kt.HyperModel):
    """keras.io's "Tune hyperparameters in your custom training loop", shortened."""

    def build(self, hp):
        return keras.Sequential([keras.Input((8,)),
                                 keras.layers.Dense(hp.Int("units", 2, 8, step=2),
                                                    activation="relu"),
                                 keras.layers.Dense(1)])

    def fit(self, hp, model, x, y, validation_data, callbacks=None, **kwargs):
        optimizer = keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log"))
        loss_fn = keras.losses.MeanSquaredError()
        for callback in callbacks:
            callback.set_model(model)
        best = float("inf")
        x_val, y_val = validation_data
        for epoch in range(3):
            for start in range(0, len(x), 64):  # a few steps of training by hand
                model.compile(optimizer=optimizer, loss=loss_fn, jit_compile=False)
                model.train_on_batch(x[start:start + 64], y[start:start + 64])
            epoch_loss = float(np.mean((model.predict(x_val, verbose=0)[:, 0] - y_val) ** 2))
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs={"my_metric": epoch_loss})
            best = min(best, epoch_loss)
        return best


def test_a_custom_training_loop_gets_its_epochs_recorded(url, tmp_path):
    x, y = make_data()
    tuner = track(kt.RandomSearch(CustomLoop(), objective=kt.Objective("my_metric", "min"),
                                  max_trials=2, seed=2, directory=tmp_path,
                                  project_name="custom"), url)
    tuner.search(x[:192], y[:192], validation_data=(x[192:], y[192:]))
    files = trial_files(tmp_path / "custom")
    repo = Repository(url)
    runs = repo.runs("custom")
    assert len(runs) == 2 and sorted(r.trial_id for r in runs) == sorted(files)
    for run in runs:
        history = repo.history(run.id)
        assert [(p.epoch, p.name) for p in history] == [(e, "my_metric") for e in range(3)]
        assert min(p.value for p in history) == run.score == files[run.trial_id]["score"]
