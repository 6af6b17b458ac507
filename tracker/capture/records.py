"""The records a journal may hold: the writes the callback and the tuner recorder make
(``start_run``, ``log_epoch``, ``log_hyperparameters``, ``finish_run``, ``record_pruning``),
checked field by field before they are journaled and again when they are read back.

A journal is data, never code: replay dispatches on the record's type through the table
below, with arguments rebuilt from checked fields. A method name or an argument list read
from a file is never called; an unknown type, an unknown or ill-typed field, a value too long
for its column is ``BadRecord``, which the outbox and ``tracker sync`` set aside (see
``deadletter``) instead of writing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any

from ..errors import TrackerError
from ..store.models import RunStatus
from ..store.repository import Repository
from ..store.values import MAX_NAME_LENGTH
from .journal import Op

KEY_LENGTH = 36  # runs.key
SOURCE_LENGTH = 32  # runs.source
MAX_DEPTH = 32  # nesting of a hyperparameter value (lists, dicts)
_FINAL = frozenset(s.value for s in RunStatus) - {RunStatus.RUNNING.value}


class BadRecord(TrackerError, ValueError):
    """A record that no database would take as it is: set aside, never retried."""


def _text(limit: int | None, *, optional: bool = False) -> Callable[[str, Any], None]:
    def check(field: str, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            raise BadRecord(f"{field} must be text, not {type(value).__name__}")
        if limit is not None and len(value) > limit:
            raise BadRecord(
                f"{field} {value[:40]!r}... is {len(value)} characters long (at most {limit})"
            )

    return check


def _count(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= value < 2**31:
        raise BadRecord(f"{field} must be a whole number from 0, not {value!r}")


def _flag(field: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise BadRecord(f"{field} must be true or false, not {value!r}")


def _time(field: str, value: Any) -> None:
    if value is not None and not isinstance(value, dt.datetime):
        raise BadRecord(f"{field} must be a time, not {type(value).__name__}")


def _number(field: str, value: Any) -> None:
    # Real: NumPy's scalars too (a tuner's score may be one).
    if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
        raise BadRecord(f"{field} must be a number, not {type(value).__name__}")


def _one_of(choices: frozenset[str], *, optional: bool = False) -> Callable[[str, Any], None]:
    def check(field: str, value: Any) -> None:
        if not (value is None and optional) and value not in choices:
            raise BadRecord(f"{field} must be one of {sorted(choices)}, not {value!r}")

    return check


def _plain(field: str, value: Any, depth: int = 0) -> None:
    """JSON-like data only: what ``plain_hyperparameters`` produces."""
    if depth > MAX_DEPTH:
        raise BadRecord(f"{field} is nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (str, bool, int, float)):
        return
    if isinstance(value, list):
        for item in value:
            _plain(field, item, depth + 1)
    elif isinstance(value, dict):
        for name, item in value.items():
            _text(None)(f"a key of {field}", name)
            _plain(field, item, depth + 1)
    else:
        raise BadRecord(f"{field} holds a {type(value).__name__}, not plain data")


def _names(values_are: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    def check(field: str, value: Any) -> None:
        if not isinstance(value, dict):
            raise BadRecord(f"{field} must be a mapping, not {type(value).__name__}")
        for name, item in value.items():
            _text(MAX_NAME_LENGTH)(f"a name of {field}", name)
            values_are(f"{field}[{name[:40]!r}]", item)

    return check


def _optional(check: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    return lambda field, value: None if value is None else check(field, value)


_key = _text(KEY_LENGTH)
_label = _text(MAX_NAME_LENGTH, optional=True)

# type -> (positional fields, keyword fields, keyword fields that must be present)
_SPECS: dict[str, tuple[tuple[tuple[str, Callable], ...], dict[str, Callable], frozenset]] = {
    "start_run": (
        (("experiment", _text(MAX_NAME_LENGTH)),),
        {
            "hyperparameters": _names(_plain),
            "key": _key,
            "name": _label,
            "source": _text(SOURCE_LENGTH, optional=True),
            "started_at": _time,
            "trial_id": _label,
            "execution": _count,
            "attempt": _count,
            "worker": _label,
            "objective": _label,
            "direction": _one_of(frozenset({"min", "max"}), optional=True),
            "history_complete": _flag,
            "tags": _optional(_names(_plain)),
        },
        frozenset({"key"}),
    ),
    "log_epoch": (
        (("key", _key), ("epoch", _count), ("metrics", _names(_number))),
        {"at": _time},
        frozenset(),
    ),
    "log_hyperparameters": (
        (("key", _key), ("hyperparameters", _names(_plain))),
        {},
        frozenset(),
    ),
    "finish_run": (
        (("key", _key), ("status", _one_of(_FINAL))),
        {"error": _text(None, optional=True), "score": _number, "ended_at": _time},
        frozenset(),
    ),
    "record_pruning": (
        (("key", _key), ("epoch", _count), ("threshold", _number)),
        {},
        frozenset(),
    ),
}
KINDS = tuple(_SPECS)

# How each type is written: a fixed table of the repository's methods, never getattr(name).
_WRITERS: dict[str, Callable[..., Any]] = {
    "start_run": Repository.start_run,
    "log_epoch": Repository.log_epoch,
    "log_hyperparameters": Repository.log_hyperparameters,
    "finish_run": Repository.finish_run,
    "record_pruning": Repository.record_pruning,
}


def check(op: Op) -> Op:
    """``op`` when it is one of the known records with valid fields, else ``BadRecord``
    naming what is wrong.

    >>> check(Op("drop_everything", ()))                                  # doctest: +SKIP
    BadRecord: unknown record type 'drop_everything' (journals hold only start_run, ...)
    """
    spec = _SPECS.get(op.method) if isinstance(op.method, str) else None
    if spec is None:
        raise BadRecord(
            f"unknown record type {str(op.method)[:40]!r} (journals hold only {', '.join(KINDS)})"
        )
    positional, keywords, required = spec
    if not isinstance(op.args, tuple) or len(op.args) != len(positional):
        raise BadRecord(f"{op.method} needs {len(positional)} positional field(s)")
    if not isinstance(op.kwargs, Mapping):
        raise BadRecord(f"{op.method}: its fields must be a mapping")
    for (field, check_field), value in zip(positional, op.args, strict=True):
        check_field(field, value)
    for field, value in op.kwargs.items():
        check_field = keywords.get(field) if isinstance(field, str) else None
        if check_field is None:
            raise BadRecord(f"{op.method} has no field {str(field)[:40]!r}")
        check_field(field, value)
    missing = required - set(op.kwargs)
    if missing:
        raise BadRecord(f"{op.method} lacks {', '.join(sorted(missing))}")
    return op


def apply(repository: Repository, op: Op) -> None:
    """Write the checked record ``op`` through ``repository``."""
    check(op)
    _WRITERS[op.method](repository, *op.args, **op.kwargs)


def run_key(op: Op) -> str | None:
    """The client key of the run ``op`` writes to (None when a damaged record has none)."""
    if op.method == "start_run":
        key = op.kwargs.get("key") if isinstance(op.kwargs, dict) else None
    else:
        key = op.args[0] if isinstance(op.args, (tuple, list)) and op.args else None
    return key if isinstance(key, str) else None


def describe(op: Op) -> str:
    """A short label for messages: ``log_epoch 3 of run <key>``."""
    key = run_key(op) or "?"
    if op.method == "log_epoch" and len(op.args) > 1:
        return f"log_epoch {op.args[1]!r} of run {key}"
    return f"{str(op.method)[:40]} of run {key[:40]}"
