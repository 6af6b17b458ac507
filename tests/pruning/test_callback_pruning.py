"""``TrackingCallback(pruner=...)`` on a real Keras fit: a run worse than the median of the
experiment is stopped, stored ``pruned`` with its epoch and threshold; a good one trains on."""

from __future__ import annotations

import copy
import pickle

import pytest
import sqlalchemy as sa
from keras_helpers import make_data, make_model

from tracker import Repository, TrackingCallback
from tracker.pruning import MedianPruner
from tracker.store import db

pytestmark = pytest.mark.keras


def others(url: str, n: int = 5, loss: float = 0.05) -> None:
    """``n`` finished runs whose losses are ``loss`` (and a bit more) from the first epoch on."""
    repo = Repository(url)
    for i in range(n):
        key = repo.start_run("fit")
        repo.log_epochs(key, {e: {"val_loss": loss + i / 100, "loss": loss} for e in range(6)})
        repo.finish_run(key)


def pruning_of(url: str, key: str) -> tuple:
    with db.get_engine(url).connect() as conn:
        return tuple(conn.execute(
            sa.text("SELECT status, pruned_epoch, pruned_threshold FROM runs WHERE key = :k"),
            {"k": key},
        ).one())


def test_a_hopeless_fit_is_stopped_and_recorded_pruned(url):
    others(url)
    x, y = make_data()
    callback = TrackingCallback(url, experiment="fit", pruner=MedianPruner())
    history = make_model(learning_rate=1e-7).fit(
        x, y, epochs=6, validation_split=0.25, verbose=0, callbacks=[callback]
    )
    assert callback.flush(10)
    trained = len(history.history["loss"])
    assert 2 <= trained <= 3  # judged after epoch 1, applied then or one epoch later
    key = Repository(url).runs("fit")[-1].key
    status, epoch, threshold = pruning_of(url, key)
    assert (status, epoch) == ("pruned", 1) and threshold == pytest.approx(0.07)
    assert len(Repository(url).history(key, "val_loss")) == trained


def test_a_fit_that_beats_the_others_trains_to_the_end(url):
    others(url, loss=5.0)
    x, y = make_data()
    callback = TrackingCallback(url, experiment="fit", pruner=MedianPruner(metric="loss"))
    history = make_model().fit(x, y, epochs=3, verbose=0, callbacks=[callback])
    assert callback.flush(10)
    assert len(history.history["loss"]) == 3
    assert pruning_of(url, Repository(url).runs("fit")[-1].key) == ("completed", None, None)
    assert max(history.history["loss"]) < 5.0  # the rivals' loss, which it beats


def test_the_pruner_survives_copies(tmp_path):
    callback = TrackingCallback(f"sqlite:///{tmp_path}/t.db", pruner=MedianPruner(min_runs=3))
    for clone in (copy.deepcopy(callback), pickle.loads(pickle.dumps(callback))):
        assert clone.pruner == MedianPruner(min_runs=3)
    with pytest.raises(TypeError, match="pruner"):
        TrackingCallback(f"sqlite:///{tmp_path}/t.db", pruner="median")
