"""Filter trees (``filter_parse``) as SQL over ``runs``: names resolved against what the
experiment recorded (one statement per kind of name, whatever the number of runs), values
type-checked, each test a correlated ``EXISTS`` seek on a primary key (``hyperparameters``,
``run_metrics``) or a condition on a ``runs`` column. Every test is TRUE or FALSE, never NULL,
so ``not`` means "not" (see ``filters`` for the meaning of each test)."""

from __future__ import annotations

import operator
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, select, true

from ..errors import DirectionError, FilterError, UnknownFilterNameError
from . import stale
from .filter_parse import (
    METRIC_SCOPES,
    TAG_SCOPE,
    AllOf,
    Always,
    AnyOf,
    Negation,
    Node,
    Ref,
    Test,
    describe,
    quote_name,
    walk,
)
from .models import HyperparameterKind, ValueKind
from .names import (
    FIELDS,
    hyperparameter_kinds,
    listing,
    metrics_present,
    recorded_names,
    suggestion,
)
from .names import where_text as _in_where
from .tags import tag_test
from .values import check_mode, infer_direction
from .writes import experiments as e
from .writes import hyperparameters as h
from .writes import run_metrics as s
from .writes import runs as r

_NUMERIC = (HyperparameterKind.INT.value, HyperparameterKind.FLOAT.value)
_MATCHING = {"number": _NUMERIC, "bool": (HyperparameterKind.BOOL.value,),
             "text": (HyperparameterKind.STR.value,)}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_COLUMNS = {"trial_id": r.c.trial_id, "worker": r.c.worker, "source": r.c.source,
            "name": r.c.name, "execution": r.c.execution, "attempt": r.c.attempt,
            "id": r.c.id, "score": r.c.score}
_NULLABLE = {"trial_id", "worker", "source", "name", "score"}
_KIND_WORDS = {"str": "text", "bool": "boolean", "json": "list or dict", "none": "None"}
# Built once: an alias costs SQLAlchemy more to set up than a whole small query. Each test's
# EXISTS is correlated to ``runs`` only, so the same alias can serve every test of a filter.
_HP = h.alias("hp")
_HP_SET = h.alias("hp_set")
_SUMMARY = s.alias("summary")


