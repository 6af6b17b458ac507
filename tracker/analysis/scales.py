"""How a hyperparameter's values are laid out for analysis: as numbers (on a log scale when
they spread over decades, like a learning rate) or as categories (text, booleans, lists, mixed
kinds), and which runs lack it. Importance, parallel coordinates and the other plots share
these rules, so a hyperparameter is "log-spread" or "a category" in the same way everywhere.

>>> log_scaled([1e-4, 1e-3, 1e-2])
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MISSING = "(none)"  # the label of "this run does not have the hyperparameter"


def is_number(value: Any) -> bool:
    """An int or float, not a bool, that a float can hold: an int beyond float range (a
    hyperparameter 10**400) is shown as its text, like a category, rather than crash."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not isinstance(value, int) or abs(value) < FLOAT_LIMIT


FLOAT_LIMIT = 2**1023  # ints at least this large overflow float() (or nearly: not worth it)


def sort_key(value: Any) -> tuple:
    """Numbers in numeric order first, then everything else by its text."""
    if is_number(value):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def hashable(values: pd.Series) -> pd.Series:
    """Lists and dicts (JSON hyperparameters) as their JSON text, so they can be grouped."""
    if values.dtype != object:
        return values
    return values.map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (list, dict))
                      else v)


def log_scaled(values) -> bool:
    """Whether positive numbers spread over decades and bunch at the low end on a linear axis
    (a learning rate, a batch size doubling): then a log axis shows them evenly."""
    distinct = sorted({float(v) for v in values if is_number(v) and math.isfinite(v)})
    if len(distinct) < 3 or distinct[0] <= 0 or distinct[-1] / distinct[0] < 10:
        return False
    middle = distinct[len(distinct) // 2] if len(distinct) % 2 else (
        distinct[len(distinct) // 2 - 1] * distinct[len(distinct) // 2]) ** 0.5
    return (middle - distinct[0]) / (distinct[-1] - distinct[0]) < 0.25


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter over some runs, ready to analyse or draw.

    ``numeric``: ``position`` holds the values (their log10 when ``log``), NaN where a run
    lacks the hyperparameter. Otherwise a category: ``categories`` are the distinct values in
    order (their text; ``MISSING`` last when some runs lack it) and ``position`` each run's
    index into them. ``present`` counts the runs that have it; ``ordered`` says whether the
    order means something (numbers, booleans), so that a rank correlation does.
    """

    name: str
    numeric: bool
    log: bool
    position: np.ndarray
    categories: tuple[str, ...]
    missing: np.ndarray
    ordered: bool

    @property
    def present(self) -> int:
        return int((~self.missing).sum())

    def value_at(self, position: float) -> float:
        """The hyperparameter's value at a position of a numeric dimension."""
        return 10 ** position if self.log else position


def dimension(name: str, values: pd.Series) -> Dimension | None:
    """``values`` (one per run, missing as NA) as a Dimension, or None when they do not vary
    (the same value in every run, or no value at all).

    Numbers (ints and floats) with at least two distinct values are numeric, on a log scale
    when ``log_scaled`` says so; text, booleans, lists and mixed kinds are categories.
    """
    import numpy as np

    values = hashable(values)
    texts = values.astype(object).tolist()
    missing = np.array([_missing(v) for v in texts], dtype=bool)
    present = [v for v, gone in zip(texts, missing, strict=True) if not gone]
    distinct = sorted(set(present), key=sort_key)
    if len(distinct) + bool(missing.any()) < 2:
        return None
    if len(distinct) >= 2 and all(is_number(v) and math.isfinite(v) for v in distinct):
        numbers = np.array([np.nan if gone else float(v) for v, gone in
                            zip(texts, missing, strict=True)], dtype="float64")
        log = log_scaled(distinct)
        position = np.log10(numbers) if log else numbers
        return Dimension(name, True, log, position, (), missing, True)
    labels = [_text(v) for v in distinct]
    index = {v: i for i, v in enumerate(distinct)}
    position = np.array([len(distinct) if gone else index[v] for v, gone in
                         zip(texts, missing, strict=True)], dtype="float64")
    if missing.any():
        labels.append(MISSING)
    ordered = all(isinstance(v, bool) for v in distinct) or all(is_number(v) for v in distinct)
    return Dimension(name, False, False, position, tuple(labels), missing, ordered)


def _missing(value: Any) -> bool:
    import pandas as pd

    found = pd.isna(value)  # None, NaN, pd.NA
    return bool(found) if getattr(found, "ndim", 0) == 0 else False  # a list: an array


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
