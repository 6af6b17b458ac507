"""Optional dependencies (pandas, matplotlib, pyarrow, Optuna, tensorboard): imported when first
needed, with an error that names the feature and the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import TrackerError

_EXTRAS = {
    "pandas": "analysis",
    "numpy": "analysis",
    "pyarrow": "analysis",
    "matplotlib": "analysis",
    "optuna": "analysis",
    "sklearn": "analysis",
    "scipy": "analysis",
    "tensorboard": "keras",
    "starlette": "ui",
    "uvicorn": "ui",
    "plotly": "ui",
}


class MissingDependency(TrackerError, ImportError):
    """An optional package that a feature needs is not installed (the message says how to get
    it)."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` for ``purpose`` (the feature, as the user knows it: "Drawing plots",
    "The HTML report"), or raise ``MissingDependency`` naming the feature and the extra.

    >>> require("json", "A test").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".", 1)[0]
        extra = _EXTRAS.get(top)
        if extra is None:
            how = f"pip install {top}"
        else:
            # The package is installed from its checkout (it is on no index): say both ways.
            how = (f"install sweep-tracker's '{extra}' extra: pip install -e '.[{extra}]' in "
                   f"its checkout (or 'sweep-tracker[{extra}]' from a package index)")
        raise MissingDependency(
            f"{purpose} needs {top}, which is not installed. To get it, {how}."
        ) from exc


def require_all(modules: tuple[str, ...], purpose: str) -> None:
    """``require`` each of ``modules`` for ``purpose``: the clear error up front, before any
    work (a plot checks matplotlib before reading the database).

    >>> require_all(("json", "csv"), "A test")
    """
    for module in modules:
        require(module, purpose)
