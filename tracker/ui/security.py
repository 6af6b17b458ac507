"""Safe by default: loopback unless a token guards the server, every request carrying the
token (a header, or the cookie the login page sets), and headers that keep the browser from
running anything the database holds (a Content-Security-Policy without inline script).
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import TrackerError

COOKIE = "tracker_ui_token"
HEADER = "x-tracker-token"
# Plotly draws with inline style attributes and injects a stylesheet: styles may be inline,
# scripts never. Its WebGL charts (parallel coordinates) compile their shaders' glue code with
# Function(): 'unsafe-eval' lets them, which runs no text from a page or the database.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
OPEN_PATHS = {"/static/style.css", "/static/login.js", "/static/favicon.svg"}


class InsecureBindError(TrackerError, ValueError):
    """A non-loopback address without a token: anyone on the network could read the sweep."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only listens on this machine."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen on a non-loopback ``host`` without a token, saying why and how."""
    if token or is_loopback(host):
        return
    raise InsecureBindError(
        f"refusing to listen on {host} without a token: anyone who can reach it could read "
        "every run. Pass --token (or set TRACKER_UI_TOKEN), or keep --host 127.0.0.1"
    )


class Guard:
    """ASGI middleware: the security headers on every response; with a ``token``, a 401 for
    any request without it (JSON for the API, the login page for pages); without one, only
    loopback ``Host`` headers (a DNS-rebinding page cannot read the API)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        refusal = await self._refusal(scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    async def _refusal(self, scope: Scope, receive: Receive) -> Response | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        if self.token is None:
            host = urlsplit(f"//{headers.get('host', '')}").hostname or ""
            if not is_loopback(host):
                return JSONResponse({"error": f"host {host!r} refused: this server answers "
                                     "only on loopback without a token"}, status_code=403)
            return None
        if path == "/login":
            if scope["method"] == "POST":
                return await self._login(receive)
            return _login_page(status=200)
        if self._carries_token(headers) or path in OPEN_PATHS:
            return None
        if path.startswith("/api/"):
            return JSONResponse({"error": "this server needs its token: send the header "
                                 "X-Tracker-Token (or Authorization: Bearer ...)"},
                                status_code=401)
        return _login_page(status=401)  # the page's script posts back to where it was

    def _carries_token(self, headers: dict[str, str]) -> bool:
        given = [headers.get(HEADER, "")]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:])
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                given.append(value)
        return any(g and hmac.compare_digest(g.encode(), self.token.encode()) for g in given)

    async def _login(self, receive: Receive) -> Response:
        body = b""
        more = True
        while more and len(body) < 10_000:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        form = parse_qs(body.decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0]
        target = (form.get("next") or ["/"])[0]
        if not target.startswith("/") or target.startswith("//"):
            target = "/"  # never redirect off this server
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return _login_page(status=401, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, given, httponly=True, samesite="strict")
        return response


def _login_page(*, status: int, failed: bool = False) -> Response:
    """The login form: static HTML (no data in it), posting the token to ``/login``."""
    from .pages import login_html

    return Response(login_html(failed), status_code=status, media_type="text/html")
