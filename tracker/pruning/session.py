"""``PruningSession``: one run's pruning, as the training side drives it.

After each epoch the training thread gives the session the epoch's logs (``after_epoch``): it
keeps the run's best value so far, compares it with a threshold asked of the database in
advance, and says whether to stop. It never waits and never raises:

* the threshold for the next judged epoch is asked for (on the pruning thread) as soon as the
  previous epoch ends, so it is usually ready when the epoch it is for ends, and the decision
  is immediate;
* when it is not ready yet, the decision is taken at the end of the following epoch, with the
  best value as it was at the judged epoch: **a run is stopped at most one epoch late**; a
  threshold that takes longer than that is dropped (no decision for that epoch);
* the threshold reflects what the database held when asked: another worker's run counts at
  epoch E once its epoch E was written;
* with the database down, too few runs, or no such metric, nothing is pruned.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from ..store.repository import Repository
from ..store.values import infer_direction
from . import background
from .pruners import PercentilePruner

log = logging.getLogger("tracker")
_repositories: dict[str, Repository] = {}


class PruningSession:
    """The pruning of run ``key`` of ``experiment`` at ``url``.

    ``metric`` / ``direction``: the defaults when the pruner names none (``track`` passes the
    tuner's objective). ``on_prune(epoch, threshold)`` is called once, on the training thread,
    when the run is to stop.

    >>> session = PruningSession(MedianPruner(), url, "mnist", key)   # doctest: +SKIP
    >>> stop = session.after_epoch(epoch, logs)                      # in on_epoch_end
    """

    def __init__(
        self,
        pruner: PercentilePruner,
        url: str,
        experiment: str,
        key: str,
        *,
        metric: str | None = None,
        direction: str | None = None,
        on_prune: Callable[[int, float], None] | None = None,
    ) -> None:
        self.pruner = pruner
        self.url = url
        self.experiment = experiment
        self.key = key
        self.metric = pruner.metric or metric
        self.direction = pruner.direction or (direction if self.metric == metric else None)
        self.on_prune = on_prune
        self.pruned: tuple[int, float] | None = None  # (epoch, threshold) once decided
        self._tracked: str | None = None  # the metric whose best the training thread keeps
        self._high = self._low = None
        self._seen = False
        self._logs_metric: str | None = None
        self._objective_read = False
        self._ahead: tuple[int, Future] | None = None
        self._late: tuple[int, float | None, float | None, Future] | None = None
        first = pruner.next_judged(0)
        # Without a metric yet (a plain fit: the experiment's objective, else the logs' val_loss
        # or loss), the first threshold is asked once the first epoch's logs are seen.
        self._ahead = (first, self._ask(first)) if self.metric is not None else None

    # -- training thread --------------------------------------------------------------------

    def after_epoch(self, epoch: int, logs: Mapping[str, Any] | None) -> bool:
        """Take epoch ``epoch``'s logs; True when the run should stop now."""
        try:
            return self._after_epoch(int(epoch), logs or {})
        except Exception as exc:  # never into training
            log.debug("tracking: pruning skipped an epoch: %r", exc)
            return False

    def close(self) -> None:
        """The run ended: answers still on their way are not wanted."""
        pending = (self._ahead, self._late)
        self._ahead = self._late = None
        for waiting in pending:
            if waiting is not None:
                waiting[-1].cancel()

    def _after_epoch(self, epoch: int, logs: Mapping[str, Any]) -> bool:
        if self.pruned is not None:
            return True
        self._keep_best(logs)
        late, self._late = self._late, None
        if late is not None:
            judged, high, low, future = late
            if future.done():
                if self._judge(judged, high, low, future.result()):
                    return True
            else:  # more than one epoch late: dropped
                future.cancel()
        if self.pruner.judges(epoch):
            ahead = self._ahead
            if ahead is not None and ahead[0] == epoch:
                self._ahead, future = None, ahead[1]
            else:  # not asked in advance: the metric was not known before the first epoch
                future = self._ask(epoch)
            if not future.done():
                self._late = (epoch, self._high, self._low, future)
            elif self._judge(epoch, self._high, self._low, future.result()):
                return True
        following = self.pruner.next_judged(epoch + 1)
        if self._ahead is None or self._ahead[0] != following:
            if self._ahead is not None:
                self._ahead[1].cancel()
            self._ahead = (following, self._ask(following))
        return False

    def _keep_best(self, logs: Mapping[str, Any]) -> None:
        if self._logs_metric is None:
            self._logs_metric = "val_loss" if "val_loss" in logs else "loss"
        metric = self.metric or self._logs_metric
        if metric != self._tracked:  # first epoch, or the objective became known
            self._tracked, self._high, self._low, self._seen = metric, None, None, False
        raw = logs.get(metric)
        if raw is None:
            return
        self._seen = True
        value = float(raw)
        if math.isfinite(value):
            if self._high is None or value > self._high:
                self._high = value
            if self._low is None or value < self._low:
                self._low = value

    def _judge(self, epoch: int, high, low, answer) -> bool:
        if answer is None or not self._seen:
            return False
        threshold, metric, direction = answer
        if metric != self._tracked:
            return False
        best = high if direction == "max" else low
        if not self.pruner.worse(best, threshold, direction):
            return False
        self.pruned = (epoch, threshold)
        if self.on_prune is not None:
            try:
                self.on_prune(epoch, threshold)
            except Exception as exc:
                log.debug("tracking: pruning not recorded: %r", exc)
        return True

    def _ask(self, epoch: int) -> Future:
        return background.submit(self._threshold, epoch)

    # -- pruning thread ---------------------------------------------------------------------

    def _threshold(self, epoch: int) -> tuple[float, str, str] | None:
        if background.is_down(self.url):
            return None
        try:
            repo = _repository(self.url)
            metric, direction = self._target(repo)
            if metric is None or direction is None:
                return None
            others = repo.bests_up_to(
                self.experiment, metric, epoch, direction=direction, exclude_key=self.key
            )
        except Exception as exc:
            background.mark_down(self.url)
            log.debug("tracking: pruning threshold unavailable: %r", exc)
            return None
        background.mark_up(self.url)
        threshold = self.pruner.threshold(others, direction)
        return None if threshold is None else (threshold, metric, direction)

    def _target(self, repo: Repository) -> tuple[str | None, str | None]:
        if self.metric is None and not self._objective_read:
            self._objective_read = True
            objective, objective_direction = repo.pruning_objective(self.experiment)
            if objective is not None:
                self.metric = objective
                self.direction = self.direction or objective_direction
        metric = self.metric or self._logs_metric
        if metric is None:
            return None, None
        if self.direction is None:
            try:
                self.direction = infer_direction(metric)
            except Exception:
                return metric, None
        return metric, self.direction


def _repository(url: str) -> Repository:
    repo = _repositories.get(url)
    if repo is None:
        repo = _repositories[url] = Repository(url, fail_fast=True)
    return repo
