"""Security: no SQL is built by string formatting anywhere in the project (checked on the
source), and a password in the URL (with %, @ and : in it) never appears in output, logs,
reprs, warnings or error messages."""

from __future__ import annotations

import ast
import logging
import re
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_helpers import run_cli

from tracker import DatabaseError, Repository, SchemaError, TrackerError
from tracker.capture.journal import journal_files
from tracker.store import db, schema

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["tracker", "migrations", "tests", "benchmarks"]

# Calls that take SQL text as their first argument.
SQL_CALLS = {"execute", "exec_driver_sql", "executemany", "executescript", "literal_column",
             "CheckConstraint", "DDL", "TextClause"}
SQL_WORDS = re.compile(
    r"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA\s|CREATE\s+(TABLE|INDEX|"
    r"UNIQUE|DATABASE|EXTENSION)|DROP\s+(TABLE|INDEX|DATABASE)|ALTER\s+TABLE|TRUNCATE\s|VACUUM)"
    r"|\s(IN|WHERE|VALUES)\s*\(",
)


def _is_text(node) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(
        node, ast.JoinedStr)


def formatted(node) -> bool:
    """A string built by formatting: an f-string with fields, ``%``, ``+`` of text,
    ``"...".format()`` or ``"...".join()`` (psycopg2's ``sql.SQL(...).format()`` quotes
    identifiers itself and is fine)."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_text(node.left) or _is_text(node.right) or formatted(node.left) or formatted(
            node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and _is_text(node.func.value)
    return False


def literal_parts(node) -> str:
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return literal_parts(node.left) + " " + literal_parts(node.right)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return literal_parts(node.func.value)
    return ""


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        # sa.text / sqlalchemy.text, never matplotlib's axes.text
        if func.attr == "text":
            base = func.value
            ours = isinstance(base, ast.Name) and base.id in ("sa", "sqlalchemy")
            return "text" if ours else None
        return func.attr
    return None


def sql_problems(source: str, filename: str = "<source>") -> list[str]:
    """Where ``source`` builds SQL by string formatting."""
    tree = ast.parse(source, filename)
    tainted = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and formatted(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    problems = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call) and _call_name(node) in SQL_CALLS | {"text"}:
            first = node.args[0] if node.args else None
            if first is not None and (
                formatted(first) or (isinstance(first, ast.Name) and first.id in tainted)
            ):
                problems.append(f"{where}: {_call_name(node)}() gets a formatted string")
        if formatted(node) and SQL_WORDS.search(literal_parts(node)):
            problems.append(f"{where}: SQL-looking text built by formatting")
    return problems


def test_no_sql_is_built_by_string_formatting():
    files = [p for folder in SOURCES for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 30
    problems = [problem for path in files
                for problem in sql_problems(path.read_text(), str(path.relative_to(ROOT)))]
    assert problems == []


@pytest.mark.parametrize("bad", [
    'conn.execute(text(f"SELECT * FROM runs WHERE name = \'{name}\'"))',
    'conn.exec_driver_sql("PRAGMA busy_timeout = %d" % ms)',
    'cursor.execute("DELETE FROM runs WHERE id = " + str(run_id))',
    'sql = "SELECT {} FROM runs".format(column)\nconn.execute(sa.text(sql))',
    'CheckConstraint(f"status IN ({values})")',
    'query = f"UPDATE runs SET status = {status!r}"',
    'op.execute(f"CREATE INDEX ix ON {table} (x)")',
])
def test_the_check_catches_formatted_sql(bad):
    assert sql_problems(bad)


@pytest.mark.parametrize("good", [
    'conn.execute(sa.text("SELECT count(*) FROM alembic_version"))',
    'conn.exec_driver_sql("PRAGMA foreign_key_check")',
    'conn.execute(select(runs).where(runs.c.name == name))',
    'cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))',
    'axes.text(0.5, 0.5, f"{n} runs")',
    'raise ValueError(f"no run named {name!r}")',
])
def test_the_check_lets_proper_sql_through(good):
    assert sql_problems(good) == []


# -- passwords ----------------------------------------------------------------------------------

PASSWORD = "p%ss@w:rd/S3cr3t"
SPELLINGS = [PASSWORD, quote(PASSWORD, safe=""), "S3cr3t", "p%ss@w", "w:rd"]


def with_password(url: str) -> str:
    parsed = db.resolve_url(url)
    return parsed.set(username=parsed.username or "postgres", password=PASSWORD).render_as_string(
        hide_password=False)


def assert_no_password(*texts: str) -> None:
    for text in texts:
        for spelling in SPELLINGS:
            assert spelling not in text, f"{spelling!r} leaked in: {text[:300]}"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def every_log_record():
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_password_never_shown_by_the_library(postgres, every_log_record, journal_dir):
    """The server trusts local connections, so the password is accepted and every surface
    is exercised: success, a schema error, an unreachable server, a missing database."""
    url = with_password(postgres.create())
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SchemaError) as not_migrated:
            Repository(url).runs()
        seen.append(str(not_migrated.value))
        schema.upgrade(url)
        repo = Repository(url)
        key = repo.start_run("secret", hyperparameters={"units": 8})
        repo.log_epoch(key, 0, {"loss": 0.5})
        seen += [repr(repo), str(repo.url), repr(repo.runs()), repr(db.get_engine(url))]
        for broken in (db.resolve_url(url).set(port=1), db.resolve_url(url).set(database="nope")):
            with pytest.raises(DatabaseError) as failed:
                Repository(broken.render_as_string(hide_password=False)).runs()
            seen += [str(failed.value), repr(failed.value)]
        with pytest.raises(TrackerError) as bad_url:
            Repository(url.replace("postgresql", "mysql"))
        seen.append(str(bad_url.value))

        from tracker.capture.recorder import RunRecorder

        recorder = RunRecorder(db.resolve_url(url).set(port=1).render_as_string(
            hide_password=False))
        key = recorder.start_run("unreachable")
        recorder.log_epoch(key, 0, {"loss": 1.0})
        recorder.flush(timeout=10)
        seen += [repr(recorder), repr(recorder.outbox)]
        recorder.outbox.close(timeout=1)
    seen += [str(w.message) for w in caught]
    assert any("tracking paused" in text for text in seen)
    seen += [p.read_text() for p in journal_files(Path(journal_dir))]
    assert any("***" in text for text in seen)
    assert_no_password(*seen, *every_log_record)


@pytest.mark.keras
def test_password_never_shown_by_the_callback(postgres, every_log_record):
    pytest.importorskip("keras")
    from keras_helpers import make_data, make_model

    from tracker import TrackingCallback

    url = with_password(postgres.create())
    schema.upgrade(url)
    unreachable = db.resolve_url(url).set(port=1).render_as_string(hide_password=False)
    x, y = make_data(64)
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for target in (url, unreachable):
            callback = TrackingCallback(target, experiment="secret")
            make_model().fit(x, y, epochs=2, verbose=0, callbacks=[callback])
            seen += [repr(callback), str(callback.url), str(vars(callback).get("url", ""))]
        with pytest.raises(DatabaseError) as failed:
            make_model().fit(x, y, epochs=1, verbose=0, callbacks=[
                TrackingCallback(unreachable, on_error="raise")])
        seen.append(str(failed.value))
    seen += [str(w.message) for w in caught]
    assert any("tracking paused" in text for text in seen)
    assert_no_password(*seen, *every_log_record)


def test_password_never_shown_by_the_command_line(postgres, tmp_path):
    url = with_password(postgres.create())
    unreachable = db.resolve_url(url).set(port=1).render_as_string(hide_password=False)
    journal = str(tmp_path / "journal")
    outputs = []
    for args, target in [
        (["db", "current"], url), (["runs"], url), (["db", "upgrade"], url),
        (["db", "current"], url), (["runs", "--status", "stale"], url), (["gc"], url),
        (["sync", "--journal-dir", journal], url), (["runs"], unreachable),
        (["db", "upgrade"], unreachable), (["gc"], unreachable),
    ]:
        for how in ("--url", "env"):
            if how == "--url":
                out = run_cli(*args, "--url", target)
            else:
                out = run_cli(*args, env={"TRACKER_DATABASE_URL": target})
            assert "Traceback" not in out.err
            outputs += [out.out, out.err]
    assert any("***" in text for text in outputs)
    assert any("not migrated" in text for text in outputs)
    assert_no_password(*outputs)
