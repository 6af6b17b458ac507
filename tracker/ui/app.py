"""``create_app``: the dashboard as an ASGI application (Starlette), read-only over the
repository at ``url``: the pages, their static files, Plotly.js from the ``plotly`` package,
and the JSON API (``api``), behind the ``security.Guard``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import (
    DatabaseError,
    FilterError,
    NotFoundError,
    SchemaError,
    TrackerError,
    UnknownNameError,
)
from ..repository import Repository
from ..store import db
from . import api, pages
from .runs_table import RunsTable
from .security import Guard

STATIC = Path(__file__).with_name("static")
log = logging.getLogger("tracker.ui")


def plotly_js() -> Path:
    """The ``plotly.min.js`` that the installed ``plotly`` package ships."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(url: str | None = None, *, token: str | None = None) -> Starlette:
    """The dashboard and its JSON API over the database at ``url`` (else
    ``$TRACKER_DATABASE_URL``, else ``sqlite:///tracker.db``), as an ASGI app. With ``token``,
    every request must carry it (header ``X-Tracker-Token``, ``Authorization: Bearer``, or the
    cookie the login page sets); without one, only loopback ``Host`` names are served.

    >>> app = create_app("sqlite:///tracker.db")                         # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8765)                    # doctest: +SKIP
    """
    secret = db.resolve_url(url)  # to mask its password in any message
    repo = Repository(url)
    table = RunsTable(repo)
    script = plotly_js()

    def page(name: str) -> Callable[[Request], Response]:
        html = pages.shell(name)
        return lambda request: HTMLResponse(html)

    def plotly(request: Request) -> Response:
        return FileResponse(script, media_type="text/javascript",
                            headers={"cache-control": "public, max-age=86400"})

    def _route(path: str, answer: Callable[[Request], Any]) -> Route:
        return _api(path, answer, secret)

    routes = [
        Route("/", page("experiments")),
        Route("/experiment", page("experiment")),
        Route("/run", page("run")),
        Route("/static/plotly.min.js", plotly),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        _route("/api/experiments", lambda rq: api.experiments(repo)),
        _route("/api/experiments/{name}/summary", lambda rq: api.summary(table, _name(rq))),
        _route("/api/experiments/{name}/names", lambda rq: api.names(repo, _name(rq))),
        _route("/api/experiments/{name}/runs",
             lambda rq: api.runs(table, _name(rq), rq.query_params)),
        _route("/api/experiments/{name}/changes",
             lambda rq: api.changes(table, _name(rq), rq.query_params)),
        _route("/api/experiments/{name}/best",
             lambda rq: api.best(table, _name(rq), rq.query_params)),
        _route("/api/experiments/{name}/top",
             lambda rq: api.top(table, _name(rq), rq.query_params)),
        _route("/api/experiments/{name}/trials",
             lambda rq: api.trials(table, _name(rq), rq.query_params)),
        _route("/api/experiments/{name}/importance",
             lambda rq: api.importance(table, _name(rq), rq.query_params)),
        _route("/api/runs/{run_id:int}", lambda rq: api.run(repo, _run(rq))),
        _route("/api/runs/{run_id:int}/history",
             lambda rq: api.history(repo, _run(rq), rq.query_params)),
        _route("/api/runs/{run_id:int}/batches",
             lambda rq: api.batches(repo, _run(rq), rq.query_params)),
        Route("/api/{rest:path}", _unknown_route),
    ]
    app = Starlette(routes=routes)
    app.state.repository = repo
    app.add_middleware(Guard, token=token)
    return app


def _name(request: Request) -> str:
    return request.path_params["name"]


def _run(request: Request) -> int:
    return request.path_params["run_id"]


def _api(path: str, answer: Callable[[Request], Any], url: Any) -> Route:
    """A read-only JSON route; library errors become JSON messages, never tracebacks.
    Starlette runs the (blocking) endpoint in its thread pool."""

    def endpoint(request: Request) -> Response:
        try:
            found = answer(request)
            return found if isinstance(found, Response) else JSONResponse(found)
        except TrackerError as exc:
            return error_response(exc, url)
        except Exception as exc:  # never a traceback to the browser; the log keeps it
            log.exception("the API failed on %s", request.url.path)
            return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the "
                                 "server's log", "type": type(exc).__name__}, status_code=500)

    return Route(path, endpoint, methods=["GET"])


def error_response(exc: TrackerError, url: Any = None) -> JSONResponse:
    """A library error as ``{"error": message, "type", ...}`` with the right status; an
    unknown name lists the ``known`` ones, a filter error points at its ``position``."""
    body: dict[str, Any] = {"error": db.mask_text(db.mask_text(str(exc), url)),
                            "type": type(exc).__name__}
    if isinstance(exc, UnknownNameError):
        body["known"] = list(exc.known)
    if isinstance(exc, FilterError):
        body["expression"] = exc.expression
        body["position"] = list(exc.position) if exc.position else None
    if isinstance(exc, NotFoundError) and not isinstance(exc, FilterError):
        status = 404
    elif isinstance(exc, (SchemaError, DatabaseError)):
        status = 503
    else:
        status = 400
    return JSONResponse(body, status_code=status)


def _unknown_route(request: Request) -> Response:
    return JSONResponse({"error": f"no API route {request.url.path}: see the README's "
                         "`tracker ui` section"}, status_code=404)
