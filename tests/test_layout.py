"""The package's layout is checked, not hoped for: the import contracts of ``pyproject.toml``
hold, and break on a forbidden import; the import paths the README shows (and the old module
paths) keep working; modules stay small; each subpackage says what it is for."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SUBPACKAGES = ["store", "capture", "training", "pruning", "analysis", "importers", "ui",
               "cli"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the ``tracker`` package found in ``cwd`` (its pyproject.toml)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_import_contracts_are_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture
def copy_of_the_package(tmp_path) -> Path:
    shutil.copytree(ROOT / "tracker", tmp_path / "tracker",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("store/queries.py", "from ..analysis import frames", "Subpackages are layered"),
        ("store/values.py", "import pandas", "never load pandas"),
        ("capture/outbox.py", "from ..training import callback", "Subpackages are layered"),
        ("analysis/frames.py", "import keras", "Only the training side"),
        ("store/trial_store.py", "from . import repository", "No import circles"),
        ("analysis/frames.py", "from ..ui import api", "Subpackages are layered"),
        ("ui/api.py", "from ..cli import options", "Subpackages are layered"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(copy_of_the_package, module, line, broken):
    path = copy_of_the_package / "tracker" / module
    text = path.read_text()
    # After the module docstring and the __future__ import, where an import would go.
    anchor = "from __future__ import annotations\n"
    assert anchor in text
    path.write_text(text.replace(anchor, f"{anchor}\n{line}  # noqa\n", 1))
    done = lint_imports(copy_of_the_package)
    assert done.returncode != 0
    assert re.search(rf"{re.escape(broken)}[^\n]*BROKEN", done.stdout), done.stdout


# Every import the README shows, and what the public package exports.
README_IMPORTS = [
    ("tracker", "Repository"),
    ("tracker", "TrackingCallback"),
    ("tracker", "track"),
    ("tracker", "RunInfo"),
    ("tracker", "GroupBest"),
    ("tracker", "TrialSummary"),
    ("tracker.plots", "plot_curves"),
    ("tracker.plots", "plot_hparams"),
    ("tracker.plots", "plot_compare"),
    ("tracker.plots", "save_figure"),
    ("tracker.plots", "plot_parallel"),
    ("tracker.report", "write_report"),
    ("tracker.importers.tensorboard", "import_tensorboard"),
    ("tracker.importers.keras_tuner", "import_keras_tuner"),
    ("tracker.store", "Repository"),
    ("tracker.pruning", "MedianPruner"),
    ("tracker.pruning", "PercentilePruner"),
]


@pytest.mark.parametrize(("module", "name"), README_IMPORTS)
def test_readme_import_paths_work(module, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert getattr(importlib.import_module(module), name) is not None


def test_the_readme_shows_only_import_paths_that_are_tested():
    readme = (ROOT / "README.md").read_text()
    shown = set(re.findall(r"from (tracker[\w.]*) import ([\w, ]+)", readme))
    tested = {(module, name) for module, name in README_IMPORTS}
    for module, names in shown:
        for name in (n.strip() for n in names.split(",")):
            assert (module, name) in tested, f"README shows `from {module} import {name}`"


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("tracker.callback", "tracker.training.callback", "TrackingCallback"),
        ("tracker.tuner", "tracker.training.tuner", "track"),
        ("tracker.db", "tracker.store.db", "resolve_url"),
        ("tracker.schema", "tracker.store.schema", "upgrade"),
        ("tracker.models", "tracker.store.models", "Run"),
        ("tracker.recorder", "tracker.capture.recorder", "RunRecorder"),
        ("tracker.sync", "tracker.capture.sync", "sync"),
        ("tracker.exports", "tracker.analysis.exports", "export"),
        ("tracker.frame_store", "tracker.analysis.dataframes", "to_dataframe"),
    ],
)
def test_old_module_paths_are_the_new_modules(old, new, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=re.escape(new)):
        moved = importlib.import_module(old)
    assert moved is importlib.import_module(new)
    assert getattr(moved, name) is getattr(importlib.import_module(new), name)


def test_short_names_and_their_submodules_are_the_analysis_modules():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        curves = importlib.import_module("tracker.plots.curves")
        report = importlib.import_module("tracker.report")
    assert curves is importlib.import_module("tracker.analysis.plots.curves")
    assert report is importlib.import_module("tracker.analysis.report")


def test_the_public_repository_reads_dataframes_the_store_does_not():
    from tracker import Repository
    from tracker.store import Repository as StoreRepository

    assert issubclass(Repository, StoreRepository)
    assert hasattr(Repository, "to_dataframe") and not hasattr(StoreRepository, "to_dataframe")


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "tracker").rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    }
    assert not long


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_subpackage_says_what_it_is_for_and_may_import(name):
    doc = importlib.import_module(f"tracker.{name}").__doc__ or ""
    assert len(doc.split()) >= 15
    assert re.search(r"[Mm]ay import", doc), doc


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_tests_mirror_the_package(name):
    assert list((ROOT / "tests" / name).glob("test_*.py"))
