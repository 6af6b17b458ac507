"""Tags (``key=value`` text labels) and notes on runs and experiments: the SQL, and the
``tags.KEY`` test of filter expressions.

Tag values are text: ``str``, or an int, float or bool stored as its ``str()``. A filter
compares them as text (``tags.seed == '1'``); ``tags.KEY == None`` holds for runs without the
tag. Every function is a fixed number of statements whatever the number of targets.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, delete, false, not_, or_, select, true
from sqlalchemy import update as sql_update

from . import dialects
from .filter_parse import TAG_SCOPE
from .models import ExperimentTag
from .names import experiment_runs
from .values import UnsupportedValue, check_name
from .writes import experiments as e
from .writes import run_tags
from .writes import runs as r

experiment_tags = ExperimentTag.__table__
MAX_TAG_LENGTH = 5_000
MAX_NOTE_LENGTH = 100_000
RUN, EXPERIMENT = "run", "experiment"
_TABLES: dict[str, tuple[Table, str, Table]] = {
    RUN: (run_tags, "run_id", r),
    EXPERIMENT: (experiment_tags, "experiment_id", e),
}


def tag_rows(tags: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, text)`` pairs of ``tags``, or ``UnsupportedValue`` naming the bad one."""
    rows = []
    for key, value in tags.items():
        check_name(key, "tag name")
        if isinstance(value, (bool, int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise UnsupportedValue(f"tag {key!r}: {type(value).__name__} value; tag values are "
                                   "text (or a number or bool, stored as its text)")
        check_name(value or "-", f"value of tag {key!r}")  # NUL, lone surrogates
        if len(value) > MAX_TAG_LENGTH:
            raise UnsupportedValue(f"tag {key!r}: the value is {len(value):,} characters long "
                                   f"(at most {MAX_TAG_LENGTH:,}; use a note for long text)")
        rows.append((key, value))
    return rows


def set_tags(conn: Connection, kind: str, ids: Sequence[int], rows: list[tuple[str, str]]) -> int:
    """Add or replace ``rows`` on each target; returns how many (target, tag) pairs."""
    table, owner, _ = _TABLES[kind]
    values = [{owner: i, "key": k, "value": v} for i in ids for k, v in rows]
    if values:
        conn.execute(dialects.upsert(conn.dialect.name, table, [owner, "key"], ["value"]), values)
    return len(values)


def remove_tags(conn: Connection, kind: str, ids: Sequence[int], names: Iterable[str]) -> int:
    """Remove the tags ``names`` from each target; returns how many were there."""
    table, owner, _ = _TABLES[kind]
    names = list(names)
    if not ids or not names:
        return 0
    stmt = delete(table).where(table.c[owner].in_(list(ids)), table.c.key.in_(names))
    return conn.execute(stmt).rowcount


def set_note(conn: Connection, kind: str, ids: Sequence[int], text: str | None) -> int:
    """Set (``None``: clear) the note of each target; returns how many."""
    if text is not None:
        if not isinstance(text, str):
            raise UnsupportedValue(f"a note is text, not {type(text).__name__}")
        check_name(text or "-", "note")
        if len(text) > MAX_NOTE_LENGTH:
            raise UnsupportedValue(f"the note is {len(text):,} characters long (at most "
                                   f"{MAX_NOTE_LENGTH:,})")
    owner = _TABLES[kind][2]
    if not ids:
        return 0
    stmt = sql_update(owner).where(owner.c.id.in_(list(ids))).values(note=text)
    return conn.execute(stmt).rowcount


def tags_of(conn: Connection, kind: str, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Each target's tags (key -> text)."""
    table, owner, _ = _TABLES[kind]
    stmt = select(table.c[owner], table.c.key, table.c.value).where(table.c[owner].in_(list(ids)))
    found: dict[int, dict[str, str]] = {}
    for target, key, value in conn.execute(stmt.order_by(table.c[owner], table.c.key)):
        found.setdefault(target, {})[key] = value
    return found


# -- filters ------------------------------------------------------------------------------------


def tag_test(compiler, test, text: str) -> ColumnElement[bool]:
    """``tags.KEY op value`` over ``runs``: a correlated seek on ``run_tags``' primary key."""
    key = test.ref.name
    for value in test.values:
        if value is not None and not isinstance(value, str):
            raise compiler.fail(f"tag values are text, never {value!r} (write "
                                f"tags.{key} == {str(value)!r})", test, text)
    # A key no run has is a typo, unless the test only asks whether the tag is missing.
    if any(v is not None for v in test.values) and key not in _keys(compiler, key):
        raise compiler.unknown(test.ref, text, "tag")

    def has(*where) -> ColumnElement[bool]:
        return probe(select(run_tags.c.run_id).where(
            run_tags.c.run_id == r.c.id, run_tags.c.key == key, *where))

    if test.op in _ORDER:
        value = compiler.orderable(test, text)
        return has(_ORDER[test.op](compiler.text(run_tags.c.value), value))
    texts = [v for v in test.values if v is not None]
    clauses = [has(run_tags.c.value.in_(texts))] if texts else []
    if any(v is None for v in test.values):
        clauses.append(not_(has()))
    matched = or_(*clauses) if clauses else false()
    return matched if test.op in ("==", "in") else not_(matched)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def probe(stmt) -> ColumnElement[bool]:
    """``EXISTS (stmt) IS TRUE`` correlated to ``runs`` (as ``filter_sql.probe``)."""
    return stmt.correlate(r).exists().is_(true())


def _keys(compiler, key: str) -> set[str]:
    """The tag keys among the filter's that the experiment's visible runs have (one statement
    per filter, cached on the compiler)."""
    cached = getattr(compiler, "_tag_keys", None)
    if cached is not None and key in cached[0]:
        return cached[1]
    asked = {key} | {ref.name for ref in getattr(compiler, "refs", ()) if ref.scope == TAG_SCOPE}
    stmt = select(run_tags.c.key).distinct().where(
        run_tags.c.key.in_(sorted(asked)),
        run_tags.c.run_id.in_(experiment_runs(compiler.experiment_id, compiler.deleted)))
    found = set(compiler.conn.execute(stmt).scalars())
    compiler._tag_keys = (asked, found)
    return found
