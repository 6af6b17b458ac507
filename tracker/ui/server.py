"""``serve``: the dashboard on uvicorn, as ``tracker ui`` runs it: the address printed, the
browser opened if asked, Ctrl-C a clean stop."""

from __future__ import annotations

import socket
import threading
import webbrowser
from collections.abc import Callable

from ..errors import TrackerError
from ..repository import Repository
from .security import check_bind, is_loopback


class PortError(TrackerError, OSError):
    """The address cannot be listened on (the port is taken, the host is not this machine's)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), or a clear ``PortError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise PortError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another "
                        "--port, or --port 0 for any free one") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(host: str, port: int) -> str:
    """The URL to open for a server on ``host:port``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"


def serve(url: str | None = None, *, host: str = "127.0.0.1", port: int = 8765,
          token: str | None = None, open_browser: bool = False,
          echo: Callable[[str], None] = print) -> None:
    """Serve the dashboard over the database at ``url`` until Ctrl-C. A non-loopback ``host``
    needs a ``token``; the database is checked (migrated, reachable) before listening."""
    import uvicorn

    from .app import create_app

    check_bind(host, token)
    repo = Repository(url)
    repo.experiments()  # a clear error now (not migrated, unreachable) rather than per page
    sock = bind(host, port)
    where = address(host, sock.getsockname()[1])
    config = uvicorn.Config(create_app(url, token=token), log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    guard = "" if token is None else " (every request needs the token)"
    lan = "" if is_loopback(host) else f"; listening on {host}"
    echo(f"sweep-tracker dashboard at {where}{guard}{lan} over {repo.url}. Ctrl-C stops it.")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(where,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on: we are done
        pass
    finally:
        sock.close()
    echo("stopped.")
