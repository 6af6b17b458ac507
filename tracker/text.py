"""Showing untrusted text (names and values from a database, a journal or a folder) as
text: control characters escaped, so that none reaches a terminal or a picture as a control.
Used by the CLI's output and by the plots."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides and isolates (which can reorder
# what a terminal shows: "Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def literal(text: object, *, lines: bool = False) -> str:
    r"""``text`` safe to print on a terminal: control characters escaped as Python writes them.

    >>> print(literal("red\x1b[31m\r\nnext"))
    red\x1b[31m\r\nnext

    ``lines=True`` keeps newlines (a message of several lines).
    """
    if lines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in str(text).split("\n"))
    return _UNSAFE.sub(_escape, str(text))


def _escape(match: re.Match) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
