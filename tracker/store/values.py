"""How Python values become rows and back: metric values, typed hyperparameters, names,
and which direction of a metric is better."""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import DirectionError, TrackingWarning
from .models import HyperparameterKind, ValueKind

MAX_NAME_LENGTH = 255

_SPECIAL = {ValueKind.NAN: math.nan, ValueKind.POS_INF: math.inf, ValueKind.NEG_INF: -math.inf}


class UnsupportedValue(ValueError):
    """A value that cannot be stored as what it claims to be (the message says why)."""


def check_name(name: Any, what: str = "name") -> str:
    """A metric or hyperparameter name as stored, or ``UnsupportedValue`` saying what is wrong."""
    if not isinstance(name, str):
        raise UnsupportedValue(f"{what} {_short(name)} is not a string")
    if not name:
        raise UnsupportedValue(f"empty {what}")
    if len(name) > MAX_NAME_LENGTH:
        raise UnsupportedValue(
            f"{what} {name[:40]!r}... is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
        )
    if "\x00" in name:
        raise UnsupportedValue(f"{what} {_short(name)} contains a NUL character")
    _check_encodable(name, what)
    return name


def _check_encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedValue(
            f"{what} {_short(text)} is not valid Unicode (it holds a lone surrogate)"
        ) from None


# -- metric values ----------------------------------------------------------------------------


def encode_metric(value: Any) -> tuple[float | None, int]:
    """``(value, value_kind)`` as stored: finite floats in ``value``; NaN and +/-inf as NULL plus
    their kind. Accepts Python and NumPy numbers and 0-d arrays or tensors."""
    try:
        return _encode_metric(value)
    except UnsupportedValue:
        raise
    except Exception as exc:  # whatever a strange object raises on inspection
        raise UnsupportedValue(f"{_short(value)} is not a number") from exc


def _encode_metric(value: Any) -> tuple[float | None, int]:
    if isinstance(value, (str, bytes)) or value is None:
        raise UnsupportedValue(f"{_short(value)} is not a number")
    shape = getattr(value, "shape", None)
    if shape is not None and len(tuple(shape)) > 0:
        raise UnsupportedValue(f"{_short(value)} is not a single number (shape {tuple(shape)})")
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
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()  # a 0-d NumPy array: its Python scalar
    if value is None:
        return HyperparameterKind.NONE.value, None, None
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        flag = bool(value)
        return HyperparameterKind.BOOL.value, float(flag), "true" if flag else "false"
    if isinstance(value, numbers.Integral):
        number = int(value)
        # An int beyond float range keeps its exact text; only the numeric column stays empty.
        approx = float(number) if abs(number) < 2**1023 else None
        return HyperparameterKind.INT.value, approx, str(number)
    if isinstance(value, numbers.Real):
        number = float(value)
        return HyperparameterKind.FLOAT.value, number if math.isfinite(number) else None, repr(
            number
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise UnsupportedValue(f"{_short(value)} contains a NUL character")
        _check_encodable(value, "text")
        return HyperparameterKind.STR.value, None, value
    if isinstance(value, (list, tuple, dict)):
        if not _json_keys_are_text(value):
            raise UnsupportedValue(f"{_short(value)} has a dict key that is not a string")
        try:
            text = json.dumps(value, allow_nan=True, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise UnsupportedValue(f"{_short(value)} cannot be stored as JSON") from exc
        return HyperparameterKind.JSON.value, None, text
    raise UnsupportedValue(f"{_short(value)} of type {type(value).__name__} is not supported")


def plain_metrics(
    metrics: Mapping[Any, Any], epoch: int, *, stacklevel: int = 2
) -> tuple[dict[str, float], list[Any]]:
    """``metrics`` as plain floats (NaN and +/-inf included), ready to store or journal, and the
    names skipped: each skipped name (bad name, or a value that is not one number) gets a
    ``TrackingWarning`` naming it.

    >>> plain_metrics({"loss": np.float32(0.5), "lr": None}, 0)   # doctest: +SKIP
    ({'loss': 0.5}, ['lr'])                                        # and one warning about 'lr'
    """
    plain: dict[str, float] = {}
    skipped = []
    for name, raw in metrics.items():
        try:
            check_name(name, "metric name")
            plain[name] = decode_metric(*encode_metric(raw))
        except UnsupportedValue as exc:
            message = f"metric {_short(name)} at epoch {epoch} not recorded: {exc}"
            warnings.warn(message, TrackingWarning, stacklevel + 1)
            skipped.append(name)
    return plain, skipped


def plain_hyperparameters(
    hyperparameters: Mapping[Any, Any], *, stacklevel: int = 2
) -> dict[str, Any]:
    """``hyperparameters`` as plain Python values of their stored type (int, float, bool, str,
    None, lists and dicts), ready to store or journal; what cannot be stored is skipped with a
    ``TrackingWarning`` naming it.

    >>> plain_hyperparameters({"units": np.int64(32), "act": "relu"})   # doctest: +SKIP
    {'units': 32, 'act': 'relu'}
    """
    plain: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        try:
            check_name(name, "hyperparameter name")
            plain[name] = decode_hyperparameter(*encode_hyperparameter(value))
        except UnsupportedValue as exc:
            message = f"hyperparameter {_short(name)} not recorded: {exc}"
            warnings.warn(message, TrackingWarning, stacklevel + 1)
    return plain


def hyperparameter_rows(hyperparameters: Mapping[str, Any]) -> list[tuple]:
    """``(name, kind, num_value, text_value)`` rows of ``hyperparameters`` as stored; what
    cannot be stored is skipped with a warning pointing at the repository's caller."""
    plain = plain_hyperparameters(hyperparameters, stacklevel=3)
    return [(name, *encode_hyperparameter(value)) for name, value in plain.items()]


def epoch_metric_rows(metrics: Mapping[str, Any], epoch: int) -> tuple[list[dict], list[str]]:
    """One epoch's metrics as ``epoch_metrics`` rows (dicts without ``run_id``), and the names
    skipped (each with a warning pointing at the repository's caller)."""
    plain, skipped = plain_metrics(metrics, epoch, stacklevel=3)
    rows = []
    for name, number in plain.items():
        value, kind = encode_metric(number)
        rows.append({"epoch": int(epoch), "name": name, "value": value, "value_kind": int(kind)})
    return rows, skipped


def _json_keys_are_text(value: Any) -> bool:
    # JSON turns {1: 2} into {"1": 2}: it would not read back as what was given.
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_keys_are_text(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_json_keys_are_text(v) for v in value)
    return True


def decode_hyperparameter(kind: str, num_value: float | None, text_value: str | None) -> Any:
    """The typed value a stored hyperparameter row stands for; a row whose text is not what
    its kind says (written by another tool: an int of 5,000 digits, broken JSON) reads back
    as its text rather than failing every read of the database."""
    try:
        return _DECODERS.get(kind, _as_text)(text_value)
    except (TypeError, ValueError):
        return text_value


def _as_text(text: str | None) -> str | None:
    return text


# Plain strings as keys: every read of hyperparameters goes through this, and an Enum's
# ``.value`` lookup costs more than the conversion itself.
_DECODERS = {
    HyperparameterKind.INT.value: int,
    HyperparameterKind.FLOAT.value: float,
    HyperparameterKind.BOOL.value: lambda text: text == "true",
    HyperparameterKind.NONE.value: lambda text: None,
    HyperparameterKind.JSON.value: json.loads,
}


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
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break tracking
        text = f"<{type(value).__name__}>"
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
