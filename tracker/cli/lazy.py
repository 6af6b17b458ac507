"""What the commands need from the library, loaded when a command runs rather than when the
``tracker`` command starts: ``tracker --help`` then never imports SQLAlchemy (about 0.3 s on
a small machine; see benchmarks/RESULTS.md, start-up)."""

from __future__ import annotations

import importlib
from typing import Any


class _Module:
    """A module imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


db = _Module("tracker.store.db")
schema = _Module("tracker.store.schema")


def Repository(*args: Any, **kwargs: Any):
    """``tracker.Repository(*args, **kwargs)``, imported on first use."""
    from ..repository import Repository as repository_class

    return repository_class(*args, **kwargs)


def parse_cli_value(text: str) -> Any:
    """``tracker.store.values.parse_cli_value``, imported on first use."""
    from ..store.values import parse_cli_value as parse

    return parse(text)
