"""The journal: tracking records on local disk until the database has committed them.

Where: the ``journal_dir`` argument, else ``$TRACKER_JOURNAL_DIR``, else a per-user data folder
(``$XDG_DATA_HOME/sweep-tracker/journal``, i.e. ``~/.local/share/sweep-tracker/journal`` on
Linux; ``~/Library/Application Support/sweep-tracker/journal`` on macOS;
``%LOCALAPPDATA%\\sweep-tracker\\journal`` on Windows). Folder ``0700``, files ``0600``.

One file per process and database, ``<time>-<host>-<pid>-<random>.journal``, written only by
that process, which holds an exclusive ``flock`` on it for as long as it lives; ``tracker sync``
takes over a file only when that lock is free (its process ended or died). Lines are
``<crc32> <json>``: a header (the database URL with its password masked: no password is ever
stored), then records (``{"op": ...}``, one of the types of ``records``, checked before they are
replayed: never a method call read from the file), progress marks (``{"done": n}``: the first
``n`` records are in the database) and context (``{"context": <start_run record>}``: a run's
start, kept so that the run can be recreated if the database loses it; never replayed by
itself). A line cut short by a killed process, or damaged, fails its checksum and is ignored,
so a torn write never replays garbage.

Like ssh with its keys, a journal folder or file that is not the current user's, or that
others may write, is refused (``UnsafeJournal``): records planted by someone else never reach
a database.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import socket
import stat
import sys
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TrackerError
from .private import UnsafeJournal, check_private

ENV_JOURNAL_DIR = "TRACKER_JOURNAL_DIR"
SUFFIX = ".journal"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Op:
    """One record: its type (``method``, one of ``records.KINDS``) and fields, plain data only
    (JSON-able, datetimes allowed), so that it can be journaled and replayed. Replay goes
    through ``records.apply``, which checks both."""

    method: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def journal_dir(directory: str | os.PathLike | None = None) -> Path:
    """The journal folder: ``directory``, else ``$TRACKER_JOURNAL_DIR``, else the per-user
    data folder.

    >>> journal_dir("/tmp/j")
    PosixPath('/tmp/j')
    """
    if directory is not None and str(directory):
        return Path(directory).expanduser().absolute()
    configured = os.environ.get(ENV_JOURNAL_DIR)
    if configured:
        return Path(configured).expanduser().absolute()
    return _user_data_dir() / "sweep-tracker" / "journal"


def _user_data_dir() -> Path:
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")


# -- encoding -----------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _object_hook(obj: dict) -> Any:
    if len(obj) == 1 and "$datetime" in obj:
        return dt.datetime.fromisoformat(obj["$datetime"])
    return obj


def encode_line(record: dict[str, Any]) -> bytes:
    """One journal line: checksum, space, compact JSON (NaN and +/-inf allowed), newline."""
    body = json.dumps(record, default=_default, separators=(",", ":"), allow_nan=True)
    data = body.encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(data), data)


def decode_line(line: bytes) -> dict[str, Any] | None:
    """The record of a complete line, or None when it is damaged (wrong checksum, bad JSON,
    absurd nesting)."""
    checksum, _, data = line.partition(b" ")
    try:
        if int(checksum, 16) != zlib.crc32(data):
            return None
        record = json.loads(data.decode("utf-8"), object_hook=_object_hook)
    except (ValueError, TypeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def op_record(op: Op) -> dict[str, Any]:
    args = list(op.args) if isinstance(op.args, (list, tuple)) else op.args
    return {"op": op.method, "args": args, "kwargs": op.kwargs}


def record_op(record: dict[str, Any]) -> Op:
    """The record of a line as read: fields of the wrong shape are kept as they are, for
    ``records.check`` to refuse."""
    args, kwargs = record.get("args", []), record.get("kwargs", {})
    return Op(record.get("op"), tuple(args) if isinstance(args, list) else args, kwargs)


# -- locking: an advisory lock on the journal file itself ---------------------------------------

try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True


# -- writing ------------------------------------------------------------------------------------


class JournalWriter:
    """The journal file of this process for one database. Not thread-safe: the outbox
    serialises calls."""

    def __init__(self, directory: Path, url: str) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_private(directory, "journal folder")
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())
        name = f"{stamp}-{host[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        self.path = directory / name
        self.url = url
        # Born under a name no one looks at, locked and with its header, then renamed (the
        # lock stays: same file): another process never sees an unlocked or headless journal.
        hidden = directory / f".{name}.new"
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0)
        self._fd: int | None = os.open(hidden, flags, 0o600)
        if not _try_lock(self._fd):  # pragma: no cover - a fresh, uniquely named file
            raise TrackerError(f"cannot lock the new journal file {hidden}")
        header = {
            "journal": FORMAT_VERSION,
            "url": url,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "created": dt.datetime.now(dt.timezone.utc),
        }
        self._write(encode_line(header))
        self._header_size = os.fstat(self._fd).st_size
        os.replace(hidden, self.path)
        self.records = 0  # records in the file
        self.done = 0  # of which the database has committed the first ``done``

    @property
    def pending(self) -> int:
        return self.records - self.done

    def append(self, op: Op, *, durable: bool = False) -> None:
        """Add a record; ``durable`` also forces it to the disk (not just the OS cache, which
        survives the process but not the machine)."""
        self._write(encode_line(op_record(op)))
        self.records += 1
        if durable:
            self.sync()

    def note(self, op: Op) -> None:
        """Keep ``op`` (a run's start) as context: not a record to replay, but what
        ``tracker sync`` recreates the run from if the database lost it."""
        self._write(encode_line({"context": op_record(op)}))

    def mark_done(self, count: int = 1) -> None:
        """The next ``count`` records are in the database. When all are, the file shrinks back
        to its header."""
        self.done += count
        if self.done >= self.records:
            os.ftruncate(self._fd, self._header_size)
            self.records = self.done = 0
        else:
            self._write(encode_line({"done": self.done}))

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> bool:
        """Release the file: removed when nothing is pending, else left (durably) for
        ``tracker sync``. True when it was left."""
        if self._fd is None:
            return False
        keep = self.pending > 0
        if keep:
            self.sync()
        else:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # releases the lock
        self._fd = None
        return keep

    def abandon(self) -> None:
        """In a forked child: forget the parent's file without touching its lock or content."""
        if self._fd is not None:
            os.close(self._fd)  # the parent's descriptor keeps the lock
            self._fd = None

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]


