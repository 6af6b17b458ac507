"""Dead letters: records the database refused for good (a value too long for its column, a
broken constraint, a record that is not one of ours), set aside so that the others go on.

They go to ``<journal name>.rejected`` next to the journal, in the journal's line format
(checksum, JSON): each line holds the record, why it was refused and when. ``tracker sync``
never replays them; they are kept for a person to read (``read_dead_letters``) and fix.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from .journal import Op, decode_line, encode_line, op_record

SUFFIX = ".rejected"


@dataclass(frozen=True)
class DeadLetter:
    """One record set aside: the record as it was (type and fields), and why."""

    record: dict
    reason: str
    at: dt.datetime | None


def dead_letter_path(journal_path: Path) -> Path:
    """Where the records a journal's process or ``tracker sync`` set aside go."""
    return journal_path.with_name(journal_path.name.removesuffix(".journal") + SUFFIX)


def set_aside(path: Path, op: Op, reason: str) -> None:
    """Append ``op`` and ``reason`` to the dead-letter file ``path`` (created ``0600``).
    Raises ``OSError`` when it cannot be written."""
    line = encode_line(
        {"record": op_record(op), "reason": reason, "at": dt.datetime.now(dt.timezone.utc)}
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_dead_letters(path: Path) -> list[DeadLetter]:
    """The records set aside in ``path`` (damaged lines skipped).

    >>> [d.reason for d in read_dead_letters(path)]                      # doctest: +SKIP
    ['worker ... is 300 characters long (at most 255)']
    """
    letters = []
    for line in path.read_bytes().split(b"\n"):
        entry = decode_line(line) if line else None
        if entry is not None and isinstance(entry.get("record"), dict):
            letters.append(DeadLetter(entry["record"], str(entry.get("reason")), entry.get("at")))
    return letters
