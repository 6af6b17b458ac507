"""Names and values come from anyone who can write to the database: the command line shows
them as text, on both backends. A closing markup tag once broke ``tracker runs`` for the whole
database, and escape sequences reached the terminal."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

from cli_helpers import run_cli
from hostile import EXPERIMENT, HUGE, TEXTS, record_hostile


def test_tables_show_markup_and_control_characters_as_text(url):
    record_hostile(url)
    for command in (["runs"], ["experiments"], ["runs", "-e", EXPERIMENT],
                    ["best", "-g", "=cmd", "-m", "val_accuracy", "-e", EXPERIMENT],
                    ["top", "-m", "val_accuracy", "-e", EXPERIMENT]):
        out = run_cli(*command, "--url", url)
        assert out.code == 0, (command, out.err)
        assert "\x1b" not in out.out and "\r" not in out.out, command
        assert "cost $^$ [/] \\x1b[2J" in " ".join(out.out.split()), command
    table = run_cli("runs", "--url", url).out
    for shown in ("[/]", "a\\rb", "line\\nbreak", "\\x1b[31mred", "=1+2", str(HUGE)):
        assert shown in table


def test_error_messages_escape_what_they_quote(url):
    record_hostile(url)
    out = run_cli("runs", "-e", "nope\x1b]0;owned\x07", "--url", url)
    assert out.code != 0 and "\x1b" not in out.err and "\x07" not in out.err
    assert "nope\\x1b]0;owned\\x07" in out.err


def test_csv_format_keeps_every_value_exactly(url):
    record_hostile(url)
    done = subprocess.run(  # bytes: text mode would turn the carriage return into a newline
        [sys.executable, "-m", "tracker", "runs", "-e", EXPERIMENT, "--url", url,
         "--format", "csv"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode(), newline="")))
    assert [row["=cmd"] for row in rows] == TEXTS
    assert {row["huge"] for row in rows} == {str(HUGE), "0", "2", "4", "6"}


def test_a_row_another_tool_wrote_never_breaks_a_command(url):
    import sqlalchemy as sa

    from tracker.store import db
    from tracker.store.models import Hyperparameter

    record_hostile(url)
    table = Hyperparameter.__table__
    with db.get_engine(url).begin() as conn:  # kind int, but no int Python reads
        conn.execute(sa.update(table).where(table.c.name == "huge")
                     .values(text_value="9" * 5000))
    for command in (["runs"], ["runs", "--format", "json"], ["export"]):
        out = run_cli(*command, "--url", url)
        assert out.code == 0, (command, out.err)
        assert out.out.count("9") >= 5000  # as text (a table folds it over lines)
