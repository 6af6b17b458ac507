"""A throwaway PgBouncer in transaction pooling mode, on a free loopback port, in front of a
PostgreSQL server: the way teams with hundreds of workers deploy sweep-tracker.

Debian's ``pgbouncer`` package provides the binary (``.ci/run`` installs it). It refuses to run
as root, so when the tests run as root it runs as ``postgres`` (its files in a folder that user
owns). Only the process started here is ever stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

# Fewer server connections than the tests' workers open: the pooler multiplexes them, as it
# would hundreds of real workers.
POOL_SIZE = 8


def find_pgbouncer() -> str | None:
    """The pgbouncer binary, or None."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bouncer:
    """``start`` a pgbouncer forwarding every database of ``server_url``'s server;
    ``url(database_url)`` is that database through the pooler; ``remove`` at the end.
    ``settings``: more lines of its ``[pgbouncer]`` section."""

    def __init__(self, binary: str, server_url: str, pool_size: int = POOL_SIZE,
                 settings: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.pool_size = pool_size
        server = make_url(server_url)
        self.user = server.username or "postgres"
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pgbouncer-"))
        self.log = self.root / "pgbouncer.log"  # its stderr
        self.process: subprocess.Popen | None = None
        self._as: dict = {}
        (self.root / "users.txt").write_text(f'"{self.user}" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.root / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 1000\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
            f"pidfile = {self.root / 'pgbouncer.pid'}\n"
            + "".join(f"{name} = {value}\n" for name, value in (settings or {}).items())
        )
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # pgbouncer refuses to run as root
            import pwd

            owner = pwd.getpwnam("postgres")
            for path in (self.root, *self.root.iterdir()):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def start(self) -> None:
        """Start pgbouncer and wait until it accepts connections (at most 15 s)."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, str(self.root / "pgbouncer.ini")],
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, **self._as,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self._tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen on port {self.port}: {self._tail()}")

    def url(self, database_url: str) -> str:
        """``database_url`` (a database of the server) reached through the pooler."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        """Stop the pgbouncer started here (by its process id)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
