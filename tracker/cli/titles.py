"""How titles name what a command looked at, so that a command run without ``-e`` never
mixes experiments silently."""

from __future__ import annotations


def scope(experiment: str | None) -> str:
    """``experiment 'mnist'``, or ``all experiments`` without ``-e``.

    >>> scope(None)
    'all experiments'
    """
    return f"experiment {experiment!r}" if experiment is not None else "all experiments"
