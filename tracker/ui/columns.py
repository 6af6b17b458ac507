"""The runs table column by column (``/runs?format=columns``): the same values as the rows
of ``runs_table.rows_of``, built with one conversion per column instead of one dict per row,
which is what a 10,000-run page costs (the page turns them back into rows)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def columns_of(frame: pd.DataFrame, fields: dict[str, str]) -> dict[str, Any]:
    """``{"fields": {field: [...]}, "hyperparameters": {name: [...]}, "best": {metric: [...]},
    "last": {metric: [...]}, "last_kinds": {metric: [...]}}``: missing values and non-finite
    metrics as null; ``last_kinds`` (only for metrics with a non-finite last value) holds
    ``nan``, ``+inf`` or ``-inf`` where the value is null for that reason."""
    out: dict[str, Any] = {
        "fields": {field: plain(frame[column]) for column, field in fields.items()},
        "hyperparameters": {name: plain(frame[column])
                            for column, name in frame.attrs["hyperparameters"].items()},
        "best": {}, "last": {}, "last_kinds": {},
    }
    for metric in frame.attrs["metrics"]:
        for which in ("best", "last"):
            column = f"{metric}_{which}"
            if column not in frame.columns:
                continue
            values, kinds = _finite(frame[column])
            out[which][metric] = values
            if which == "last" and kinds is not None:
                out["last_kinds"][metric] = kinds
    return out


def _finite(series: pd.Series) -> tuple[list, list | None]:
    """The values with None for the non-finite ones, and their kinds (None: all finite)."""
    import numpy as np

    numbers = series.to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(numbers)
    values = numbers.astype(object)
    values[~finite] = None
    if finite.all():
        return values.tolist(), None
    kinds = np.where(np.isnan(numbers), "nan", np.where(numbers > 0, "+inf", "-inf"))
    kinds = kinds.astype(object)
    kinds[finite] = None
    return values.tolist(), kinds.tolist()


def plain(series: pd.Series) -> list[Any]:
    """A column as JSON-ready values: None for missing, ISO 8601 text for times (UTC, as the
    frame holds them), plain numbers. One conversion per column where the dtype allows."""
    present = series.notna()
    if series.dtype.kind == "M":
        text = series.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        return text.astype(object).where(present, None).tolist()
    values = series.astype(object).where(present, None).tolist()
    first = next((v for v in values if v is not None), None)
    if first is not None and type(first).__module__ == "numpy":  # numpy scalars left
        return [v.item() if hasattr(v, "item") else v for v in values]
    return values
