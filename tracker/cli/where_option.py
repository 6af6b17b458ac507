"""``--where``: which runs a command looks at."""

from __future__ import annotations

import re
from typing import Annotated, Any, Optional

import typer

from .lazy import parse_cli_value

Where = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--where", "-w",
        help="NAME=VALUE: only runs with this hyperparameter value (repeatable).",
        show_default=False,
    ),
]

_SIMPLE = re.compile(r"^([^=\s]+)=([^=].*|)$")


def where_of(items: list[str] | None) -> dict[str, Any] | str | None:
    """The ``where`` argument of the library from ``--where`` options: NAME=VALUE items as a
    mapping, anything else as one expression."""
    if not items:
        return None
    matches = [_SIMPLE.match(item) for item in items]
    if all(matches):
        return {m.group(1): parse_cli_value(m.group(2)) for m in matches if m}
    return " and ".join(f"({item})" for item in items)
