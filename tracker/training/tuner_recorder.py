"""What ``track()`` attaches to a tuner: a recorder turning trials and executions into runs.

One ``TrialRecorder`` per tracked tuner (keras-tuner never copies the tuner). The Keras side
is ``ExecutionCallback``: keras-tuner deep-copies it for every execution, and every copy
shares the recorder, which numbers the executions of the current trial in the order their
``fit`` begins. Every write goes through the process's ``Outbox`` (journaled, written in order
by a background thread, never raising into the search); every hook catches its own errors, so
tracking never fails a trial.
"""

from __future__ import annotations

import atexit
import functools
import logging
import uuid
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras

from ..capture.journal import Op
from ..capture.registry import outbox_for
from ..errors import TrackingWarning
from ..pruning import PercentilePruner, PruningSession
from ..store import writes
from ..store.repository import Repository
from ..store.values import plain_hyperparameters, plain_metrics

log = logging.getLogger("tracker")
SOURCE = "keras-tuner"
TRIAL_END_WAIT_S = 10.0  # how long the end of a trial waits for a database that answers
_open_recorders: weakref.WeakSet[TrialRecorder] = weakref.WeakSet()


@dataclass
class Verdict:
    """How a trial attempt ended, as keras-tuner decided it."""

    status: str  # completed, invalid or failed
    score: float | None = None
    error: str | None = None


@dataclass
class _Attempt:
    trial: Any
    attempt: int
    keys: list[str] = field(default_factory=list)
    ended: dict[str, Any] = field(default_factory=dict)


