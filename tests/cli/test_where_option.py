"""``--where EXPR`` on every command that reads runs, ``--metric`` defaulting to the objective,
unknown names as one line and a non-zero exit; and read-only commands in a folder without a
database: they say so, with the absolute path, and create nothing."""

from __future__ import annotations

import json

import pytest
from cli_helpers import run_cli

from tracker import Repository

ADAM_SMALL = "learning_rate < 1e-2 and optimizer == 'adam'"


@pytest.fixture
def sweep(url) -> str:
    repo = Repository(url)
    for i, (lr, opt, bs) in enumerate([(1e-3, "adam", 32), (1e-1, "adam", 64), (1e-3, "sgd", 32),
                                       (5e-3, "adam", 64)]):
        key = repo.start_run("cli", hyperparameters={"learning_rate": lr, "optimizer": opt,
                                                    "batch_size": bs},
                             objective="val_accuracy", direction="max", trial_id=str(i))
        repo.log_epochs(key, {e: {"val_accuracy": 0.5 + i / 10 + e / 100, "val_loss": 1 - i / 10}
                              for e in range(3)})
        repo.finish_run(key)
    return url


def run_ids(url: str, *trials: int) -> list[int]:
    """The ids the database gave the runs of these trials (PostgreSQL's sequences are shared
    by the tests, so ids do not start at 1)."""
    by_trial = {r.trial_id: r.id for r in Repository(url).runs("cli")}
    return [by_trial[str(t)] for t in trials]


def rows(out) -> list[dict]:
    assert out.code == 0, out.err
    text = out.out.strip()
    if text.startswith("["):  # a JSON array, else JSON Lines
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines()]


def test_where_filters_runs_best_top_and_trials(sweep):
    found = rows(run_cli("runs", "-e", "cli", "--where", ADAM_SMALL, "-f", "json", "--url", sweep))
    assert [r["id"] for r in found] == run_ids(sweep, 0, 3)
    # repeated: all must hold, and the old NAME=VALUE form still works
    found = rows(run_cli("runs", "--where", "batch_size=64", "-w", "best.val_accuracy > 0.7",
                         "-f", "json", "--url", sweep))
    assert [r["id"] for r in found] == run_ids(sweep, 3)
    best = rows(run_cli("best", "-g", "batch_size", "-e", "cli", "--where", ADAM_SMALL, "-f",
                        "json", "--url", sweep))  # --metric: the objective
    first, fourth = run_ids(sweep, 0, 3)
    assert [(b["batch_size"], b["run"]) for b in best] == [(32, first), (64, fourth)]
    top = rows(run_cli("top", "-k", "5", "--where", "optimizer != 'adam'", "-f", "json",
                       "--url", sweep))
    assert [t["run"] for t in top] == run_ids(sweep, 2)
    trials = rows(run_cli("trials", "-e", "cli", "--where", "batch_size == 32", "-f", "json",
                          "--url", sweep))
    assert [t["trial"] for t in trials] == ["0", "2"]


def test_where_on_export_plot_and_report(sweep, tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    out = run_cli("export", "--where", ADAM_SMALL, "-o", str(tmp_path / "runs.csv"),
                  "--url", sweep)
    assert out.code == 0, out.err
    lines = (tmp_path / "runs.csv").read_text().splitlines()
    assert len(lines) == 3 and "Wrote 2 runs rows" in out.err
    out = run_cli("plot", "compare", "-g", "batch_size", "-w", ADAM_SMALL, "-o",
                  str(tmp_path / "compare.png"), "--url", sweep)
    assert out.code == 0, out.err
    assert (tmp_path / "compare.png").stat().st_size > 1000
    out = run_cli("report", "-e", "cli", "-w", ADAM_SMALL, "-o", str(tmp_path / "r.html"),
                  "--url", sweep)
    assert out.code == 0, out.err
    html = (tmp_path / "r.html").read_text()
    assert "runs where learning_rate &lt; 1e-2 and optimizer == &#x27;adam&#x27;" in html
    assert "2 runs" in html


@pytest.mark.parametrize("args, message", [
    (["best", "-g", "batchsize"], "no hyperparameter 'batchsize' in experiment 'cli'; did you "
                                  "mean 'batch_size'?"),
    (["top", "-m", "val_acc"], "no metric 'val_acc' in experiment 'cli'"),
    (["runs", "--where", "optimizer == 3"], "optimizer holds text values, never a number"),
    (["plot", "curves", "-m", "val_acc", "-o", "x.png"], "no metric 'val_acc'"),
])
def test_unknown_names_exit_non_zero_with_one_line(sweep, args, message, tmp_path):
    out = run_cli(*args, "-e", "cli", "--url", sweep, cwd=tmp_path)
    assert out.code != 0
    assert out.err.count("\n") == 1 and out.err.startswith("error: ")
    assert message in out.err, out.err


@pytest.mark.parametrize("command", [
    ["runs"], ["experiments"], ["best", "-g", "batch_size", "-m", "val_accuracy"],
    ["top", "-m", "val_accuracy"], ["trials", "-e", "mnist"], ["show", "1"],
    ["export", "-o", "runs.csv"], ["plot", "curves", "-m", "val_loss"], ["report"],
])
def test_read_only_commands_create_no_database(tmp_path, command):
    out = run_cli(*command, cwd=tmp_path, env={"TRACKER_DATABASE_URL": ""})
    assert out.code != 0
    assert f"there is no database at {tmp_path / 'tracker.db'}" in out.err
    assert "tracker db upgrade" in out.err and "before training" not in out.err
    assert list(tmp_path.iterdir()) == []  # no tracker.db, no WAL files, no output file


def test_db_current_creates_no_database_either(tmp_path):
    missing = tmp_path / "sub.db"
    out = run_cli("db", "current", "--url", f"sqlite:///{missing}")
    assert out.code == 0 and f"there is no database at {missing}" in out.out
    assert not missing.exists()
    assert run_cli("db", "upgrade", "--url", f"sqlite:///{missing}").code == 0
    assert missing.exists()
