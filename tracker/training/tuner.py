"""``track(tuner)``: record every trial of any keras-tuner search, with one line.

keras-tuner never copies the tuner, so ``track`` wraps methods of the tuner *instance* (the
class, and so the user's subclass, is left alone):

* ``on_trial_begin``: the trial's attempt number is decided (0, then 1, 2... on retries);
* ``run_trial``: an ``ExecutionCallback`` joins the ``fit`` callbacks; keras-tuner deep-copies
  it for each execution, and each copy records one run (one per ``fit``) with every epoch.
  Tracking never changes what the search does: a ``run_trial`` whose ``**kwargs`` end in a
  function without a ``callbacks`` parameter rejects the injected keyword before any fit; the
  call is then made again as the search made it, and from then on the tuner's trials are
  recorded without epochs (said once);
* ``on_trial_end``: after keras-tuner's own end of trial (which scores the trial, may send it
  for a retry, and raises after too many consecutive failures), the final hyperparameters,
  status, error and score are recorded, in a ``finally`` so that the raise loses nothing.
  The verdict is the oracle's: the local one, or in distributed tuning the chief's, asked
  for the trial by gRPC (a worker's own copy of a trial never learns it). gRPC carries the
  score as a float32: the worker scores the metrics it sent (in full) as the chief does, and
  records that when it rounds to the chief's, so the database holds the chief's exact score;
* ``search``: an error escaping the search (Ctrl-C, a fatal keras-tuner error) marks the
  open trial failed.
"""

from __future__ import annotations

import inspect
import logging
import traceback
import warnings
from collections.abc import Mapping
from typing import Any, TypeVar

from ..errors import SchemaError, TrackingWarning
from ..pruning import PercentilePruner
from ..store.db import resolve_url
from ..store.repository import Repository
from ..store.tags import tag_rows
from .tuner_recorder import ExecutionCallback, TrialRecorder, Verdict

T = TypeVar("T")
_STATUSES = {"COMPLETED": "completed", "INVALID": "invalid", "FAILED": "failed"}
_ATTRIBUTE = "_sweep_tracker"
log = logging.getLogger("tracker")


def track(tuner: T, url: str | None = None, *, experiment: str | None = None,
          tags: Mapping[str, Any] | None = None, pruner=None) -> T:
    """Record every trial of ``tuner`` (any keras-tuner tuner, including your own subclass)
    into the database at ``url`` (else ``$TRACKER_DATABASE_URL``, else
    ``sqlite:///tracker.db``), and return the same tuner.

    Each execution of each trial becomes one run of ``experiment`` (default: the tuner's
    project name) with its trial id, execution index, retry attempt and worker, the trial's
    final hyperparameters (including those ``HyperModel.fit`` declares), every epoch's
    metrics, keras-tuner's status (``completed``, ``invalid``, ``failed`` with the error) and
    the trial's score. The experiment's objective and direction are the oracle's. ``tags``
    (text labels, e.g. ``{"stage": "baseline"}``) go on every run.

    A database problem never fails a trial: it is reported once as a ``TrackingWarning`` and
    the records are written when the database answers again. A database that was never
    migrated raises ``SchemaError`` here, before the search starts.

    ``pruner=MedianPruner()`` (``tracker.pruning``) stops executions whose best objective value
    so far is worse than the median of the other runs (of every worker) up to the same epoch;
    they are recorded ``pruned`` with keras-tuner's own score (keras-tuner still sees a
    completed trial, scored on the epochs it trained).

    >>> tuner = track(kt.RandomSearch(build_model, objective="val_accuracy",
    ...                               max_trials=20, project_name="mnist"),
    ...               "sqlite:///tracker.db")                           # doctest: +SKIP
    >>> tuner.search(x, y, epochs=10, validation_split=0.2)             # doctest: +SKIP
    """
    from keras_tuner.engine.base_tuner import BaseTuner

    if not isinstance(tuner, BaseTuner):
        raise TypeError(
            f"track() expects a keras-tuner tuner (RandomSearch, Hyperband, ...), "
            f"not {type(tuner).__name__}"
        )
    tag_rows(tags or {})  # a bad tag is an error now, not a warning per trial
    if pruner is not None and not isinstance(pruner, PercentilePruner):
        raise TypeError(f"pruner must be a tracker.pruning pruner, not {pruner!r}")
    resolved = resolve_url(url).render_as_string(hide_password=False)
    objective = getattr(tuner.oracle, "objective", None)
    direction = getattr(objective, "direction", None)
    recorder = TrialRecorder(
        resolved,
        experiment or tuner.project_name,
        objective=getattr(objective, "name", None),
        direction=direction if direction in ("min", "max") else None,
        worker=getattr(tuner, "tuner_id", None),
        tags=tags,
        pruner=pruner,
    )
    _check_database(recorder.repository())
    already = getattr(tuner, _ATTRIBUTE, None) is not None
    setattr(tuner, _ATTRIBUTE, recorder)  # tracking again replaces the destination
    if not already:
        _wrap(tuner)
    return tuner