class TrialRecorder:
    """Records the trials a tuner runs into ``experiment`` at ``url``."""

    def __init__(
        self,
        url: str,
        experiment: str,
        *,
        objective: str | None,
        direction: str | None,
        worker: str | None,
        tags: Mapping[str, Any] | None = None,
        pruner: PercentilePruner | None = None,
    ) -> None:
        self.url = url
        self.tags = dict(tags or {})
        self.pruner = pruner
        self._pruning: dict[str, PruningSession] = {}  # open executions' pruning, by run key
        self._pruned: set[str] = set()
        self.experiment = experiment
        self.objective = objective
        self.direction = direction
        self.worker = worker
        self._repository: Repository | None = None
        self._outbox = outbox_for(url)
        self._current: _Attempt | None = None
        self._attempts: dict[str, int] = {}
        self._warned: set[str] = set()

    def repository(self) -> Repository:
        if self._repository is None:
            self._repository = Repository(self.url)
        return self._repository

    @property
    def pending(self) -> int:
        """Records not yet in the database (because it did not answer)."""
        return self._outbox.pending

    # -- trial hooks (called by the tuner's wrapped methods) ---------------------------------

    def trial_started(self, trial) -> None:
        if self._current is not None:  # the previous trial never reached on_trial_end
            self._close(Verdict("failed", error="the trial stopped without ending"))
        self._current = _Attempt(trial, self._next_attempt(trial.trial_id))
        _open_recorders.add(self)

    def trial_ended(self, trial, verdict: Verdict) -> None:
        current = self._current
        if current is None or current.trial.trial_id != trial.trial_id:
            self._current = _Attempt(trial, self._next_attempt(trial.trial_id))
        self._current.trial = trial  # keras-tuner may hand back a rebuilt Trial object
        self._close(verdict)

    def search_stopped(self, error: str) -> None:
        """The search raised (a fatal keras-tuner error, Ctrl-C...) inside a trial."""
        if self._current is not None:
            self._close(Verdict("failed", error=error))
        self.flush()

    def flush(self) -> None:
        self._outbox.flush(TRIAL_END_WAIT_S)

    # -- execution hooks (called by the ExecutionCallback copies) ----------------------------

    def execution_started(self) -> str | None:
        current = self._current
        if current is None:  # a fit outside a trial (e.g. retraining the best model)
            return None
        return self._start_run(current)

    def epoch_ended(self, key: str, epoch: int, logs) -> bool:
        """Record the epoch; True when the pruner says to stop the execution."""
        metrics, _ = plain_metrics(logs or {}, epoch, stacklevel=3)
        self._outbox.submit(Op("log_epoch", (key, int(epoch), metrics), {"at": writes.utcnow()}))
        pruning = self._pruning.get(key)
        return pruning is not None and pruning.after_epoch(epoch, logs)

    def execution_ended(self, key: str) -> None:
        pruning = self._pruning.pop(key, None)
        if pruning is not None:
            pruning.close()
        if self._current is not None:
            self._current.ended[key] = writes.utcnow()

    # -- internals ---------------------------------------------------------------------------

    def _start_run(self, current: _Attempt) -> str:
        key = str(uuid.uuid4())
        kwargs = {
            "hyperparameters": _values(current.trial),
            "key": key,
            "trial_id": str(current.trial.trial_id),
            "execution": len(current.keys),
            "attempt": current.attempt,
            "worker": self.worker,
            "objective": self.objective,
            "direction": self.direction,
            "source": SOURCE,
            "started_at": writes.utcnow(),
        }
        if self.tags:
            kwargs["tags"] = self.tags
        current.keys.append(key)
        self._outbox.submit(Op("start_run", (self.experiment,), kwargs))
        self._outbox.open_run(key)  # heartbeats until it ends
        if self.pruner is not None:
            self._pruning[key] = PruningSession(
                self.pruner, self.url, self.experiment, key, metric=self.objective,
                direction=self.direction, on_prune=functools.partial(self._pruned_at, key),
            )
        return key

    def _pruned_at(self, key: str, epoch: int, threshold: float) -> None:
        self._pruned.add(key)
        self._outbox.submit(Op("record_pruning", (key, int(epoch), float(threshold))))

    def _close(self, verdict: Verdict) -> None:
        current, self._current = self._current, None
        _open_recorders.discard(self)
        if current is None:
            return
        if not current.keys:  # failed before any fit, or a run_trial that fits nothing
            self._start_run(current)
        values = _values(current.trial)
        for key in current.keys:
            # A pruned execution keeps keras-tuner's score; failed or invalid stay so.
            pruned = key in self._pruned and verdict.status == "completed"
            self._pruned.discard(key)
            self._outbox.submit(Op("log_hyperparameters", (key, values)))
            self._outbox.submit(
                Op(
                    "finish_run",
                    (key, "pruned" if pruned else verdict.status),
                    {
                        "error": verdict.error,
                        "score": verdict.score,
                        "ended_at": current.ended.get(key) or writes.utcnow(),
                    },
                )
            )
            self._outbox.close_run(key)
        self._outbox.flush(TRIAL_END_WAIT_S, retry_now=False)

    def _next_attempt(self, trial_id: str) -> int:
        """One more than the latest attempt of this trial id in the experiment: a retry, or
        the same id in a new search of the same project (keras-tuner reuses "00", "01"...)."""
        attempt = self._attempts.get(trial_id, -1) + 1
        # Else the database is away, or hangs: count locally (never wait on the search thread).
        if self._outbox.pending == 0 and self._outbox.answering:
            try:
                found = self._outbox.repository.next_attempt(self.experiment, trial_id)
                attempt = max(attempt, found)
            except Exception as exc:  # the outbox warns when its writes fail too
                log.debug("tracking: could not read earlier attempts: %s", exc)
        self._attempts[trial_id] = attempt
        return attempt

    def warn_once(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            log.warning("tracking: %s", message)
            warnings.warn(f"tracking: {message}", TrackingWarning, stacklevel=3)


def _values(trial) -> dict[str, Any]:
    hyperparameters = getattr(trial, "hyperparameters", None)
    return plain_hyperparameters(getattr(hyperparameters, "values", None) or {}, stacklevel=4)


class ExecutionCallback(keras.callbacks.Callback):
    """Injected into the ``fit`` of every execution: one run per ``fit``. Its deep copies
    share the recorder (keras-tuner copies callbacks for each execution)."""

    def __init__(self, recorder: TrialRecorder) -> None:
        super().__init__()
        self._recorder = recorder
        self._key: str | None = None
        self._started = False
        self.used = False  # whether any copy's hook ran (a fit took the callbacks)

    def __deepcopy__(self, memo: dict) -> ExecutionCallback:
        copy = type(self)(self._recorder)
        copy._original = self  # tells the original when a copy is used
        return copy

    def _begin(self) -> None:
        self._started = True
        for callback in (self, getattr(self, "_original", None)):
            if callback is not None:
                callback.used = True
        self._key = self._safely(self._recorder.execution_started)

    def on_train_begin(self, logs=None) -> None:
        self._begin()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if not self._started:  # a custom training loop that calls only on_epoch_end
            self._begin()
        if self._key is not None:
            if self._safely(self._recorder.epoch_ended, self._key, epoch, logs):
                self.model.stop_training = True  # pruned

    def on_train_end(self, logs=None) -> None:
        if self._key is not None:
            self._safely(self._recorder.execution_ended, self._key)

    def _safely(self, hook, *args):
        try:
            return hook(*args)
        except Exception as exc:  # tracking never fails a trial
            self._recorder.warn_once(hook.__name__, f"{hook.__name__} failed: {exc!r}")
            return None


@atexit.register
def _fail_open_trials() -> None:
    """A trial still open when the process exits is recorded as failed, not left running."""
    for recorder in list(_open_recorders):
        try:
            recorder.search_stopped("the process exited before the trial ended")
        except Exception:
            pass
