"""Curation input from the command line: ``KEY=VALUE`` tags and durations (``30d``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import TrackerError


def parse_tags(items: Iterable[str]) -> Mapping[str, str]:
    """``KEY=VALUE`` texts (the command line) as a mapping; a clear error for one without
    ``=``."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TrackerError(f"tags are KEY=VALUE, not {item!r} (e.g. stage=shipped)")
        found[key.strip()] = value
    return found


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str | float | None) -> float | None:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or a number of seconds, as seconds."""
    if text is None or isinstance(text, (int, float)):
        return text
    raw = text.strip().lower()
    number, unit = (raw[:-1], raw[-1]) if raw[-1:] in _UNITS else (raw, "s")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise TrackerError(f"{text!r} is not a duration: write e.g. 30d, 12h, 90m or 3600"
                           ) from None
    if not seconds >= 0 or seconds == float("inf"):
        raise TrackerError(f"{text!r} is not a duration: it must be zero or more")
    return seconds
