"""Per-batch logging (``log_every_n_batches``) with real Keras fits on both backends: every
point written, also when training fails; bounded memory when the database does not answer."""

from __future__ import annotations

import copy
import warnings

import pytest

keras = pytest.importorskip("keras")

from keras_helpers import make_data, make_model  # noqa: E402

from tracker import Repository, TrackingCallback, TrackingWarning  # noqa: E402
from tracker.training.batches import BatchRecorder  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def data():
    return make_data()


class Seen(keras.callbacks.Callback):
    """Records what Keras handed to the batch hooks, to compare with the database."""

    def __init__(self):
        super().__init__()
        self.batches: list[dict] = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs or {}))


def test_every_batch_is_recorded_with_its_step_and_epoch(url, data):
    x, y = data
    seen = Seen()
    callback = TrackingCallback(url, experiment="batches", log_every_n_batches=1)
    model = make_model()
    model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[callback, seen])
    repo = Repository(url)
    [run] = repo.runs("batches")
    points = repo.batch_history(run.id, "loss")
    assert len(seen.batches) == 24  # 256 samples / 32, three epochs
    assert [p.step for p in points] == list(range(24))
    assert [p.epoch for p in points] == [s // 8 for s in range(24)]
    assert [p.value for p in points] == [b["loss"] for b in seen.batches]
    assert {p.name for p in repo.batch_history(run.id)} == set(seen.batches[0])
    assert len(repo.history(run.id, "loss")) == 3  # epochs are still recorded as epochs


def test_every_nth_batch(url, data):
    x, y = data
    callback = TrackingCallback(url, experiment="nth", log_every_n_batches=5)
    make_model().fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[callback])
    [run] = Repository(url).runs("nth")
    assert [p.step for p in Repository(url).batch_history(run.id, "loss")] == [0, 5, 10, 15]


class Exploding(keras.utils.PyDataset):
    """Fails at the 11th batch."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.calls = x, y, 0

    def __len__(self):
        return 8

    def __getitem__(self, index):
        self.calls += 1
        if self.calls > 10:
            raise RuntimeError("disk on fire")
        return self.x[index * 32:(index + 1) * 32], self.y[index * 32:(index + 1) * 32]


def test_points_before_a_failure_are_written(url, data):
    x, y = data
    seen = Seen()
    callback = TrackingCallback(url, experiment="boom", log_every_n_batches=1)
    with pytest.raises(Exception, match="disk on fire"):
        make_model().fit(Exploding(x, y), epochs=3, verbose=0, callbacks=[callback, seen])
    repo = Repository(url)
    [run] = repo.runs("boom")
    assert run.status == "failed"
    points = repo.batch_history(run.id, "loss")
    assert len(seen.batches) >= 8
    assert [p.value for p in points] == [b["loss"] for b in seen.batches]


def test_no_batch_hook_unless_asked(url):
    from keras.src import utils

    assert utils.is_default(TrackingCallback(url).on_train_batch_end)
    callback = TrackingCallback(url, log_every_n_batches=2)
    assert not utils.is_default(callback.on_train_batch_end)
    clone = copy.deepcopy(callback)
    assert clone.log_every_n_batches == 2 and not utils.is_default(clone.on_train_batch_end)
    with pytest.raises(ValueError, match="log_every_n_batches"):
        TrackingCallback(url, log_every_n_batches=0)


def test_buffer_is_bounded_when_the_database_does_not_answer():
    recorder = BatchRecorder("postgresql://postgres@127.0.0.1:1/none", "k" * 36, max_pending=50,
                             interval=0.01)
    for step in range(500):
        recorder.add(step, 0, {"loss": 1.0})
    assert recorder.pending <= 50
    assert recorder.dropped >= 400
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder.close(timeout=10)
    [warning] = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert "dropped" in str(warning.message)


def test_full_buffer_waits_for_a_healthy_writer(url):
    repo = Repository(url)
    key = repo.start_run("pressure")
    recorder = BatchRecorder(url, key, max_pending=10, interval=5.0)
    for step in range(2_000):
        recorder.add(step, step // 100, {"loss": float(step), "acc": 0.5})
        assert recorder.pending <= 10
    recorder.close()
    assert recorder.dropped == 0
    assert len(repo.batch_history(key)) == 4_000