# -- reading and taking over --------------------------------------------------------------------


@dataclass
class JournalContents:
    """What a journal file holds: its database (password masked), its records, how many of
    them are already in the database, how many lines were damaged (ignored), and the runs'
    start records kept as context."""

    path: Path
    url: str | None
    ops: list[Op]
    done: int
    damaged: int
    context: list[Op] = field(default_factory=list)

    @property
    def pending(self) -> list[Op]:
        return self.ops[self.done :]


def read_journal(path: Path, data: bytes | None = None) -> JournalContents:
    """Parse a journal file, skipping damaged lines (a torn last line, a bad checksum)."""
    if data is None:
        data = path.read_bytes()
    lines = data.split(b"\n")
    damaged = 1 if lines[-1] else 0  # no final newline: the last append was cut short
    url, ops, done, context = None, [], 0, []
    for number, line in enumerate(lines[:-1]):
        record = decode_line(line)
        if record is None:
            damaged += 1
        elif number == 0 and "journal" in record:
            url = record.get("url") if isinstance(record.get("url"), str) else None
        elif "op" in record:
            ops.append(record_op(record))
        elif isinstance(record.get("done"), int) and not isinstance(record["done"], bool):
            done = max(done, record["done"])
        elif isinstance(record.get("context"), dict):
            context.append(record_op(record["context"]))
        else:
            damaged += 1
    return JournalContents(path, url, ops, min(done, len(ops)), damaged, context)


def journal_files(directory: Path) -> list[Path]:
    """The journal files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir()
        if p.name.endswith(SUFFIX) and not p.name.startswith(".") and p.is_file()
    )


class ClaimedJournal:
    """A journal file whose process is gone, locked by us while we replay it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        with open(path, "rb") as file:
            self.contents = read_journal(path, file.read())
        self._done = self.contents.done

    def mark_done(self, count: int) -> None:
        """``count`` more records are in the database."""
        self._done += count
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.write(self._fd, b"\n")  # end a torn line first, so our mark is a line of its own
        os.write(self._fd, encode_line({"done": self._done}))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def claim(path: Path) -> ClaimedJournal | None:
    """Lock a journal file for replay; None when its process still runs (it holds the lock)
    or the file is gone. ``UnsafeJournal`` for a file that is not the user's own and private
    (or not a regular file); ``OSError`` when it cannot be read."""
    flags = os.O_RDWR | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeJournal(f"refusing journal {path}: it is a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeJournal(f"refusing journal {path}: not a regular file")
        check_private(path, "journal file", info)
        if not _try_lock(fd) or os.fstat(fd).st_nlink == 0:  # busy, or removed meanwhile
            os.close(fd)
            return None
        return ClaimedJournal(path, fd)
    except BaseException:
        os.close(fd)
        raise


def claimable(directory: Path) -> Iterator[ClaimedJournal]:
    """Claim each journal file of ``directory`` in turn (the caller releases each); files
    that cannot be claimed safely are skipped."""
    for path in journal_files(directory):
        try:
            claimed = claim(path)
        except OSError:
            continue
        if claimed is not None:
            yield claimed


def tidy(directory: Path, url: str) -> int:
    """Remove the journals of ended processes that hold nothing pending (a process killed
    after its records were written leaves an empty one); return how many records the others
    still hold for the database ``url`` (masked), for ``tracker sync`` to write."""
    waiting = 0
    for claimed in claimable(directory):
        try:
            contents = claimed.contents
            if contents.url is not None and not contents.pending and not contents.damaged:
                claimed.remove()
            elif contents.url == url:
                waiting += len(contents.pending)
        finally:
            claimed.release()
    return waiting
