"""``tracker ui``: the live web dashboard and its JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from .options import Url


def ui(
    url: Url = None,
    host: Annotated[str, typer.Option(help="Address to listen on. Anything but loopback "
                                      "needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open/--no-open",
                                               help="Open it in the browser.")] = False,
    token: Annotated[str | None, typer.Option(
        envvar="TRACKER_UI_TOKEN", show_default=False,
        help="Every request must carry it (the login page asks for it). Prefer "
             "$TRACKER_UI_TOKEN to the command line.")] = None,
) -> None:
    """Serve the live dashboard and its JSON API (read-only) until Ctrl-C.

    Tables, parallel coordinates, curves and importance of every sweep in the browser. Needs
    the ui extra.

    Example: tracker ui --url sqlite:///tracker.db --open
    """
    from ..optional import require_all

    require_all(("starlette", "uvicorn", "plotly"), "the dashboard (tracker ui)")
    from ..ui.server import serve

    serve(url, host=host, port=port, token=token or None, open_browser=open_browser,
          echo=typer.echo)
