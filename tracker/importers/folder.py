"""Reading a folder someone else filled: what is skipped and why, and files read with a
bound. FIFOs and devices are never opened (reading them would block or never end),
symbolic links leading out of the folder are skipped unless asked, and a file is read up to a
size limit (checked again on the open file: it may change in between)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class TooLarge(OSError):
    """A file over the size limit (the message says the limit)."""


def refusal(path: Path, root: Path, *, follow_symlinks: bool, folder: bool = False,
            max_bytes: int | None = None, where: str = "folder") -> str | None:
    """Why ``path`` (under ``root``, resolved) is not read, or None: read it. ``folder``: a
    folder is expected, else a regular file of at most ``max_bytes``."""
    try:
        if path.is_symlink() and not follow_symlinks:
            target = path.resolve()
            if not target.is_relative_to(root):
                return (f"a symbolic link out of the {where} (to {target}): skipped "
                        "(--follow-symlinks reads it)")
        found = path.stat()
    except FileNotFoundError:
        return "missing"
    except (OSError, RuntimeError) as exc:  # a symlink loop, no permission...
        return f"unreadable ({exc})"
    if folder:
        return None if stat.S_ISDIR(found.st_mode) else "not a folder"
    if not stat.S_ISREG(found.st_mode):
        return "not a regular file (a FIFO, a device or a folder): skipped"
    if max_bytes is not None and found.st_size > max_bytes:
        return f"{found.st_size:,} bytes, over the limit of {max_bytes:,}: skipped"
    return None


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The content of the regular file ``path``, or ``TooLarge`` / ``OSError``. Opened without
    blocking and checked on the open file, so a FIFO swapped in after ``refusal`` never
    blocks."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"over the limit of {max_bytes:,} bytes: skipped")
    return data
