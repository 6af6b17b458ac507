"""Which runs and experiments reads show: the one visibility clause of soft delete.

A run is deleted when it was deleted itself (``runs.deleted_at``) or its experiment was
(``experiments.deleted_at``): so a run that a sweep still writes into a deleted experiment is
hidden too, whatever the timing. Every read goes through ``run_visibility`` (``RunSelection``
applies it, and so do the few queries that read ``runs`` without a selection), so a deleted
run is hidden from queries, ``best_by``, ``top_runs``, trials, names, DataFrames, exports,
plots and the report alike. ``deleted=True`` keeps only the deleted ones (``--deleted``),
``None`` every run.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select, true

from .writes import experiments as e
from .writes import runs as r

Deleted = bool | None  # False: visible only (the default); True: deleted only; None: both


def run_visibility(deleted: Deleted = False) -> ColumnElement[bool]:
    """The condition over ``runs`` for ``deleted`` (see the module docstring)."""
    if deleted is None:
        return true()
    live = select(e.c.id).where(e.c.deleted_at.is_(None))
    if deleted:
        return or_(r.c.deleted_at.is_not(None), r.c.experiment_id.not_in(live))
    return and_(r.c.deleted_at.is_(None), r.c.experiment_id.in_(live))


def experiment_visibility(deleted: Deleted = False) -> ColumnElement[bool]:
    """The same over ``experiments``: a deleted experiment is hidden with all its runs."""
    if deleted is None:
        return true()
    return e.c.deleted_at.is_not(None) if deleted else e.c.deleted_at.is_(None)
