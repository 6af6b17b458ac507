"""Printing rows: Rich tables for people, CSV, JSON (one array) or JSON Lines for scripts."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import TrackerError

FORMATS = ("table", "csv", "json", "jsonl")


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
        writer.writerows([[_cell(row[c]) for c in columns] for row in rows])
        return
    from rich.console import Console
    from rich.table import Table

    # In a pipe or a log file, let the table take its natural width instead of folding at 80.
    console = Console() if sys.stdout.isatty() else Console(width=1_000)
    if not rows:
        console.print(f"[dim]{title + ': ' if title else ''}nothing to show[/dim]")
        return
    table = Table(title=title, title_justify="left", header_style="bold", expand=False)
    for column in columns:
        numeric = all(isinstance(r[column], (int, float)) or r[column] is None for r in rows)
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in columns))
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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".6g") if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
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
