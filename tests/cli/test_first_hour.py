"""What a newcomer meets in the first hour: the install line of the Quick start, errors naming
the feature that needs a missing package, titles that say "all experiments", JSON that scripts
can read, `tracker --version`, and help whose first sentences are whole."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

from tracker import Repository, __version__
from tracker.cli import app
from tracker.optional import MissingDependency

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def filled(url) -> str:
    repo = Repository(url)
    for i in range(12):
        key = repo.start_run("first", hyperparameters={"batch_size": 16 * (1 + i % 3),
                                                       "learning_rate": 10 ** (-1 - i / 4)})
        repo.log_epochs(key, {0: {"val_accuracy": 0.5 + i / 40}, 1: {"val_accuracy": 0.6 + i / 40}})
        repo.finish_run(key)
    key = repo.start_run("second", hyperparameters={"batch_size": 8})
    repo.log_epochs(key, {0: {"val_accuracy": 0.1}})
    repo.finish_run(key)
    return url


def test_quick_start_installs_from_the_checkout():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "pip install 'sweep-tracker[" not in quick  # not on any index
    assert "pip install -e '.[keras]'" in quick and "analysis" in quick
    table = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    for command in ("export", "plot curves", "plot hparams", "plot compare", "plot parallel",
                    "report", "importance"):
        [row] = [line for line in table.splitlines() if line.startswith(f"| `tracker {command}")]
        assert "*(analysis)*" in row, command


def test_version():
    out = run_cli("--version")
    assert out.code == 0 and out.out.strip() == f"sweep-tracker {__version__}"


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def test_each_help_starts_with_one_whole_short_sentence():
    import typer

    found = list(_commands(typer.main.get_command(app)))
    assert len(found) >= 20
    for path, command in found:
        first = (command.help or "").strip().split("\n\n", 1)[0]
        assert "\n" not in first and first.endswith(".") and len(first) <= 80, (path, first)
    # And so the listing shows whole sentences, one line each, whatever Typer shows of it.
    out = run_cli("--help", env={"COLUMNS": "140"})
    assert out.code == 0
    for name in ("export", "report", "sync", "gc", "plot", "importance"):
        [line] = [row for row in out.out.splitlines() if re.match(rf"\W*{name}\s", row)]
        assert line.rstrip(" │").endswith("."), line


def test_titles_say_which_experiments(filled):
    for args in (["runs"], ["best", "-g", "batch_size", "-m", "val_accuracy"],
                 ["top", "-m", "val_accuracy"]):
        out = run_cli(*args, "--url", filled)
        assert out.code == 0, out.err
        assert "all experiments" in " ".join(out.out.split()), args
        out = run_cli(*args, "-e", "first", "--url", filled)
        assert "experiment 'first'" in " ".join(out.out.split()), args


def test_json_is_one_array_and_jsonl_one_object_a_line(filled):
    for args in (["experiments"], ["runs"], ["best", "-g", "batch_size", "-m", "val_accuracy"],
                 ["top", "-m", "val_accuracy", "-k", "3"]):
        out = run_cli(*args, "--url", filled, "--format", "json")
        assert out.code == 0, out.err
        rows = json.loads(out.out)
        assert isinstance(rows, list) and rows, args
        assert all(" " not in key for row in rows for key in row), rows[0]
        out = run_cli(*args, "--url", filled, "--format", "jsonl")
        assert [json.loads(line) for line in out.out.splitlines()] == rows
    best = json.loads(run_cli("best", "-g", "batch_size", "-m", "val_accuracy", "-e", "first",
                              "--url", filled, "-f", "json").out)
    assert set(best[0]) == {"batch_size", "best_val_accuracy", "run", "epoch", "runs"}
    run_id = Repository(filled).runs("first")[0].id
    shown = json.loads(run_cli("show", str(run_id), "--url", filled, "-f", "json").out)
    assert shown["id"] == run_id and shown["history_complete"] is True
    assert shown["hyperparameters"] == {"batch_size": 16, "learning_rate": 0.1}
    assert [m["epoch"] for m in shown["metrics"]] == [0, 1]
    line = run_cli("show", str(run_id), "--url", filled, "-f", "jsonl").out
    assert len(line.strip().splitlines()) == 1 and json.loads(line) == shown


@pytest.mark.parametrize("module, feature", [
    ("matplotlib", "Drawing plots"), ("pandas", "Drawing plots"),
])
def test_a_plot_names_itself_when_a_package_is_missing(filled, monkeypatch, module, feature):
    from tracker.analysis.plots import plot_hparams

    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependency, match=rf"^{feature} needs {module}, which is not "
                       r"installed\. .*pip install -e '\.\[analysis\]' in its checkout"):
        plot_hparams(Repository(filled), "val_accuracy")


def test_report_export_and_importance_name_themselves(filled, monkeypatch, tmp_path):
    from tracker.analysis.exports import export
    from tracker.analysis.report import build_report

    repo = Repository(filled)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependency, match=r"^The HTML report needs matplotlib"):
        build_report(repo)
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingDependency, match=r"^Hyperparameter importance needs optuna"):
        repo.importance("val_accuracy", "first")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependency, match=r"^Exporting needs pandas"):
        export(repo, tmp_path / "runs.csv")
    out = run_cli("plot", "hparams", "-m", "val_accuracy", "-o", str(tmp_path / "x.png"),
                  "--url", filled, env={"PYTHONPATH": str(_blocker(tmp_path, "matplotlib"))})
    assert out.code == 1 and out.err.startswith("error: Drawing plots needs matplotlib"), out.err


def _blocker(tmp_path: Path, module: str) -> Path:
    """A folder whose ``module`` fails to import, as when it is not installed."""
    folder = tmp_path / "blocked"
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(f"raise ImportError('no {module} here')\n")
    return folder


def test_hparams_legend_sits_under_the_title_and_says_when_it_highlights_fewer(filled):
    from tracker.analysis.plots import plot_hparams

    figure = plot_hparams(Repository(filled), "val_accuracy", experiment="first", highlight=5)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # lays the figure out, as saving it does
    renderer = canvas.get_renderer()
    texts = list(dict.fromkeys([*figure.texts, figure._suptitle]))  # a suptitle is a text
    [title] = [t for t in texts if t and t.get_text().startswith("Best val_accuracy")]
    [legend] = figure.legends
    title_box, legend_box = title.get_window_extent(renderer), legend.get_window_extent(renderer)
    assert not title_box.overlaps(legend_box), (title_box, legend_box)
    assert legend_box.y1 <= title_box.y0  # below it
    for axes in figure.axes:
        if axes.get_visible():
            assert not legend_box.overlaps(axes.get_window_extent(renderer))
    assert "the 3 best runs" in legend.get_texts()[0].get_text()
    assert "3 best runs highlighted, not 5: at most a quarter of the 12 runs" in \
        figure._supxlabel.get_text()
    out = run_cli("plot", "hparams", "--help")
    assert "at most a quarter" in " ".join(out.out.split())


PAUSED_SCRIPT = """
import os, sys, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import numpy as np
import keras
from tracker import TrackingCallback

model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile("sgd", "mse")
callback = TrackingCallback(sys.argv[1], experiment="paused", on_error="warn")
model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0, callbacks=[callback])
"""


def test_a_paused_database_is_said_once(tmp_path):
    """No log line beside the warning when the application never set logging up."""
    import subprocess

    script = tmp_path / "paused.py"
    script.write_text(PAUSED_SCRIPT)
    unreachable = "postgresql+psycopg2://postgres@127.0.0.1:1/nothing?connect_timeout=1"
    done = subprocess.run([sys.executable, str(script), unreachable], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path,
                          env={**__import__("os").environ, "TRACKER_JOURNAL_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("tracking paused, training goes on") == 1, done.stderr


def test_the_suite_prints_no_stray_journal_lines():
    """A test's outboxes are closed inside the test (tests/conftest.py), so what they could not
    write is reported in the test's capture, not printed when the worker exits."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "tests/training/test_tuner.py", "-k", "unreachable"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "could not be written" not in done.stdout + done.stderr
