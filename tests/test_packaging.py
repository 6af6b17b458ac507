"""The wheel carries the migrations: install it into a fresh venv and migrate a database from
an unrelated directory, on both backends."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the built wheel (and its dependencies) installed; returns its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        check=True,
    )
    [wheel] = work.glob("sweep_tracker-*.whl")
    venv.EnvBuilder(with_pip=True).create(work / "venv")
    bin_dir = work / "venv" / "bin"
    subprocess.run([bin_dir / "pip", "install", "-q", str(wheel)], check=True)
    return bin_dir


def test_wheel_contains_the_migrations(installed):
    out = subprocess.run(
        [installed / "python", "-c", "import tracker.schema as s; print(s.migrations_dir())"],
        capture_output=True, text=True, check=True, cwd="/",
    )
    location = Path(out.stdout.strip())
    assert "site-packages" in str(location) and location.name == "migrations"
    assert (location / "versions").is_dir()


def test_installed_wheel_migrates_from_elsewhere(installed, new_database, tmp_path):
    url = new_database()
    elsewhere = tmp_path / "unrelated"
    elsewhere.mkdir()
    run = lambda *args: subprocess.run(  # noqa: E731
        [installed / "tracker", *args, "--url", url], capture_output=True, text=True, cwd=elsewhere
    )
    done = run("db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "upgraded from an empty database" in done.stdout
    done = run("db", "current")
    assert "(head)" in done.stdout
    assert run("experiments").returncode == 0


def test_cli_does_not_import_tensorflow(installed):
    check = (
        "import sys, tracker.cli\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([installed / "python", "-c", check], check=True)
