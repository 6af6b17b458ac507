"""Which runs a query reads: an experiment and a filter, compiled into one SQLAlchemy clause over
``runs`` (correlated ``EXISTS`` seeks on the primary keys of ``hyperparameters`` and
``run_metrics``), so that every query filters in SQL with a fixed number of statements.

A filter (``where=``) is a filter expression (see ``filter_parse``), the old form
``{name: value or [values]}``, the old command-line text ``NAME=VALUE``, or a list of them
(all must hold). Meaning, so that a filter reads as it would in Python:

* a bare name is a hyperparameter; if no run of the experiment has one of that name, the run
  field of that name (``status``, ``trial_id``, ``worker``, ``source``, ``name``,
  ``execution``, ``attempt``, ``id``, ``score``); ``run.NAME`` is always the field;
* ``best.M`` is the run's best finite value of metric ``M`` in its direction, ``max.M`` /
  ``min.M`` its largest / smallest finite value, ``last.M`` its value at its last epoch (NaN
  and +/-inf as such: ``inf > 1`` holds, NaN compares false);
* numbers match ints and floats (``32 == 32.0``), ``True`` / ``False`` booleans, text text;
  ``== None`` holds when the run has no such value (no hyperparameter, no finite best, no
  metric at all for ``last``), ``!=`` is always ``not ==``; an order (``<``...) holds only for
  values of the same kind (numbers, or text by code point);
* ``status`` is the shown status: ``stale`` for a running run whose heartbeat stopped.

>>> where = "learning_rate < 1e-3 and best.val_accuracy > 0.9"
>>> select_runs(conn, 3, "mnist", where).run_ids()                   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from sqlalchemy import ColumnElement, Connection, Select, and_, select

from ..errors import FilterError
from .filter_parse import (
    AllOf,
    Node,
    Ref,
    Test,
    finite_number,
    legacy_item,
    parse,
    quote_name,
    text_problem,
)
from .filter_sql import FilterCompiler
from .values import parse_cli_value
from .visibility import Deleted, run_visibility
from .writes import runs as r

Where = Union[str, Mapping[str, Any], Sequence[Union[str, Mapping[str, Any]]], None]  # noqa: UP007


@dataclass(frozen=True)
class RunSelection:
    """The runs a query reads: those of one experiment (``experiment_id``; None: every run)
    that pass ``clause`` (a compiled filter over ``runs``; None: no filter), and are not
    soft-deleted (``deleted=True``: only deleted ones; None: both; see ``visibility``)."""

    experiment_id: int | None = None
    experiment: str | None = None
    clause: ColumnElement[bool] | None = None
    deleted: Deleted = False

    def conditions(self) -> list[ColumnElement[bool]]:
        """WHERE conditions over ``runs`` (empty: every run, deleted ones too)."""
        found = [] if self.deleted is None else [run_visibility(self.deleted)]
        if self.experiment_id is not None:
            found.append(r.c.experiment_id == self.experiment_id)
        return found if self.clause is None else [*found, self.clause]

    def apply(self, stmt: Select) -> Select:
        """``stmt`` (which reads ``runs``) restricted to the selected runs."""
        return stmt.where(*self.conditions())

    def run_ids(self) -> Select | None:
        """The ids of the selected runs as a subquery, or None for every run."""
        conditions = self.conditions()
        return select(r.c.id).where(*conditions) if conditions else None

    @property
    def filtered(self) -> bool:
        return self.clause is not None

    @classmethod
    def of(cls, value: RunSelection | int | None) -> RunSelection:
        """``value`` as a selection: a selection as it is, an experiment id, or None (every
        run)."""
        if isinstance(value, RunSelection):
            return value
        return cls(experiment_id=value)


def select_runs(
    conn: Connection,
    experiment_id: int | None,
    experiment: str | None,
    where: Where = None,
    *,
    stale_before: dt.datetime | None = None,
    modes: Mapping[str, str] | None = None,
    deleted: Deleted = False,
) -> RunSelection:
    """The runs of ``experiment`` (its id and name; None: every run) that pass ``where``
    (``deleted``: see ``RunSelection``)."""
    clause = compile_where(conn, where, experiment_id=experiment_id, experiment=experiment,
                           stale_before=stale_before, modes=modes, deleted=deleted)
    return RunSelection(experiment_id, experiment, clause, deleted)


def compile_where(
    conn: Connection,
    where: Where,
    *,
    experiment_id: int | None = None,
    experiment: str | None = None,
    stale_before: dt.datetime | None = None,
    modes: Mapping[str, str] | None = None,
    deleted: Deleted = False,
) -> ColumnElement[bool] | None:
    """``where`` as one clause over ``runs`` (None when there is nothing to filter), after
    checking every name against what the experiment's runs (``deleted``: those it selects, as
    ``RunSelection`` takes it) recorded and every value's type."""
    items = parse_where(where)
    if not items:
        return None
    compiler = FilterCompiler(conn, items, experiment_id, experiment, stale_before, modes or {},
                              deleted)
    return and_(*(compiler.node(node, text) for text, node in items))


def parse_where(where: Where) -> list[tuple[str, Node]]:
    """``(text, tree)`` for each filter in ``where`` (the text is what error messages quote)."""
    if where is None:
        return []
    if isinstance(where, str):
        return [(where, _parse_text(where))]
    if isinstance(where, Mapping):
        return [(_mapping_text(where), _mapping_tree(where))] if where else []
    if isinstance(where, Sequence):
        return [item for part in where for item in parse_where(part)]
    raise FilterError(f"where must be a filter expression, a mapping or a list of them, not "
                      f"{type(where).__name__}")


def _parse_text(text: str) -> Node:
    legacy = legacy_item(text)
    if legacy is None:
        return parse(text)
    name, raw = legacy
    value = _literal(parse_cli_value(raw), text)
    return Test(Ref("", name, (0, len(text))), "==", (value,), (0, len(text)))


def _mapping_tree(where: Mapping[str, Any]) -> Node:
    tests = []
    for name, wanted in where.items():
        span = (0, 0)
        if isinstance(wanted, (list, set, frozenset)):
            values = tuple(_literal(v, f"{name}={wanted!r}") for v in wanted)
            tests.append(Test(Ref("", str(name), span), "in", values, span))
        else:
            tests.append(Test(Ref("", str(name), span), "==",
                              (_literal(wanted, f"{name}={wanted!r}"),), span))
    return AllOf(tuple(tests))


def _mapping_text(where: Mapping[str, Any]) -> str:
    return " and ".join(f"{quote_name(str(k))}={v!r}" for k, v in where.items())


def _literal(value: Any, text: str) -> Any:
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()  # NumPy scalars
    if isinstance(value, str) and (problem := text_problem(value)):
        raise FilterError(f"cannot filter by {value!r} in {text!r}: {problem}")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and finite_number(value):
        return value
    raise FilterError(f"cannot filter by {value!r} in {text!r}: use a finite number, text, "
                      "True, False or None")
