"""A TCP server that accepts connections and never answers: what a hung database host, a
half-dead proxy or a firewall black hole looks like to a client."""

from __future__ import annotations

import socket
import threading


class SilentServer:
    """Listens on a free local port; every connection is accepted, then ignored."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"postgresql://tracker@127.0.0.1:{self.port}/sweeps"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed
                return
            self._held.append(connection)

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()
