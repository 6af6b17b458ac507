"""Read types as JSON: dataclasses as objects, datetimes as ISO 8601 strings, and NaN and
infinities (which JSON cannot hold) as ``null`` with their kind beside them.

A non-finite float under key ``k`` becomes ``"k": null, "k_kind": "nan"`` (or ``"+inf"``,
``"-inf"``); inside a list, the list gets a sibling ``"k_kinds"`` holding each item's kind
(None for the finite ones).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from typing import Any


def kind_of(value: float) -> str | None:
    """``nan``, ``+inf`` or ``-inf`` for a non-finite float, else None."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return None


def _non_finite(value: Any) -> str | None:
    if isinstance(value, float):
        return kind_of(value)
    if type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind == "f":
        return kind_of(float(value))
    return None


def to_json(value: Any) -> Any:
    """``value`` (read types, dicts, lists, numbers, datetimes) as JSON-ready Python."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _mapping({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, (list, tuple)):
        return [None if _non_finite(item) else to_json(item) for item in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if kind_of(value) else value
    if hasattr(value, "item"):  # a numpy scalar
        return _scalar(value.item())
    if value is getattr(value, "NA", object()) or str(value) in ("<NA>", "NaT"):
        return None
    return str(value)


def _mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        key = str(key)
        kind = _non_finite(item)
        if kind:
            out[key], out[f"{key}_kind"] = None, kind
            continue
        out[key] = to_json(item)
        if isinstance(item, (list, tuple)) and any(_non_finite(i) for i in item):
            out[f"{key}_kinds"] = [_non_finite(i) for i in item]
    return out
