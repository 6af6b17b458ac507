"""Taking a database away for a while: a stopped server (PostgreSQL, our throwaway one) or an
exclusive lock held by another process (SQLite)."""

from __future__ import annotations

import subprocess
import sys

# Another process takes SQLite's write lock and keeps it until told to let go.
_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


class SqliteLocked:
    """``down()``: another process holds an exclusive lock on the file; ``up()``: it lets go."""

    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///")
        self._process: subprocess.Popen | None = None

    def down(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _LOCKER, self.path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout.readline().strip() == "locked"

    def up(self) -> None:
        if self._process is not None:
            self._process.stdin.write("\n")
            self._process.stdin.flush()
            self._process.wait(timeout=30)
            self._process = None


class PostgresStopped:
    """``down()``: the (throwaway) server stops; ``up()``: it starts again."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.is_down = False

    def down(self) -> None:
        self.cluster.stop()
        self.is_down = True

    def up(self) -> None:
        if self.is_down:
            self.cluster.start()
            self.is_down = False
