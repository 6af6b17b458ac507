"""Old module paths, kept working for this release: ``tracker.db`` is ``tracker.store.db``.

The modules moved into subpackages (``store``, ``capture``, ``training``, ``analysis``). An
import of an old path gets the very module object of the new one (so ``isinstance`` checks and
monkeypatching see one module), with a ``DeprecationWarning`` naming the new path.
``tracker.plots`` and ``tracker.report`` are short names the README uses: no warning.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from importlib.machinery import ModuleSpec

MOVED = {
    **{f"tracker.{name}": f"tracker.store.{name}" for name in (
        "models", "db", "schema", "dialects", "values", "records", "writes", "queries",
        "stale", "bulk", "trial_store", "trial_queries",
    )},
    **{f"tracker.{name}": f"tracker.capture.{name}" for name in (
        "journal", "outbox", "recorder", "sync",
    )},
    **{f"tracker.{name}": f"tracker.training.{name}" for name in (
        "callback", "batches", "tuner", "tuner_recorder", "demo",
    )},
    **{f"tracker.{name}": f"tracker.analysis.{name}" for name in (
        "frames", "runs_frame", "exports", "report", "plots",
    )},
    "tracker.frame_store": "tracker.analysis.dataframes",
}
SHORT_NAMES = {"tracker.plots", "tracker.report"}


def new_path(name: str) -> str | None:
    """Where the module ``name`` lives now, or None when it did not move.

    >>> new_path("tracker.plots.curves")
    'tracker.analysis.plots.curves'
    """
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


# Duck-typed loader and finder: importlib.abc would add ~15 ms to every `tracker` start-up.
class _Alias:
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        return None  # a placeholder; exec_module puts the real module in its place

    def exec_module(self, module) -> None:
        name = module.__name__
        if not any(name == short or name.startswith(short + ".") for short in SHORT_NAMES):
            warnings.warn(f"{name} moved to {self.target}: import it from there",
                          DeprecationWarning, stacklevel=2)
        # The import system returns whatever sys.modules holds once this returns.
        sys.modules[name] = importlib.import_module(self.target)


class _Finder:
    def find_spec(self, name, path=None, target=None):
        if not name.startswith("tracker."):
            return None
        moved = new_path(name)
        if moved is None:
            return None
        return ModuleSpec(name, _Alias(moved))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (before the path finder would find a
    submodule of a moved package a second time under its old name)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
