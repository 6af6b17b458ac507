"""The pruning queries' thread: one daemon thread per process runs them in order, so that the
training thread only enqueues a request and later looks at its answer.

A request whose answer is no longer wanted (cancelled) is skipped, so a slow or absent
database never piles up work; after a database error the URL is left alone for a while
(``DOWN_FOR_S``): nothing is pruned meanwhile, and training never notices.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger("tracker")
DOWN_FOR_S = 30.0

_lock = threading.Lock()
_queue: queue.SimpleQueue | None = None
_pid = 0
_down_until: dict[str, float] = {}


def submit(work: Callable[..., Any], *args: Any) -> Future:
    """Run ``work(*args)`` on the pruning thread; the future's result is its return value, or
    None when it raised (logged at debug level): a failed query means "no decision"."""
    future: Future = Future()
    _requests().put((future, work, args))
    return future


def is_down(url: str) -> bool:
    """Whether a recent error at ``url`` says to skip it for now."""
    until = _down_until.get(url)
    return until is not None and time.monotonic() < until


def mark_down(url: str) -> None:
    _down_until[url] = time.monotonic() + DOWN_FOR_S


def mark_up(url: str) -> None:
    _down_until.pop(url, None)


def _requests() -> queue.SimpleQueue:
    global _queue, _pid
    pid = os.getpid()
    requests = _queue
    if requests is not None and _pid == pid:
        return requests
    with _lock:  # first use in this process (or in a forked child: threads do not survive)
        if _queue is None or _pid != pid:
            _queue, _pid = queue.SimpleQueue(), pid
            threading.Thread(
                target=_serve, args=(_queue,), name="tracker-pruning", daemon=True
            ).start()
        return _queue


def _serve(requests: queue.SimpleQueue) -> None:
    while True:
        future, work, args = requests.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            result = work(*args)
        except BaseException as exc:  # a query never takes the thread down
            log.debug("tracking: pruning query failed: %r", exc)
            result = None
        future.set_result(result)
