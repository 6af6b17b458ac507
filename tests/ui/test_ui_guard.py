"""Safe by default: loopback unless a token guards the server; with a token every request
needs it; headers that forbid inline script on every response; no route that writes; no
password in any answer; and the real ``tracker ui`` command refusing an unguarded network
bind, serving with a token, and stopping cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from ui_fixtures import Client

from tracker.errors import DatabaseError
from tracker.ui import create_app
from tracker.ui.app import error_response
from tracker.ui.security import InsecureBindError, check_bind, is_loopback

TOKEN = "s3cret-token"


@pytest.fixture
def app(url):
    return create_app(url)


@pytest.mark.parametrize("path", ["/", "/experiment?name=x", "/run?id=1", "/api/experiments",
                                  "/api/runs/1", "/static/style.css", "/static/plotly.min.js"])
def test_every_response_forbids_inline_script_and_sniffing(app, path):
    response = Client(app).get(path)
    assert response.status_code in (200, 404)
    csp = response.headers["content-security-policy"]
    script = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script and "*" not in script
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_pages_carry_no_inline_script(app):
    for path in ("/", "/experiment?name=x", "/run?id=1", "/login"):
        html = Client(app).get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), html
        assert "onerror" not in html and "onclick" not in html


def test_no_route_writes(app):
    for path in ("/api/experiments", "/api/experiments/x/runs", "/api/runs/1"):
        assert Client(app).post(path).status_code == 405


def test_without_a_token_only_loopback_host_names_are_served(app):
    assert Client(app, "http://localhost:8765").get("/api/experiments").status_code == 200
    assert Client(app, "http://[::1]:8765").get("/api/experiments").status_code == 200
    refused = Client(app, "http://evil.example").get("/api/experiments")
    assert refused.status_code == 403 and "loopback" in refused.json()["error"]


def test_with_a_token_every_request_needs_it(url):
    app = create_app(url, token=TOKEN)
    client = Client(app, "http://192.168.1.20:8765")  # any host name, once guarded
    missing = client.get("/api/experiments")
    assert missing.status_code == 401 and "X-Tracker-Token" in missing.json()["error"]
    assert client.get("/api/experiments", headers={"X-Tracker-Token": "wrong"}).status_code == 401
    assert client.get("/api/experiments", headers={"X-Tracker-Token": TOKEN}).status_code == 200
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/experiments", headers=bearer).status_code == 200
    page = client.get("/experiment?name=x")
    assert page.status_code == 401 and 'name="token"' in page.text  # the login form
    assert client.get("/static/plotly.min.js").status_code == 401


def test_the_login_page_sets_a_cookie_that_carries_the_token(url):
    client = Client(create_app(url, token=TOKEN))
    wrong = client.post("/login", data={"token": "nope", "next": "/"})
    assert wrong.status_code == 401 and "not this server" in wrong.text
    right = client.post("/login", data={"token": TOKEN, "next": "/experiment?name=x"})
    assert right.status_code == 303 and right.headers["location"] == "/experiment?name=x"
    cookie = right.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    name, value = cookie.split(";")[0].split("=", 1)
    assert client.get("/api/experiments", headers={"Cookie": f"{name}={value}"}).status_code == 200
    away = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"})
    assert away.headers["location"] == "/"


def test_a_non_loopback_bind_needs_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    with pytest.raises(InsecureBindError, match="--token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)


def test_a_password_never_reaches_an_answer():
    url = "postgresql://me:hunter2@db.example/sweeps"
    response = error_response(DatabaseError(f"could not reach {url}"), url)
    assert b"hunter2" not in response.body and b"db.example" in response.body


def _tracker(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "tracker", "ui", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def test_the_command_refuses_a_network_bind_without_a_token(url):
    done = _tracker("--url", url, "--host", "0.0.0.0", "--port", "0")
    _, err = done.communicate(timeout=60)
    assert done.returncode == 1 and "without a token" in err and "TRACKER_UI_TOKEN" in err


def test_the_command_serves_with_a_token_and_stops_on_ctrl_c(url):
    server = _tracker("--url", url, "--host", "0.0.0.0", "--port", "0", "--no-open",
                      env={"TRACKER_UI_TOKEN": TOKEN})
    try:
        line = server.stdout.readline()
        address = re.search(r"http://\S+/", line).group(0)
        assert "needs the token" in line and TOKEN not in line
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{address}api/experiments", timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(f"{address}api/experiments",
                                         headers={"X-Tracker-Token": TOKEN})
        assert urllib.request.urlopen(request, timeout=10).status == 200
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "stopped." in out and "Traceback" not in err
