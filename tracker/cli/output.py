"""Printing rows: Rich tables for people, CSV, JSON (one array) or JSON Lines for scripts.

Names and values come from anyone who can write to the database, so everything a table shows
is literal text: Rich markup in a value is shown as typed (``Text`` cells, never markup), and
control characters (escape sequences, carriage returns, newlines) are shown escaped (``\\x1b``,
``\\r``, ``\\n``), so none reaches the terminal. CSV and JSON keep values exactly as stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import TrackerError
from ..text import literal

FORMATS = ("table", "csv", "json", "jsonl")
def plain_console(**kwargs: Any):
    """A Rich console that never reads markup or highlights: what it prints is literal."""
    from rich.console import Console

    return Console(markup=False, highlight=False, emoji=False, **kwargs)


def show(rows: Sequence[dict[str, Any]], *, title: str | None = None, fmt: str = "table") -> None:
    """Print ``rows`` (dicts with the same keys) in ``fmt``."""
    if fmt not in FORMATS:
        raise TrackerError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt in ("json", "jsonl"):
        show_json([{k: _plain(v) for k, v in row.items()} for row in rows], fmt=fmt)
        return
    columns = list(rows[0]) if rows else []
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[_cell(row[c], exact=True) for c in columns] for row in rows])
        return
    from rich.table import Table
    from rich.text import Text

    # In a pipe or a log file, let the table take its natural width instead of folding at 80.
    console = plain_console() if sys.stdout.isatty() else plain_console(width=1_000)
    if not rows:
        console.print(Text(f"{literal(title) + ': ' if title else ''}nothing to show",
                           style="dim"))
        return
    table = Table(title=None if title is None else Text(literal(title)), title_justify="left",
                  header_style="bold", expand=False)
    for column in columns:
        numeric = all(isinstance(r[column], (int, float)) or r[column] is None for r in rows)
        table.add_column(Text(literal(column)), justify="right" if numeric else "left",
                         overflow="fold")
    for row in rows:
        table.add_row(*(Text(literal(_cell(row[c]))) for c in columns))
    console.print(table)


def show_json(document: Any, *, fmt: str = "json") -> None:
    """Print ``document`` as JSON (``json``: one indented document), or a list of rows as one
    object per line (``jsonl``, JSON Lines)."""
    if fmt == "jsonl" and isinstance(document, list):
        for row in document:
            print(json.dumps(_plain(row), default=str))
    elif fmt == "jsonl":
        print(json.dumps(_plain(document), default=str))
    else:
        print(json.dumps(_plain(document), default=str, indent=2))


def _cell(value: Any, exact: bool = False) -> str:
    """A value as a table shows it (``exact``: as CSV writes it, every digit kept)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if exact or not math.isfinite(value) else format(value, ".6g")
    if isinstance(value, dt.datetime):
        return value.isoformat() if exact else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v, exact)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return json.dumps(value)
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Infinity
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
