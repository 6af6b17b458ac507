"""Bad input through the callback, as training would hand it over: every metric value and
hyperparameter is stored faithfully or skipped with a warning naming it; nothing raises into
training; no row is corrupted or partial. A property-based test over generated inputs on both
backends, and real keras-tuner hyperparameters of every kind."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from tracker import Repository, TrackingCallback, TrackingWarning  # noqa: E402

pytestmark = pytest.mark.keras

SKIP = object()
EXAMPLES = 200  # per backend; each one is a run written to and read back from the database
TRIED = {"examples": 0, "metrics": 0, "hyperparameters": 0}

# -- what the inputs are ------------------------------------------------------------------------

WEIRD_NAMES = [
    "", " ", "x" * 255, "x" * 256, "x" * 10_000, "val_accuracy", "métrique", "损失", "🙂" * 10,
    "'; DROP TABLE epoch_metrics; --", 'loss" OR "1"="1', "a%sb%(x)s{0}", "nul\x00name",
    "lone \ud800 surrogate", "tab\tnew\nline", "Robert'); --",
]
names = st.one_of(st.sampled_from(WEIRD_NAMES), st.text(max_size=20), st.integers(-3, 3))

finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
metric_values = st.one_of(
    finite_or_not,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.just(10**400),  # beyond float
    st.booleans(),
    finite_or_not.map(np.float64),
    st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
    st.integers(-(2**62), 2**62).map(np.int64),
    finite_or_not.map(np.array),  # 0-d array
    st.floats(width=32).map(lambda v: tf.constant(v)),  # 0-d tensor
    st.just(tf.constant("text")),
    st.just(tf.constant([1.0, 2.0])),
    st.just(np.array([0.5])),
    st.none(),
    st.text(max_size=8),
    st.lists(st.floats(), max_size=3),
    st.just(complex(1, 2)),
)
hyperparameter_values = st.one_of(
    st.none(),  # an inactive conditional hyperparameter
    st.booleans(),  # Boolean
    st.integers(min_value=-(2**70), max_value=2**70),  # Int
    st.just(10**400),
    finite_or_not,  # Float
    st.sampled_from(["relu", "tanh", "", "'; DROP TABLE runs; --", "ünï", "nul\x00", "\ud800"]),
    st.text(max_size=30),  # Choice / Fixed strings
    st.integers(-1000, 1000).map(np.int64),
    st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
    st.booleans().map(np.bool_),
    st.lists(st.integers(0, 512), max_size=4),  # a Fixed list of layer sizes
)


# -- what must come out -------------------------------------------------------------------------


def name_ok(name) -> bool:
    if not isinstance(name, str) or not 0 < len(name) <= 255 or "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stored_metric(value):
    """A single number is stored as its float (NaN, +/-inf as such); anything else skipped."""
    if value is None or isinstance(value, (str, bytes, list)):
        return SKIP
    if tuple(getattr(value, "shape", ())) != ():
        return SKIP
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return SKIP


def stored_hyperparameter(value):
    """The typed value read back (ints stay ints, bools bools), or SKIP."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, list)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, str) and text_ok(value):
        return value
    return SKIP


def text_ok(text: str) -> bool:
    """Text any backend stores as is: no NUL (PostgreSQL refuses it), valid Unicode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def short(name) -> str:
    text = repr(name)
    return text if len(text) <= 60 else text[:57]


# -- the property -------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    logs=st.dictionaries(names, metric_values, max_size=6),
    hyperparameters=st.dictionaries(names, hyperparameter_values, max_size=5),
)
def test_every_input_is_stored_faithfully_or_skipped_with_a_warning(url, logs, hyperparameters):
    callback = TrackingCallback(url, experiment="bad-input", hyperparameters=hyperparameters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        callback.on_train_begin()  # no exception may escape any hook
        key = callback.run_key
        callback.on_epoch_end(0, logs)
        callback.on_train_end()
        assert callback.flush(timeout=30)
    messages = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert not [m for m in messages if "tracking failed" in m], messages

    repo = Repository(url)
    run = repo.run(key)
    assert run.status == "completed"
    for name, value in hyperparameters.items():
        expected = stored_hyperparameter(value) if name_ok(name) else SKIP
        if expected is SKIP:
            assert name not in run.hyperparameters
            assert any(f"hyperparameter {short(name)}" in m for m in messages), (name, messages)
        else:
            assert same(run.hyperparameters[name], expected), (name, value)
    assert set(run.hyperparameters) <= set(hyperparameters)

    points = {p.name: p for p in repo.history(key)}
    for name, value in logs.items():
        expected = stored_metric(value) if name_ok(name) else SKIP
        if expected is SKIP:
            assert name not in points
            assert any(f"metric {short(name)}" in m for m in messages), (name, messages)
        else:
            assert points[name].epoch == 0 and same(points[name].value, expected), (name, value)
    assert len(points) == sum(name_ok(n) and stored_metric(v) is not SKIP
                              for n, v in logs.items())
    TRIED["examples"] += 1
    TRIED["metrics"] += len(logs)
    TRIED["hyperparameters"] += len(hyperparameters)


def test_report_how_many_inputs_were_tried(backend):
    print(f"\ninputs tried so far: {TRIED}")


# -- real keras-tuner hyperparameters, of every kind --------------------------------------------


def test_keras_tuner_hyperparameters_of_every_kind_are_kept_typed(url):
    kt = pytest.importorskip("keras_tuner")
    hp = kt.HyperParameters()
    hp.Int("units", 32, 512, step=32, default=64)
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
    hp.Boolean("batch_norm", default=True)
    hp.Choice("activation", ["relu", "tanh"], default="tanh")
    hp.Choice("kernel", [3, 5], default=5)
    hp.Fixed("optimizer", "adam")
    hp.Fixed("momentum", 0.9)
    hp.Choice("model_type", ["mlp", "cnn"], default="mlp")
    with hp.conditional_scope("model_type", ["cnn"]):
        filters = hp.Int("filters", 8, 64, default=16)  # inactive: None, not in hp.values
    given = {**hp.values, "filters": filters, "units_np": np.int64(64), "lr_np": np.float32(0.5)}
    x = np.zeros((8, 4), "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    callback = TrackingCallback(url, experiment="kt-kinds", hyperparameters=given)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[callback])
    assert not [w for w in caught if issubclass(w.category, TrackingWarning)]
    stored = Repository(url).runs("kt-kinds")[0].hyperparameters
    for name, value in hp.values.items():
        assert same(stored[name], value), (name, value, stored[name])
    assert stored["units"] == 64 and type(stored["units"]) is int
    assert stored["batch_norm"] is True and stored["kernel"] == 5 and stored["momentum"] == 0.9
    assert "filters" in stored and stored["filters"] is None
    assert stored["units_np"] == 64 and type(stored["units_np"]) is int
    assert stored["lr_np"] == 0.5 and type(stored["lr_np"]) is float


def test_bad_labels_fail_at_construction_not_during_training():
    for bad in ("", "x" * 256, "nul\x00"):
        with pytest.raises(ValueError, match="experiment name"):
            TrackingCallback("sqlite:///x.db", experiment=bad)
        with pytest.raises(ValueError, match="run name"):
            TrackingCallback("sqlite:///x.db", run_name=bad)
