"""The ``tracker`` command, run as users run it, on both backends."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import run_cli

from tracker import Repository
from tracker.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def filled(url) -> str:
    repo = Repository(url)
    for bs, curve in [(32, [0.5, 0.8]), (64, [0.6, 0.7]), (32, [0.1, float("nan")])]:
        key = repo.start_run("cli", hyperparameters={"batch_size": bs, "opt": "adam"})
        for epoch, value in enumerate(curve):
            repo.log_epoch(key, epoch, {"val_accuracy": value, "loss": 1 - value})
        repo.finish_run(key)
    return url


def test_db_upgrade_current_downgrade(empty_url):
    out = run_cli("db", "current", "--url", empty_url)
    assert out.code == 0 and "not migrated" in out.out
    out = run_cli("db", "upgrade", "--url", empty_url)
    assert out.code == 0 and "upgraded from an empty database to revision" in out.out
    out = run_cli("db", "upgrade", "--url", empty_url)
    assert out.code == 0 and "already at revision" in out.out
    out = run_cli("db", "current", env={"TRACKER_DATABASE_URL": empty_url})
    assert out.code == 0 and "(head)" in out.out
    out = run_cli("db", "downgrade", "base", "--yes", "--url", empty_url)
    assert out.code == 0 and "base (no tables)" in out.out
    assert run_cli("db", "downgrade", "base", "--url", empty_url).code != 0  # not confirmed


def test_default_url_is_a_sqlite_file_in_the_working_directory(tmp_path):
    env = {"TRACKER_DATABASE_URL": ""}
    out = run_cli("db", "upgrade", cwd=tmp_path, env=env)
    assert out.code == 0, out.err
    assert (tmp_path / "tracker.db").is_file()
    assert "sqlite:///tracker.db" in out.out


def test_best_table_and_json(filled):
    out = run_cli("best", "--group-by", "batch_size", "--metric", "val_accuracy", "--url", filled)
    assert out.code == 0, out.err
    words = " ".join(out.out.split())  # Rich wraps a title to the table's width
    assert "Best val_accuracy (max) per batch_size — all experiments" in words
    assert re.search(r"32 .* 0\.8 ", out.out) and re.search(r"64 .* 0\.7 ", out.out)
    out = run_cli("best", "-g", "batch_size", "-m", "loss", "-e", "cli", "--url", filled,
                  "--format", "json")
    assert "Best loss (min) per batch_size — experiment 'cli'" not in out.out  # no title in JSON
    rows = json.loads(out.out)  # one JSON array
    assert [(r["batch_size"], round(r["best_loss"], 6), r["runs"]) for r in rows] == [
        (32, 0.2, 2), (64, 0.3, 1)]
    out = run_cli("best", "-g", "batch_size", "-m", "loss", "-e", "cli", "--url", filled,
                  "--format", "jsonl")
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert lines == rows


def test_runs_experiments_show_top(filled):
    out = run_cli("runs", "--url", filled, "--where", "batch_size=32", "--format", "csv")
    assert out.code == 0, out.err
    lines = out.out.strip().splitlines()
    assert lines[0] == "id,experiment,trial,status,started,batch_size,opt"
    assert len(lines) == 3
    out = run_cli("experiments", "--url", filled)
    assert out.code == 0 and "cli" in out.out and "3" in out.out
    run_id = Repository(filled).runs()[2].id
    out = run_cli("show", str(run_id), "--url", filled)
    assert out.code == 0, out.err
    assert "Hyperparameters" in out.out and "nan" in out.out and "adam" in out.out
    out = run_cli("top", "-m", "val_accuracy", "-k", "1", "--url", filled, "-f", "csv")
    assert out.out.splitlines()[1].startswith("1,") and ",0.8," in out.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["best", "--group-by", "bs", "--metric", "val_accuracy", "-e", "nope"],
         "no experiment named 'nope'"),
        (["best", "--group-by", "bs", "--metric", "mystery"], "no metric 'mystery'"),
        (["best", "--group-by", "bs", "--metric", "x", "--mode", "up"], "mode must be"),
        (["show", "99999"], "no run '99999'"),
        (["runs", "--where", "novalue"], "no hyperparameter or run field 'novalue'"),
        (["runs", "--where", "batch_size =< 3"], "column 12: invalid syntax (write <=)"),
        (["runs", "--format", "xml"], "--format must be"),
    ],
)
def test_bad_arguments_give_one_line_and_nonzero_exit(filled, args, message):
    out = run_cli(*args, "--url", filled)
    assert out.code != 0
    assert message in out.err
    assert "Traceback" not in out.err + out.out


def test_unmigrated_database_names_the_upgrade_command(empty_url):
    out = run_cli("runs", "--url", empty_url)
    assert out.code == 1
    assert "tracker db upgrade" in out.err and "Traceback" not in out.err
    assert len(out.err.strip().splitlines()) == 1


def test_unreachable_database_and_masked_password():
    url = "postgresql://alice:p%40ss%3Aw0rd%25@127.0.0.1:1/sweeps"
    for args in (["runs"], ["db", "upgrade"], ["db", "current"]):
        out = run_cli(*args, "--url", url)
        assert out.code == 1
        assert len(out.err.strip().splitlines()) == 1, out.err
        assert "Traceback" not in out.err
        for secret in ("p%40ss", "p@ss", "w0rd"):
            assert secret not in out.err + out.out
        assert "alice:***@127.0.0.1:1" in out.err


def test_not_a_url():
    out = run_cli("runs", "--url", "mysql://x@y/z")
    assert out.code == 1 and "unsupported database 'mysql'" in out.err


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    import typer

    def walk(group, prefix: str = ""):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    commands = list(walk(typer.main.get_command(app)))
    assert len(commands) >= 8
    for command in commands:
        out = run_cli(*command.split(), "--help")
        assert out.code == 0 and "Example:" in out.out, command
        assert f"tracker {command}" in readme, f"`tracker {command}` is not in the README"


def test_help_without_a_database(tmp_path):
    out = run_cli("--help", cwd=tmp_path)
    assert out.code == 0 and "best" in out.out
    assert not (tmp_path / "tracker.db").exists()
