"""The web dashboard (``tracker ui``) and its JSON API over the repository: a read-only
Starlette application (``create_app``), its security (token, headers), the live "what changed
since" cursor, and the static pages (plain JavaScript modules and Plotly.js from the installed
``plotly`` package; no Node build). Needs the ``ui`` extra.

May import ``tracker.repository``, ``tracker.analysis``, ``tracker.store`` and
``tracker.errors``; never Keras, the capture layer or the CLI.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":  # imported when asked for: it loads Starlette
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'tracker.ui' has no attribute {name!r}")