def _check_database(repository: Repository) -> None:
    try:
        repository.engine  # noqa: B018 - checks the schema revision
    except SchemaError:
        raise
    except Exception as exc:  # unreachable now: the outbox keeps the records until it answers
        warnings.warn(
            f"tracking database not reachable yet ({exc}); the search goes on and records are "
            "written when it answers",
            TrackingWarning,
            stacklevel=3,
        )


def _recorder(tuner) -> TrialRecorder:
    return getattr(tuner, _ATTRIBUTE)


def _wrap(tuner) -> None:
    from keras_tuner import Tuner

    on_trial_begin, on_trial_end = tuner.on_trial_begin, tuner.on_trial_end
    run_trial, search = tuner.run_trial, tuner.search
    inject = isinstance(tuner, Tuner) and _accepts_callbacks(run_trial)
    _remember_sent_metrics(tuner)

    def tracked_on_trial_begin(trial, *args, **kwargs):
        _safely(tuner, "trial begin", _recorder(tuner).trial_started, trial)
        return on_trial_begin(trial, *args, **kwargs)

    def tracked_run_trial(trial, *args, **kwargs):
        nonlocal inject
        if not inject:
            return run_trial(trial, *args, **kwargs)
        callback = ExecutionCallback(_recorder(tuner))
        added = "callbacks" not in kwargs  # a key of ours, not one the search passed
        tracked = {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), callback]}
        try:
            return run_trial(trial, *args, **tracked)
        except TypeError as exc:
            if not (added and _rejects_callbacks(exc) and not callback.used):
                raise
        # The keyword we added was refused before any fit began: run the trial as the search
        # asked, and stop injecting (this run_trial cannot take callbacks).
        inject = False
        _safely(tuner, "callbacks", _recorder(tuner).warn_once, "callbacks",
                f"{type(tuner).__name__}.run_trial passes its keyword arguments to a function "
                "that takes no callbacks: trials are recorded without their epochs")
        return run_trial(trial, *args, **kwargs)

    def tracked_on_trial_end(trial, *args, **kwargs):
        try:
            return on_trial_end(trial, *args, **kwargs)
        finally:
            _safely(tuner, "trial end", _record_trial_end, tuner, trial)

    def tracked_search(*args, **kwargs):
        try:
            return search(*args, **kwargs)
        except BaseException as exc:
            message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            _safely(tuner, "search end", _recorder(tuner).search_stopped, message)
            raise
        finally:
            _safely(tuner, "search end", _recorder(tuner).flush)

    tuner.on_trial_begin = tracked_on_trial_begin
    tuner.run_trial = tracked_run_trial
    tuner.on_trial_end = tracked_on_trial_end
    tuner.search = tracked_search


def _record_trial_end(tuner, trial) -> None:
    _recorder(tuner).trial_ended(trial, verdict(tuner, trial))


