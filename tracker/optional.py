"""Optional dependencies (pandas, matplotlib, pyarrow, tensorboard): imported when first needed,
with an error that says which extra installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import TrackerError

_EXTRAS = {
    "pandas": "analysis",
    "pyarrow": "analysis",
    "matplotlib": "analysis",
    "tensorboard": "keras",
}


class MissingDependency(TrackerError, ImportError):
    """An optional package that a feature needs is not installed (the message says how to get
    it)."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` for ``purpose``, or raise ``MissingDependency`` naming the extra.

    >>> require("json", "a test").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".", 1)[0]
        extra = _EXTRAS.get(top)
        how = f"pip install 'sweep-tracker[{extra}]'" if extra else f"pip install {top}"
        raise MissingDependency(f"{purpose} needs {top}, which is not installed: {how}") from exc
