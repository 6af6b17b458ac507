"""How Python values become rows and back: metric values, typed hyperparameters, names,
and which direction of a metric is better."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

from .errors import DirectionError
from .models import HyperparameterKind, ValueKind

MAX_NAME_LENGTH = 255

_SPECIAL = {ValueKind.NAN: math.nan, ValueKind.POS_INF: math.inf, ValueKind.NEG_INF: -math.inf}


class UnsupportedValue(ValueError):
    """A value that cannot be stored as what it claims to be (the message says why)."""


def check_name(name: Any, what: str = "name") -> str:
    """A metric or hyperparameter name as stored, or ``UnsupportedValue`` saying what is wrong."""
    if not isinstance(name, str):
        raise UnsupportedValue(f"{what} {name!r} is not a string")
    if not name:
        raise UnsupportedValue(f"empty {what}")
    if len(name) > MAX_NAME_LENGTH:
        raise UnsupportedValue(
            f"{what} {name[:40]!r}... is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
        )
    if "\x00" in name:
        raise UnsupportedValue(f"{what} {name!r} contains a NUL character")
    return name


# -- metric values ----------------------------------------------------------------------------


def encode_metric(value: Any) -> tuple[float | None, int]:
    """``(value, value_kind)`` as stored: finite floats in ``value``; NaN and +/-inf as NULL plus
    their kind. Accepts Python and NumPy numbers and 0-d arrays or tensors."""
    if isinstance(value, (str, bytes)) or value is None:
        raise UnsupportedValue(f"{value!r} is not a number")
    try:
        number = float(value)
    except Exception as exc:  # TypeError, ValueError, or whatever a tensor type raises
        raise UnsupportedValue(f"{_short(value)} is not a number") from exc
    if math.isfinite(number):
        return number, ValueKind.FINITE
    if math.isnan(number):
        return None, ValueKind.NAN
    return None, ValueKind.POS_INF if number > 0 else ValueKind.NEG_INF


def decode_metric(value: float | None, kind: int) -> float:
    """The float a stored metric row stands for."""
    if kind == ValueKind.FINITE:
        return float(value)
    return _SPECIAL[ValueKind(kind)]


# -- hyperparameters --------------------------------------------------------------------------


def encode_hyperparameter(value: Any) -> tuple[str, float | None, str | None]:
    """``(kind, num_value, text_value)``: the text holds the exact value, the number serves
    ``GROUP BY`` and range filters in SQL (None where it is not a finite number)."""
    try:
        return _encode_hyperparameter(value)
    except UnsupportedValue:
        raise
    except Exception as exc:
        raise UnsupportedValue(f"{_short(value)} cannot be stored: {exc}") from exc


def _encode_hyperparameter(value: Any) -> tuple[str, float | None, str | None]:
    if value is None:
        return HyperparameterKind.NONE.value, None, None
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        flag = bool(value)
        return HyperparameterKind.BOOL.value, float(flag), "true" if flag else "false"
    if isinstance(value, numbers.Integral):
        number = int(value)
        return HyperparameterKind.INT.value, float(number), str(number)
    if isinstance(value, numbers.Real):
        number = float(value)
        return HyperparameterKind.FLOAT.value, number if math.isfinite(number) else None, repr(
            number
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise UnsupportedValue(f"{value!r} contains a NUL character")
        return HyperparameterKind.STR.value, None, value
    if isinstance(value, (list, tuple, dict)):
        try:
            text = json.dumps(value, allow_nan=True, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise UnsupportedValue(f"{_short(value)} cannot be stored as JSON") from exc
        return HyperparameterKind.JSON.value, None, text
    raise UnsupportedValue(f"{_short(value)} of type {type(value).__name__} is not supported")


def decode_hyperparameter(kind: str, num_value: float | None, text_value: str | None) -> Any:
    """The typed value a stored hyperparameter row stands for."""
    if kind == HyperparameterKind.INT.value:
        return int(text_value)
    if kind == HyperparameterKind.FLOAT.value:
        return float(text_value)
    if kind == HyperparameterKind.BOOL.value:
        return text_value == "true"
    if kind == HyperparameterKind.NONE.value:
        return None
    if kind == HyperparameterKind.JSON.value:
        return json.loads(text_value)
    return text_value


def hyperparameter_sort_key(kind: str, num_value: float | None, text_value: str | None) -> tuple:
    """Numbers first in numeric order, then everything else by text."""
    if num_value is not None:
        return (0, num_value, "")
    return (1, 0.0, text_value or "")


# -- direction --------------------------------------------------------------------------------

_MIN_WORDS = ("loss", "error", "crossentropy", "hinge", "divergence", "poisson", "cosh")
_MIN_NAMES = {"mae", "mse", "mape", "msle", "rmse", "logcosh", "perplexity", "wer", "cer"}
_MAX_WORDS = ("accuracy", "auc", "precision", "recall", "f1", "fbeta", "iou", "score", "r2")
_MAX_NAMES = {"acc", "top_k_categorical_accuracy", "map", "ndcg", "psnr", "ssim", "dice"}


def infer_direction(metric: str) -> str:
    """``"min"`` or ``"max"`` for a metric name, as keras-tuner infers it: losses and errors are
    minimised, accuracies and scores maximised. Raises ``DirectionError`` when unsure.

    >>> infer_direction("val_loss"), infer_direction("val_accuracy")
    ('min', 'max')
    """
    base = metric.lower()
    for prefix in ("val_", "validation_", "test_", "train_"):
        if base.startswith(prefix):
            base = base[len(prefix) :]
    if base in _MIN_NAMES or any(word in base for word in _MIN_WORDS):
        return "min"
    if base in _MAX_NAMES or any(word in base for word in _MAX_WORDS):
        return "max"
    raise DirectionError(
        f"cannot tell whether a higher or lower {metric!r} is better: pass mode='max' or 'min'"
        " (--mode on the command line)"
    )


def check_mode(mode: str) -> str:
    if mode not in ("min", "max"):
        raise DirectionError(f"mode must be 'min' or 'max', not {mode!r}")
    return mode


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_cli_value(text: str) -> Any:
    """A typed value from the command line: int, float, true/false, none, else the string.

    >>> parse_cli_value("32"), parse_cli_value("1e-3"), parse_cli_value("adam")
    (32, 0.001, 'adam')
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text
