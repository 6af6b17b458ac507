"""The database and nothing else: the models, URLs and engines (``db``), dialect SQL,
Alembic from code (``schema``), how values become rows (``values``), frozen read types
(``records``), writes, queries, bulk writes, stale runs, curation (tags, notes, soft delete
and ``visibility``, rename, move, purge, the audit log), and the store's ``Repository``.

May import SQLAlchemy, Alembic and ``tracker.errors``; never pandas, matplotlib, Keras or the
subpackages above it (the import contracts in ``pyproject.toml`` check it).
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "Repository":  # imported when asked for: it loads SQLAlchemy
        from .repository import Repository

        return Repository
    raise AttributeError(f"module 'tracker.store' has no attribute {name!r}")
