"""``TrackingCallback``: records one run per ``model.fit`` into the tracking database.

Thin by design: it learns what it can about the run and turns Keras' hooks into calls of a
``RunRecorder``, which journals them and writes them in the background, so that a database
problem never stops or slows training. It holds configuration only, so keras-tuner can
deep-copy it and it can be pickled.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import traceback
import warnings
import weakref
from collections.abc import Mapping
from typing import Any

import keras

from ..capture.recorder import RunRecorder, check_label
from ..errors import SchemaError, TrackingWarning
from ..pruning import PercentilePruner, PruningSession
from ..store.db import mask_text, mask_url, resolve_url
from ..store.tags import tag_rows
from .batches import BatchRecorder

_ON_ERROR = ("warn", "raise")
# Raised through the training step when a dataset of unknown length runs out: not a failure.
_END_OF_DATA = ("StopIteration", "OutOfRangeError")
# How long the end of ``fit`` waits for the database to take the last records (when it is
# answering; a failing database is not waited for: the journal keeps them).
TRAIN_END_WAIT_S = 10.0
SCHEMA_WAIT_S = 0.2  # how long the start of ``fit`` waits for a database server to answer
_open_callbacks: weakref.WeakSet[TrackingCallback] = weakref.WeakSet()


def _never_raises(hook):
    """In ``warn`` mode a bug or surprise in tracking becomes a warning, never an exception in
    the training loop. A database that was never migrated still stops training (see below)."""

    @functools.wraps(hook)
    def guarded(self, *args, **kwargs):
        try:
            return hook(self, *args, **kwargs)
        except SchemaError:
            raise
        except Exception as exc:
            if self.on_error == "raise":
                raise
            message = mask_text(f"tracking failed in {hook.__name__}, training goes on: {exc!r}")
            warnings.warn(message, TrackingWarning, stacklevel=2)

    return guarded


class TrackingCallback(keras.callbacks.Callback):
    """Record every epoch of ``model.fit`` as one run of ``experiment``.

    Hyperparameters are the ``hyperparameters`` given plus what the callback learns itself:
    the optimizer's class and learning rate, the number of epochs, and the batch size where
    Keras knows it. Given values win. The run ends ``completed``, or ``failed`` with the error
    when the training step raised.

    By default (``on_error="warn"``) a database error never interrupts or slows training:
    records are written by a background thread; when the database fails, one warning is shown
    and they wait in a journal on disk (``journal_dir``, else ``$TRACKER_JOURNAL_DIR``, else
    ``~/.local/share/sweep-tracker/journal``) until it answers again, or until ``tracker sync``
    if the process ends first. ``on_error="raise"`` writes synchronously and lets errors through.
    A database that was never migrated raises ``SchemaError`` when training starts, whatever
    ``on_error`` says: nothing would ever be recorded.

    ``tags`` (text labels such as ``{"stage": "baseline"}``) go on the run, as
    ``Repository.tag`` puts them.

    ``pruner=MedianPruner()`` (``tracker.pruning``) stops the run early when its best value so
    far is worse than the median of the experiment's other runs up to the same epoch; it then
    ends with status ``pruned``. The decision is computed in the background and applied at
    most one epoch late; training never waits for it.

    ``log_every_n_batches=N`` also records the metrics of every N-th training batch (table
    ``batch_metrics``, read with ``Repository.batch_history``). The training loop only appends
    to a buffer; a background thread writes it in bulk, and the last points are written when
    training ends or fails.

    >>> cb = TrackingCallback("sqlite:///tracker.db", experiment="mnist",
    ...                       hyperparameters={"units": 64})              # doctest: +SKIP
    >>> model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[cb])   # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        experiment: str = "default",
        hyperparameters: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        on_error: str = "warn",
        log_every_n_batches: int | None = None,
        journal_dir: str | os.PathLike | None = None,
        pruner: PercentilePruner | None = None,
    ) -> None:
        super().__init__()
        if pruner is not None and not isinstance(pruner, PercentilePruner):
            raise TypeError(f"pruner must be a tracker.pruning pruner, not {pruner!r}")
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}, not {on_error!r}")
        if log_every_n_batches is not None and (
            isinstance(log_every_n_batches, bool)
            or not isinstance(log_every_n_batches, int)
            or log_every_n_batches < 1
        ):
            raise ValueError(
                f"log_every_n_batches must be a positive int or None, not {log_every_n_batches!r}"
            )
        # Resolve now: a bad URL fails at construction, and the environment is read once.
        self._url = resolve_url(url)
        self.experiment = check_label(experiment, "experiment name")
        self.hyperparameters = dict(hyperparameters or {})
        self.tags = dict(tags or {})
        tag_rows(self.tags)  # a bad tag is an error here, before training
        self.run_name = check_label(run_name, "run name")
        self.on_error = on_error
        self.journal_dir = journal_dir
        self.pruner = pruner
        self._pruning: PruningSession | None = None
        self.run_key: str | None = None
        self._recorder = RunRecorder(self._url, journal_dir=journal_dir, on_error=on_error)
        self._guarded: _FailureGuard | None = None
        self.log_every_n_batches = log_every_n_batches
        self._batches: BatchRecorder | None = None
        self._step = self._epoch = 0
        if log_every_n_batches is not None:
            # Only then does the callback have a batch hook: Keras runs batch hooks of
            # callbacks that define one synchronously, which costs training time.
            self.on_train_batch_end = self._record_batch

    # -- copying: configuration only --------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {
            "url": self._url.render_as_string(hide_password=False),
            "experiment": self.experiment,
            "hyperparameters": self.hyperparameters,
            "tags": self.tags,
            "run_name": self.run_name,
            "on_error": self.on_error,
            "log_every_n_batches": self.log_every_n_batches,
            "journal_dir": self.journal_dir,
            "pruner": self.pruner,
        }

    def __getstate__(self) -> dict[str, Any]:
        return self._config()

    def __setstate__(self, state: dict[str, Any]) -> None:
        config = dict(state)
        TrackingCallback.__init__(self, config.pop("url"), **config)

    def __deepcopy__(self, memo: dict) -> TrackingCallback:
        clone = type(self).__new__(type(self))
        clone.__setstate__(self._config())
        return clone

    def __repr__(self) -> str:
        return f"TrackingCallback({self.url!r}, experiment={self.experiment!r})"

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return mask_url(self._url)

    @property
    def pending(self) -> int:
        """Records not yet in the database (because it did not answer yet)."""
        return self._recorder.pending

    def flush(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) until the database holds every record; True when
        nothing is pending. Training never needs this: it is for scripts that read the
        database right after ``fit`` while it was failing."""
        return self._recorder.flush(timeout)

    # -- Keras hooks ------------------------------------------------------------------------

    @_never_raises
    def on_train_begin(self, logs=None) -> None:
        if self.run_key is not None:  # the previous fit never reached on_train_end
            self._finish("failed", "training stopped without reaching the end of fit")
        # Refuse to train into a database that was never migrated; an unreachable one is the
        # journal's business (it keeps the records until the database answers), and one that
        # does not answer is waited for a fraction of a second only.
        self._recorder.check_schema(wait=SCHEMA_WAIT_S)
        hyperparameters = {**self._learn_hyperparameters(), **self.hyperparameters}
        extra = {"tags": self.tags} if self.tags else {}
        self.run_key = self._recorder.start_run(
            self.experiment, hyperparameters=hyperparameters, name=self.run_name,
            source="callback", **extra,
        )
        if self.pruner is not None:
            url = self._url.render_as_string(hide_password=False)
            self._pruning = PruningSession(
                self.pruner, url, self.experiment, self.run_key, on_prune=self._record_pruning
            )
        self._guard_training_step()
        _open_callbacks.add(self)
        if self.log_every_n_batches is not None:
            url = self._url.render_as_string(hide_password=False)
            self._batches = BatchRecorder(url, self.run_key)
            self._step = self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch = int(epoch)

    def _record_batch(self, batch: int, logs=None) -> None:
        """``on_train_batch_end`` when ``log_every_n_batches`` is set: buffer, never write."""
        step = self._step
        self._step = step + 1
        if step % self.log_every_n_batches == 0 and self._batches is not None and logs:
            self._batches.add(step, self._epoch, logs)

    @_never_raises
    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self.run_key is not None:
            self._recorder.log_epoch(self.run_key, epoch, logs)
            if self._pruning is not None and self._pruning.after_epoch(epoch, logs):
                self.model.stop_training = True

    @_never_raises
    def on_train_end(self, logs=None) -> None:
        self._unguard_training_step()
        pruned = self._pruning is not None and self._pruning.pruned is not None
        self._finish("pruned" if pruned else "completed")

    # -- internals --------------------------------------------------------------------------

    def _finish(self, status: str, error: str | None = None) -> None:
        if self.run_key is None:
            return
        key, self.run_key = self.run_key, None
        _open_callbacks.discard(self)
        if self._pruning is not None:
            pruning, self._pruning = self._pruning, None
            pruning.close()
        if self._batches is not None:  # the last buffered points, before the run ends
            batches, self._batches = self._batches, None
            batches.close()
        self._recorder.finish_run(key, status, error=error)
        self._recorder.flush(TRAIN_END_WAIT_S, retry_now=False)

    def _record_pruning(self, epoch: int, threshold: float) -> None:
        if self.run_key is not None:
            self._recorder.record_pruning(self.run_key, epoch, threshold)

    def _on_training_error(self, exc: BaseException) -> None:
        if type(exc).__name__ in _END_OF_DATA:
            return
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        try:
            self._unguard_training_step()
            self._finish("failed", error)
        except Exception:  # never mask the user's own error with ours
            pass

    def _guard_training_step(self) -> None:
        model = self.model
        step = getattr(model, "train_function", None)
        if model is None or step is None:
            return
        if isinstance(step, _FailureGuard):  # left behind by a fit that raised
            step = step.inner
        self._guarded = _FailureGuard(step, self._on_training_error)
        model.train_function = self._guarded

    def _unguard_training_step(self) -> None:
        model = self.model
        if self._guarded is not None and model is not None:
            if getattr(model, "train_function", None) is self._guarded:
                model.train_function = self._guarded.inner
        self._guarded = None

    def _learn_hyperparameters(self) -> dict[str, Any]:
        learned: dict[str, Any] = {}
        try:
            params = self.params or {}
            if params.get("epochs") is not None:
                learned["epochs"] = int(params["epochs"])
            batch_size = params.get("batch_size") or _batch_size_of_fit(self.model)
            if batch_size is not None:
                learned["batch_size"] = int(batch_size)
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None:
                learned["optimizer"] = type(optimizer).__name__
                rate = keras.ops.convert_to_numpy(optimizer.learning_rate)[()]
                # str() of a NumPy scalar is its shortest repr in its own precision:
                # a float32 1e-3 is recorded as 0.001, not 0.0010000000474974513.
                learned["learning_rate"] = float(str(rate))
        except Exception:  # best effort: Keras internals differ between versions and backends
            pass
        return learned


class _FailureGuard:
    """Wraps the model's training step to learn about an exception Keras gives no hook for."""

    def __init__(self, inner, on_failure) -> None:
        self.inner = inner
        self._on_failure = on_failure

    def __call__(self, *args, **kwargs):
        try:
            return self.inner(*args, **kwargs)
        except BaseException as exc:
            self._on_failure(exc)
            raise