def _rejects_callbacks(exc: TypeError) -> bool:
    return "unexpected keyword argument 'callbacks'" in str(exc)


_SENT = "_sweep_tracker_sent"  # on a worker's oracle client: trial id -> [(metrics, step)]


def _remember_sent_metrics(tuner) -> None:
    """On a distributed worker, keep the metrics each trial reports to the chief in full (gRPC
    turns the chief's score into a float32 on the way back)."""
    oracle = getattr(tuner, "oracle", None)
    if type(oracle).__name__ != "OracleClient" or hasattr(oracle, _SENT):
        return
    update_trial = oracle.update_trial
    sent: dict[str, list] = {}

    def remembering_update_trial(trial_id, metrics, step=0, *args, **kwargs):
        try:
            sent.setdefault(str(trial_id), []).append((dict(metrics), step))
        except Exception:  # whatever it is, keras-tuner decides what to do with it
            pass
        return update_trial(trial_id, metrics, step, *args, **kwargs)

    setattr(oracle, _SENT, sent)
    oracle.update_trial = remembering_update_trial


def full_score(tuner, trial_id: str, seen: Any) -> Any:
    """The chief's score of a trial at full precision: the worker scores the metrics it sent
    as the oracle does, and keeps that when it rounds to the float32 the chief sent back
    (``seen``); else ``seen`` as it is."""
    sent = getattr(getattr(tuner, "oracle", None), _SENT, {}).pop(str(trial_id), None)
    if not sent or seen is None:
        return seen
    try:
        import numpy as np
        from keras_tuner.src.engine import oracle as oracle_module
        from keras_tuner.src.engine import trial as trial_module

        oracle = tuner.oracle._oracle  # the worker's own copy: same objective, same scoring
        shadow = trial_module.Trial(oracle.get_space(), trial_id=str(trial_id))
        for metrics, step in sent:
            for name, value in metrics.items():
                if not shadow.metrics.exists(name):
                    shadow.metrics.register(name, direction=(
                        oracle_module._maybe_infer_direction_from_objective(oracle.objective,
                                                                            name)))
                shadow.metrics.update(name, value, step=step)
        oracle.score_trial(shadow)
        if shadow.score is not None and np.float32(shadow.score) == np.float32(seen):
            return float(shadow.score)
    except Exception as exc:  # a keras-tuner of another shape: the rounded score it is
        log.debug("tracking: could not score the trial locally: %s", exc)
    return seen


def verdict(tuner, trial) -> Verdict:
    """How keras-tuner ended this attempt of ``trial``, after ``on_trial_end``: the oracle's
    view (it scores the trial, marks a NaN score invalid, and turns an invalid trial with no
    retries left into failed), with the error message the tuner caught."""
    seen = trial
    try:
        # Locally this is the same object; a distributed worker asks the chief by gRPC.
        seen = tuner.oracle.get_trial(trial.trial_id)
    except Exception as exc:
        _recorder(tuner).warn_once("verdict", f"could not ask the oracle for the verdict: {exc}")
    status = _STATUSES.get(seen.status)
    if status is None:  # RUNNING again: sent for a retry and already handed out
        status = "invalid"
    if status == "completed" and trial.status != "COMPLETED":
        status = _STATUSES.get(trial.status, "invalid")  # a later attempt's result
    score = full_score(tuner, trial.trial_id, seen.score) if status == "completed" else None
    error = trial.message
    if status != "completed" and error is None and _is_nan(seen.score):
        error = f"keras-tuner marked the trial {status}: its score is NaN"
    return Verdict(status, score, error)


def _is_nan(value: Any) -> bool:
    try:
        return value is not None and value != value
    except Exception:
        return False


def _accepts_callbacks(method) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or p.name == "callbacks" for p in parameters)


def _safely(tuner, what: str, hook, *args) -> None:
    try:
        hook(*args)
    except Exception as exc:  # tracking never fails a trial
        try:
            _recorder(tuner).warn_once(what, f"{what} not recorded: {exc!r}")
        except Exception:
            pass
