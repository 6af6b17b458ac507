"""The HTML shells of the pages: fixed text with no data in it; each page's script module
fetches the API and writes every name and value as text (``textContent``)."""

from __future__ import annotations

TITLES = {"experiments": "Experiments", "experiment": "Experiment", "run": "Run"}


def shell(page: str) -> str:
    """The HTML of ``page`` (``experiments``, ``experiment`` or ``run``)."""
    plotly = '<script src="/static/plotly.min.js"></script>' if page != "experiments" else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLES[page]} · sweep-tracker</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
{plotly}
<script type="module" src="/static/{page}.js"></script>
</head>
<body data-page="{page}">
<header class="top"><a class="brand" href="/">sweep-tracker</a>
<nav id="crumbs"></nav><span id="live" class="live" title="live updates"></span></header>
<main id="main"><p class="loading">Loading…</p></main>
</body>
</html>
"""


def login_html(failed: bool) -> str:
    """The login form (the token is posted to ``/login``, which sets a cookie)."""
    note = '<p class="error">That token is not this server\'s.</p>' if failed else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in · sweep-tracker</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<script type="module" src="/static/login.js"></script>
</head>
<body>
<main class="login">
<h1>sweep-tracker</h1>
<p>This dashboard needs its token (<code>--token</code> or <code>TRACKER_UI_TOKEN</code>).</p>
{note}
<form method="post" action="/login">
<input type="password" name="token" placeholder="token" autofocus required>
<input type="hidden" name="next" id="next" value="/">
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""