def _category(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    return "text" if isinstance(value, str) else "number"


class FilterCompiler:
    """Resolves the names of a filter (with one statement per kind of name, whatever the
    number of runs) and turns each test into SQL."""

    def __init__(self, conn, items, experiment_id, experiment, stale_before, modes,
                 deleted=False) -> None:
        self.conn, self.experiment_id, self.experiment = conn, experiment_id, experiment
        self.stale_before, self.modes, self.deleted = stale_before, modes, deleted
        self.postgres = conn.dialect.name == "postgresql"
        refs = [test.ref for _, node in items for test in walk(node)]
        self.refs = refs
        self.kinds = hyperparameter_kinds(conn, {x.name for x in refs if not x.scope},
                                          experiment_id, deleted)
        self.metrics = metrics_present(conn, {x.name for x in refs if x.scope in METRIC_SCOPES},
                                       experiment_id, deleted)
        self._objectives: dict[str, set[str]] | None = None
        self._known = None

    # -- the tree ---------------------------------------------------------------------------

    def node(self, node: Node, text: str) -> ColumnElement[bool]:
        if isinstance(node, Test):
            return self.test(node, text)
        if isinstance(node, AllOf):
            return and_(*(self.node(item, text) for item in node.items))
        if isinstance(node, AnyOf):
            return or_(*(self.node(item, text) for item in node.items))
        if isinstance(node, Negation):
            return not_(self.node(node.item, text))
        assert isinstance(node, Always)
        return true() if node.value else false()

    def test(self, test: Test, text: str) -> ColumnElement[bool]:
        ref = test.ref
        if ref.scope == TAG_SCOPE:
            return tag_test(self, test, text)
        if ref.scope in METRIC_SCOPES:
            if ref.name not in self.metrics:
                raise self.unknown(ref, text, "metric")
            return self.metric_test(test, text)
        if not ref.scope and ref.name in self.kinds:
            return self.hyperparameter_test(test, text)
        if ref.name in FIELDS:
            return self.field_test(test, text)
        raise self.unknown(ref, text, "run field" if ref.scope else "hyperparameter or run field")

    # -- hyperparameters --------------------------------------------------------------------

    def hyperparameter_test(self, test: Test, text: str) -> ColumnElement[bool]:
        name, kinds = test.ref.name, self.kinds[test.ref.name]
        for value in test.values:
            category = _category(value)
            if category != "none" and not kinds & set(_MATCHING[category]):
                held = ", ".join(sorted(_KIND_WORDS.get(kind, kind) for kind in kinds))
                raise self.fail(f"{test.ref} holds {held} values, never {_a(category)} "
                                f"like {value!r}", test, text)
        if test.op in _ORDER:
            value = self.orderable(test, text)
            hp = _HP
            if isinstance(value, str):
                matches = and_(hp.c.kind == HyperparameterKind.STR.value,
                               _ORDER[test.op](self.text(hp.c.text_value), value))
            else:
                matches = and_(hp.c.kind.in_(_NUMERIC), _ORDER[test.op](hp.c.num_value, value))
            return self.has_hyperparameter(hp, name, matches)
        equal = self.hyperparameter_equal(name, test.values)
        return equal if test.op in ("==", "in") else not_(equal)

    def hyperparameter_equal(self, name: str, values) -> ColumnElement[bool]:
        hp = _HP
        options = []
        for value in values:
            if isinstance(value, bool):
                options.append(and_(hp.c.kind == HyperparameterKind.BOOL.value,
                                    hp.c.num_value == float(value)))
            elif isinstance(value, str):
                options.append(and_(hp.c.kind == HyperparameterKind.STR.value,
                                    hp.c.text_value == value))
            elif value is not None:
                options.append(and_(hp.c.kind.in_(_NUMERIC), hp.c.num_value == float(value)))
        clauses = [self.has_hyperparameter(hp, name, or_(*options))] if options else []
        if any(value is None for value in values):  # absent, or recorded as None
            other = _HP_SET
            clauses.append(not_(self.has_hyperparameter(
                other, name, other.c.kind != HyperparameterKind.NONE.value)))
        return or_(*clauses) if clauses else false()

    @staticmethod
    def has_hyperparameter(hp, name: str, matches) -> ColumnElement[bool]:
        return probe(select(hp.c.run_id).where(hp.c.run_id == r.c.id, hp.c.name == name,
                                               matches))

    # -- run fields -------------------------------------------------------------------------

    def field_test(self, test: Test, text: str) -> ColumnElement[bool]:
        name = test.ref.name
        holds = FIELDS[name]
        for value in test.values:
            category = _category(value)
            if category == "none" and name in _NULLABLE:
                continue
            if category != holds:
                hint = f" (write {str(value)!r})" if holds == "text" and category == "number" \
                    else ""
                raise self.fail(f"run field {name} holds {holds}, never {_a(category)} like "
                                f"{value!r}{hint}", test, text)
        if name == "status":
            return self.status_test(test, text)
        column = _COLUMNS[name]
        if test.op in _ORDER:
            value = self.orderable(test, text)
            ordered = self.text(column) if isinstance(value, str) else column
            compared = _ORDER[test.op](ordered, value)
            return and_(column.is_not(None), compared) if name in _NULLABLE else compared

        def equal(value) -> ColumnElement[bool]:
            if value is None:
                return column.is_(None)
            if name in _NULLABLE:  # never NULL: "not (trial_id == '3')" keeps runs without one
                return and_(column.is_not(None), column == value)
            return column == value

        clauses = [equal(value) for value in test.values]
        matched = or_(*clauses) if clauses else false()
        return matched if test.op in ("==", "in") else not_(matched)

    def status_test(self, test: Test, text: str) -> ColumnElement[bool]:
        if test.op in _ORDER:
            value = self.orderable(test, text)
            return _ORDER[test.op](self.text(stale.status_column(self.stale_before)), value)
        unknown = [v for v in test.values if v not in stale.STATUSES]
        if unknown:
            raise self.fail(f"unknown status {unknown[0]!r} (statuses: "
                            f"{', '.join(stale.STATUSES)})", test, text)
        if not test.values:
            matched = false()
        elif self.stale_before is not None:
            matched = stale.status_filter(list(test.values), self.stale_before)
        else:
            matched = r.c.status.in_(list(test.values))
        return matched if test.op in ("==", "in") else not_(matched)

    # -- metrics ----------------------------------------------------------------------------

    def metric_test(self, test: Test, text: str) -> ColumnElement[bool]:
        for value in test.values:
            if _category(value) not in ("number", "none"):
                raise self.fail(f"metric values are numbers, never {_a(_category(value))} like "
                                f"{value!r}", test, text)
        run = _SUMMARY
        mine = (run.c.run_id == r.c.id, run.c.name == test.ref.name)
        if test.ref.scope == "last":
            def compare(op, value):
                finite = and_(run.c.last_kind == ValueKind.FINITE, op(run.c.last_value, value))
                if op in (operator.lt, operator.le):
                    return or_(finite, run.c.last_kind == ValueKind.NEG_INF)
                if op in (operator.gt, operator.ge):
                    return or_(finite, run.c.last_kind == ValueKind.POS_INF)
                return finite

            present = ()
        else:
            column = run.c.low if self.lowest(test, text) else run.c.high

            def compare(op, value):
                return op(column, value)

            present = (column.is_not(None),)

        def summary(*where) -> ColumnElement[bool]:
            return probe(select(run.c.run_id).where(*mine, *where))

        if test.op in _ORDER:
            return summary(compare(_ORDER[test.op], self.orderable(test, text)))
        numbers = [v for v in test.values if v is not None]
        clauses = [summary(or_(*(compare(operator.eq, v) for v in numbers)))] if numbers else []
        if any(v is None for v in test.values):
            clauses.append(not_(summary(*present)))
        matched = or_(*clauses) if clauses else false()
        return matched if test.op in ("==", "in") else not_(matched)

    def lowest(self, test: Test, text: str) -> bool:
        """Whether the test reads the metric's smallest value (``min.``, or ``best.`` of a
        metric that is minimised)."""
        scope, name = test.ref.scope, test.ref.name
        if scope != "best":
            return scope == "min"
        if name in self.modes:
            return check_mode(self.modes[name]) == "min"
        if self._objectives is None:
            stmt = select(e.c.objective, e.c.direction).where(e.c.direction.is_not(None))
            if self.experiment_id is not None:
                stmt = stmt.where(e.c.id == self.experiment_id)
            self._objectives = {}
            for objective, direction in self.conn.execute(stmt):
                self._objectives.setdefault(objective, set()).add(direction)
        directions = self._objectives.get(name, set())
        if len(directions) == 1:
            return next(iter(directions)) == "min"
        try:
            return infer_direction(name) == "min"
        except DirectionError:
            raise self.fail(f"cannot tell whether a higher or lower {name!r} is better: write "
                            f"max.{quote_name(name)} or min.{quote_name(name)}", test, text,
                            ref=True) from None

    # -- helpers ----------------------------------------------------------------------------

    def orderable(self, test: Test, text: str) -> Any:
        value = test.values[0]
        if _category(value) not in ("number", "text"):
            raise self.fail(f"'{test.op}' orders numbers or text, not {value!r}", test, text)
        return value

    def text(self, column):
        # Code-point order, as Python orders str: PostgreSQL's default collation follows the
        # locale; SQLite's BINARY compares UTF-8 bytes, which is code-point order already.
        return column.collate("C") if self.postgres else column

    def fail(self, message: str, test: Test, text: str, ref: bool = False) -> FilterError:
        span = test.ref.span if ref else test.span
        return FilterError(describe(message, text, span), expression=text, position=span)

    def unknown(self, ref: Ref, text: str, what: str) -> UnknownFilterNameError:
        if self._known is None:
            self._known = recorded_names(self.conn, self.experiment_id, self.experiment)
        known = self._known
        hyperparameters = [quote_name(n) for n in known.hyperparameters]
        fields = list(FIELDS)
        if ref.scope in METRIC_SCOPES:
            offered = [f"{ref.scope}.{quote_name(n)}" for n in known.metrics]
            close = suggestion(ref.name, known.metrics)
            detail = listing(known.metrics, "metrics recorded")
        elif ref.scope == TAG_SCOPE:
            offered = [f"tags.{quote_name(n)}" for n in known.tags]
            close = suggestion(ref.name, known.tags)
            detail = listing(known.tags, "tags")
        elif ref.scope:
            offered = [f"run.{n}" for n in fields]
            close = suggestion(ref.name, fields)
            detail = listing(fields, "run fields")
        else:
            offered = hyperparameters + fields
            close = suggestion(ref.name, [*known.hyperparameters, *fields])
            detail = f"{listing(hyperparameters, 'hyperparameters')}; " \
                f"run fields: {', '.join(fields)}"
            if known.metrics:
                shown = ", ".join(f"best.{quote_name(m)}" for m in known.metrics[:5])
                more = ", ..." if len(known.metrics) > 5 else ""
                detail += f"; metrics as best.NAME or last.NAME: {shown}{more}"
        message = describe(f"no {what} {ref.name!r} in {_in_where(self.experiment)}{close} "
                           f"({detail})", text, ref.span)
        return UnknownFilterNameError(message, known=tuple(offered), experiment=self.experiment,
                                      expression=text, position=ref.span)


def probe(stmt) -> ColumnElement[bool]:
    """``EXISTS (stmt) IS TRUE``, ``stmt`` correlated to ``runs``: one primary-key seek per run.

    Written so that PostgreSQL keeps it a per-run sub-plan rather than pulling it up into a
    semi-join whose method it would pick from statistics: on a freshly loaded database (no
    ANALYZE yet) the estimates say "1 row", and the nested loop it then picks rescans a whole
    index for every run (quadratic; benchmarks/RESULTS.md, never-analyzed databases)."""
    return stmt.correlate(r).exists().is_(true())


def _a(category: str) -> str:
    return {"number": "a number", "text": "text", "bool": "a boolean", "none": "None"}[category]
