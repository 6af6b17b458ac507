"""Only the user's own, private journal folders and files are used, as ssh uses only private
key files: records someone else could have written never reach the user's database."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import TrackerError


class UnsafeJournal(TrackerError, PermissionError):
    """A journal folder or file someone else owns or may write: refused, as ssh refuses a
    key file others can read."""


def check_private(path: Path, what: str, info: os.stat_result | None = None) -> None:
    """``UnsafeJournal`` unless ``path`` belongs to the current user and no one else may
    write it (POSIX; nothing to check elsewhere)."""
    uid = getattr(os, "geteuid", lambda: None)()
    if uid is None:  # pragma: no cover - Windows: the per-user folder's ACLs decide
        return
    info = info or os.stat(path)
    if info.st_uid != uid:
        raise UnsafeJournal(
            f"refusing {what} {path}: it belongs to user id {info.st_uid}, not to you "
            f"({uid}); records someone else wrote are never written to your database"
        )
    if info.st_mode & 0o022:
        mode = stat.S_IMODE(info.st_mode)
        raise UnsafeJournal(
            f"refusing {what} {path}: others may write it (mode {mode:04o}), so anyone could "
            f"plant records in it; run `chmod go-w {path}` (or use a private folder: "
            "TRACKER_JOURNAL_DIR)"
        )