def _batch_size_of_fit(model) -> int | None:
    """The batch size of the ``fit`` call running ``model``, read from its frame: Keras 3 does
    not pass it to callbacks. None when unknown (e.g. a dataset without a static batch)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
            size = frame.f_locals.get("batch_size")
            if size is None:
                adapter = getattr(frame.f_locals.get("epoch_iterator"), "data_adapter", None)
                size = getattr(adapter, "batch_size", None)
                if size is None:
                    size = _dataset_batch_size(getattr(adapter, "_dataset", None))
            return size if isinstance(size, int) else None
        frame = frame.f_back
    return None


def _dataset_batch_size(dataset, depth: int = 0) -> int | None:
    """The ``.batch(n)`` of a ``tf.data`` pipeline whose batch dimension is not static
    (no ``drop_remainder``), found by walking back through ``prefetch``, ``map``..."""
    while dataset is not None and depth < 20:
        size = getattr(dataset, "_batch_size", None)
        if size is not None:
            try:
                return int(size)
            except (TypeError, ValueError):
                return None
        dataset, depth = getattr(dataset, "_input_dataset", None), depth + 1
    return None


@atexit.register
def _fail_open_runs() -> None:
    """At exit, a run whose fit never ended (an uncaught error outside the training step,
    ``sys.exit`` from a callback...) is recorded as failed rather than left running."""
    error = getattr(sys, "last_value", None)
    message = (
        "".join(traceback.format_exception_only(type(error), error)).strip()
        if error is not None
        else "the process exited before training finished"
    )
    for callback in list(_open_callbacks):
        try:
            callback._finish("failed", message)
        except Exception:
            pass
