"""Writing the runs or epochs DataFrame to CSV, Parquet or JSON Lines, chosen by the file's
extension. Epochs are streamed chunk by chunk, so memory stays flat however large the store;
a file is written under a temporary name and renamed at the end, so a failed export never
leaves a half-written file behind.

Numbers keep their full precision. CSV and Parquet keep NaN and +/-inf; JSON has no such
numbers, so JSON Lines writes ``null`` for them. CSV follows RFC 4180 (CRLF line ends, any
field holding a quote, a comma, a carriage return or a newline quoted), so that every text
reads back exactly with ``pandas.read_csv``.

A CSV file meant for a spreadsheet (``for_spreadsheet=True``, ``--for-spreadsheet``) is
protected against formula injection as OWASP recommends: a text cell (or column name)
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single
quote, so the spreadsheet shows it as text instead of running it. Numbers are left alone.
Opt-in, because it changes the text a script would read back.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import TrackerError
from ..optional import require, require_all
from . import dataframes, frames

if TYPE_CHECKING:
    import pandas as pd

    from ..store.filters import Where
    from ..store.repository import Repository

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may run
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl"}


def format_of(path: str | Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file's extension, or a clear error.

    >>> format_of("runs.parquet")
    'parquet'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise TrackerError(f"cannot tell the format of {str(path)!r}: use one of {known}")
    return FORMATS[suffix]


def export(
    repo: Repository,
    path: str | Path | None = None,
    *,
    kind: str = "runs",
    experiment: str | None = None,
    chunk_rows: int = frames.CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    where: Where = None,
    for_spreadsheet: bool = False,
) -> int:
    """Write the ``kind`` DataFrame of ``experiment`` (as ``Repository.to_dataframe`` gives
    it) to ``path`` (CSV on stdout when ``path`` is None); returns the number of rows.
    ``progress(rows_so_far)`` is called after each chunk; ``where`` filters the runs (as
    ``Repository.runs`` takes it). ``for_spreadsheet`` (CSV only) quotes text cells that a
    spreadsheet would run as a formula (see the module's docstring).

    >>> export(Repository(), "epochs.parquet", kind="epochs", experiment="mnist")  # doctest: +SKIP
    48000
    """
    frames.check_kind(kind)
    fmt = "csv" if path is None else format_of(path)
    if for_spreadsheet and fmt != "csv":
        raise TrackerError(f"--for-spreadsheet applies to CSV files only, not {fmt}")
    require_all(("pandas", "pyarrow") if fmt == "parquet" else ("pandas",), "Exporting")
    if kind == "runs":
        runs = dataframes.to_dataframe(repo, experiment, where=where)
        chunks: Iterable[pd.DataFrame] = [runs if fmt == "jsonl" else _flatten(runs)]
    else:
        chunks = _at_least_one(dataframes.iter_epochs(repo, experiment, chunk_rows=chunk_rows,
                                                      where=where))
    counted = _Counting(chunks, progress)
    writer = {"csv": _write_csv, "parquet": _write_parquet, "jsonl": _write_jsonl}[fmt]
    if for_spreadsheet:
        counted = _Counting((defuse_formulas(c) for c in counted), None, counting=counted)
    if path is None:
        writer(counted, sys.stdout)
    else:
        with _replacing(Path(path), binary=fmt == "parquet") as out:
            writer(counted, out)
    return counted.rows


class _Counting:
    def __init__(self, chunks: Iterable[pd.DataFrame], progress, counting=None) -> None:
        self.chunks, self.progress, self._rows = chunks, progress, 0
        self.counting = counting  # the _Counting these chunks come from, which counts them

    @property
    def rows(self) -> int:
        return self.counting.rows if self.counting is not None else self._rows

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for chunk in self.chunks:
            yield chunk
            self._rows += len(chunk)
            if self.progress:
                self.progress(self._rows)


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a single quote before each text cell and column name that starts like a
    spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab, carriage return), as OWASP's CSV
    injection advice says; numbers unchanged.

    >>> defuse_formulas(pd.DataFrame({"=x": ["=1+2", "ok"], "n": [-1, 2]}))  # doctest: +SKIP
      '=x  n
    0  '=1+2 -1
    1  ok    2
    """
    pd = frames.pandas()
    frame = frame.rename(columns=lambda c: _defused(c) if isinstance(c, str) else c)
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object or isinstance(series.dtype, (pd.StringDtype,
                                                                pd.CategoricalDtype)):
            frame[column] = series.astype(object).map(_defused)
    return frame


def _defused(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _at_least_one(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks, or one empty frame when there are none (a file with just its columns)."""
    empty = True
    for chunk in chunks:
        empty = False
        yield chunk
    if empty:
        yield frames.empty_epochs_frame()


@contextmanager
def _replacing(path: Path, *, binary: bool) -> Iterator[IO]:
    """An open temporary file next to ``path``, renamed to it on success, removed on error."""
    if not path.parent.is_dir():
        raise TrackerError(f"cannot write {str(path)!r}: there is no folder {path.parent}")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") if binary else open(temporary, "w", newline="") as out:
            yield out
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_csv(chunks: Iterable[pd.DataFrame], out: IO[str]) -> None:
    header = True
    for chunk in chunks:
        chunk.to_csv(out, index=False, header=header, lineterminator="\r\n")
        header = False


def _write_jsonl(chunks: Iterable[pd.DataFrame], out: IO[str]) -> None:
    for chunk in chunks:
        columns = list(chunk.columns)
        for values in chunk.itertuples(index=False, name=None):
            record = {c: _json_value(v) for c, v in zip(columns, values, strict=True)}
            out.write(json.dumps(record, allow_nan=False, ensure_ascii=False) + "\n")


def _write_parquet(chunks: Iterable[pd.DataFrame], out: IO[bytes]) -> None:
    pa = require("pyarrow", "Parquet export")
    import pyarrow.parquet as pq

    writer = None
    try:
        for chunk in chunks:
            if "metric" in chunk and chunk["metric"].dtype == "category":
                # One schema for every chunk: plain strings (Parquet dictionary-encodes them).
                chunk = chunk.astype({"metric": frames.pandas().StringDtype()})
            table = pa.Table.from_pandas(
                chunk, schema=None if writer is None else writer.schema, preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python values (lists, dicts, mixed types) as JSON text, so that CSV
    and Parquet can hold them."""
    pd = frames.pandas()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = (
                frame[column]
                .map(lambda v: None if v is None else json.dumps(v, default=str))
                .astype(pd.StringDtype())
            )
    return frame


def _json_value(value: Any) -> Any:
    """A cell as JSON can hold it: non-finite numbers and missing values as null."""
    if value is None or isinstance(value, (str, bool, int, list, dict)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return None if value != value else value.isoformat()  # NaT != NaT
    if hasattr(value, "item"):  # NumPy scalars
        return _json_value(value.item())
    if value is frames.pandas().NA:
        return None
    return value
