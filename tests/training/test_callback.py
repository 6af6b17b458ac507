"""TrackingCallback with real (tiny) Keras models on both backends."""

from __future__ import annotations

import copy
import math
import pickle
import warnings

import pytest

keras = pytest.importorskip("keras")

from keras_helpers import make_data, make_model  # noqa: E402

from tracker import DatabaseError, Repository, SchemaError, TrackingCallback, TrackingWarning  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def data():
    return make_data()


def test_fit_records_one_complete_run(url, data):
    x, y = data
    model = make_model(learning_rate=3e-3)
    callback = TrackingCallback(url, experiment="fit", hyperparameters={"units": 4})
    history = model.fit(x, y, batch_size=64, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[callback])
    repo = Repository(url)
    [run] = repo.runs("fit")
    assert run.status == "completed" and run.error is None and run.ended_at is not None
    assert run.hyperparameters == {
        "units": 4, "batch_size": 64, "epochs": 3, "optimizer": "Adam", "learning_rate": 0.003,
    }
    recorded = {}
    for point in repo.history(run.id):
        recorded.setdefault(point.name, []).append(point.value)
    assert recorded.keys() == history.history.keys()
    for name, values in history.history.items():
        assert recorded[name] == pytest.approx(values, rel=1e-12), name


def test_given_hyperparameters_win_and_each_fit_is_a_run(url, data):
    x, y = data
    model = make_model()
    callback = TrackingCallback(url, experiment="twice", hyperparameters={"batch_size": 999},
                                run_name="mine")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[callback])
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[callback])
    runs = Repository(url).runs("twice")
    assert [(r.status, r.name, r.hyperparameters["batch_size"]) for r in runs] == [
        ("completed", "mine", 999), ("completed", "mine", 999)]
    assert [len(Repository(url).history(r.id)) for r in runs] == [2, 4]


def test_batch_size_of_a_dataset_and_the_default(url, data):
    import tensorflow as tf

    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).map(lambda a, b: (a, b))
    dataset = dataset.prefetch(2)
    make_model().fit(dataset, epochs=1, verbose=0,
                     callbacks=[TrackingCallback(url, experiment="ds")])
    make_model().fit(x, y, epochs=1, verbose=0,
                     callbacks=[TrackingCallback(url, experiment="default-bs")])
    repo = Repository(url)
    assert repo.runs("ds")[0].hyperparameters["batch_size"] == 16
    assert repo.runs("default-bs")[0].hyperparameters["batch_size"] == 32  # Keras' default


class Exploding(keras.utils.PyDataset):
    """Four batches per epoch; batch 2 of epoch 2 raises."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.epoch = x, y, 0

    def __len__(self):
        return 4

    def on_epoch_end(self):
        self.epoch += 1

    def __getitem__(self, index):
        if self.epoch == 2 and index == 2:
            raise RuntimeError("disk on fire")
        return self.x[index * 32:(index + 1) * 32], self.y[index * 32:(index + 1) * 32]


def test_training_error_marks_the_run_failed(url, data):
    x, y = data
    ended = []
    seen = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ended.append(epoch))
    with pytest.raises(Exception, match="disk on fire"):
        make_model().fit(Exploding(x, y), epochs=5, verbose=0,
                         callbacks=[TrackingCallback(url, experiment="boom"), seen])
    [run] = Repository(url).runs("boom")
    assert run.status == "failed"
    assert "disk on fire" in run.error
    assert ended and len(ended) < 5
    assert sorted({p.epoch for p in Repository(url).history(run.id)}) == ended


def test_error_in_another_callback_fails_the_run_at_the_next_fit(url, data):
    x, y = data

    class Raising(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ValueError("user callback bug")

    callback = TrackingCallback(url, experiment="later")
    model = make_model()
    with pytest.raises(ValueError):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callback, Raising()])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    statuses = [r.status for r in Repository(url).runs("later")]
    assert statuses == ["failed", "completed"]


def test_callback_survives_deepcopy_and_pickle(url, data):
    x, y = data
    original = TrackingCallback(url, experiment="copied", hyperparameters={"u": 1})
    for clone in (copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert clone is not original and clone.hyperparameters == {"u": 1}
        make_model().fit(x, y, epochs=1, verbose=0, callbacks=[clone])
    assert original.run_key is None
    fitted = TrackingCallback(url, experiment="copied")
    make_model().fit(x, y, epochs=1, verbose=0, callbacks=[fitted])
    copy.deepcopy(fitted)  # after set_model too
    assert [r.status for r in Repository(url).runs("copied")] == ["completed"] * 3


def test_unmigrated_database_stops_before_training(empty_url, data):
    x, y = data
    model = make_model()
    with pytest.raises(SchemaError, match="tracker db upgrade"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[TrackingCallback(empty_url)])


def test_unreachable_database_never_interrupts_training(data):
    x, y = data
    callback = TrackingCallback("postgresql://postgres:hunter2@127.0.0.1:1/none", experiment="x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = make_model().fit(x, y, epochs=3, verbose=0, callbacks=[callback])
    assert len(history.history["loss"]) == 3
    ours = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert "training goes on" in str(ours[0].message)
    assert "hunter2" not in str(ours[0].message)
    assert callback.pending == 5  # start, three epochs, finish: kept for later


def test_on_error_raise_lets_errors_through(data):
    x, y = data
    callback = TrackingCallback("postgresql://postgres@127.0.0.1:1/none", on_error="raise")
    with pytest.raises(DatabaseError, match=r"127\.0\.0\.1:1"):
        make_model().fit(x, y, epochs=1, verbose=0, callbacks=[callback])


def test_nan_loss_is_recorded_and_never_wins(url, data):
    x, y = data
    y_bad = y.copy()
    model = make_model(learning_rate=1e30)  # diverges at once
    model.fit(x, y_bad, epochs=2, verbose=0,
              callbacks=[TrackingCallback(url, experiment="nan", hyperparameters={"g": 1})])
    values = [p.value for p in Repository(url).history(Repository(url).runs("nan")[0].id, "loss")]
    assert any(math.isnan(v) or math.isinf(v) or v > 1e6 for v in values)


def test_bad_arguments_fail_at_construction():
    with pytest.raises(ValueError, match="on_error"):
        TrackingCallback("sqlite:///x.db", on_error="ignore")
    with pytest.raises(Exception, match="not a database URL"):
        TrackingCallback("not a url")
