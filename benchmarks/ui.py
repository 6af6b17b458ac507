"""The dashboard at scale: each API response the experiment page asks for, a live refresh
with nothing new, and the page usable in headless Chromium, over a sweep of ``runs`` x 50
epochs x 4 metrics bulk-loaded through the store's bulk path, on each backend.

``python -m benchmarks.ui [--full | --smoke] [--backend sqlite,postgresql]``: 1,000 runs by
default (a few minutes), ``--full`` 10,000 runs (the goals' size: 2 M epoch rows, several
minutes of loading per backend). Also ``python -m benchmarks --only ui``.

Goals: each API response < 300 ms, a live refresh with nothing new < 50 ms, the page usable
(table and charts drawn) < 2 s. Baselines, measured in the same run: the repository call the
route answers with (the API's own cost is the ratio), and for the live refresh the full
reload of the runs that the cursor avoids.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import socket
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request

from tracker import Repository

from .common import Databases, Report, ms, ratio, step
from .workload import Sweep

EXPERIMENT = "bench-ui"
EPOCHS = 50
SIZES = {"full": 10_000, "small": 1_000, "smoke": 20}
API_GOAL_S, LIVE_GOAL_S, PAGE_GOAL_S = 0.3, 0.05, 2.0


def load(url: str, runs: int, epochs: int = EPOCHS) -> Repository:
    """``runs`` finished runs an hour old (their hyperparameters written whole), then every
    epoch through ``bulk_log_epochs``."""
    repo = Repository(url)
    sweep = Sweep(runs, epochs)
    keys = sweep.keys()
    ended = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    for i, key in enumerate(keys):
        repo.record_run(EXPERIMENT, key=key, status="completed",
                        hyperparameters=sweep.hyperparameters(i), objective="val_accuracy",
                        direction="max", started_at=ended - dt.timedelta(minutes=5),
                        ended_at=ended)
    repo.bulk_log_epochs(
        (key, epoch, name, value)
        for i, key in enumerate(keys)
        for epoch, metrics in sweep.curve(i)
        for name, value in metrics.items()
    )
    return repo


class _Server:
    """The real app on uvicorn, 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, url: str) -> None:
        import uvicorn

        from tracker.ui import create_app

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(
            create_app(url), host="127.0.0.1", port=port, log_level="warning",
            access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def get(self, path: str, **params) -> tuple[float, object]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        start = time.perf_counter()
        with urllib.request.urlopen(f"{self.base}{path}?{query}", timeout=120) as response:
            body = response.read()
        return time.perf_counter() - start, json.loads(body)


def _median(call, rounds: int) -> float:
    return statistics.median(call() for _ in range(rounds))


def _page_seconds(base: str, path: str) -> tuple[float, float] | None:
    """Seconds from navigation to the experiment page usable (its table drawn and
    answering) and to its last chart drawn (None without Chromium)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--enable-unsafe-swiftshader", "--window-size=1366,768"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(f"{base}/")  # Plotly.js and the modules cached, as on a second visit
        driver.get(f"{base}{path}")
        usable, drawn = [], []
        for _ in range(3):
            driver.get(f"{base}{path}")
            while driver.execute_script("return document.body.dataset.charts !== '1'"):
                time.sleep(0.05)
            marks = dict(driver.execute_script(
                "return performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])"))
            usable.append(marks["table"] / 1e3)
            drawn.append(marks["charts"] / 1e3)
        return statistics.median(usable), statistics.median(drawn)
    finally:
        driver.quit()


def measure(report: Report, url: str, backend: str, runs: int, rounds: int) -> None:
    repo = Repository(url)
    rows = f"{runs:,} runs x {EPOCHS} x 4"
    name = f"/api/experiments/{EXPERIMENT}"
    run_id = repo.runs(EXPERIMENT)[0].id
    with _Server(url) as server:
        server.get(f"{name}/runs", where="id > -1")  # imports pandas, as a first visit does
        misses = iter(range(2, 10_000))  # a filter each time: never a cached frame
        frame = _median(lambda: _timed(lambda: repo.to_dataframe(EXPERIMENT)), rounds)
        for form in ("columns", "rows"):  # columns: what the page reads
            cold = _median(lambda f=form: server.get(
                f"{name}/runs", where=f"id > -{next(misses)}", format=f)[0], rounds)
            report.add(f"ui: runs as {form}, not cached ({rows})", backend, ms(cold),
                       f"to_dataframe {ms(frame)}", f"{ratio(cold, frame)} of to_dataframe",
                       "< 300 ms", cold < API_GOAL_S)
        routes = {
            "runs (all, as columns, cached)": ((f"{name}/runs", {"format": "columns"}),
                                               lambda: None),
            "runs (a sorted page)": ((f"{name}/runs", {"sort": "-best.val_accuracy",
                                                      "limit": 50}), lambda: None),
            "summary": ((f"{name}/summary", {}),
                        lambda: repo.top_runs(k=1, experiment=EXPERIMENT)),
            "best": ((f"{name}/best", {"group_by": "batch_size", "metric": "val_accuracy"}),
                     lambda: repo.best_by("batch_size", "val_accuracy", experiment=EXPERIMENT)),
            "importance": ((f"{name}/importance", {"metric": "val_accuracy"}),
                           lambda: repo.importance("val_accuracy", EXPERIMENT)),
            "trials": ((f"{name}/trials", {}), lambda: repo.trials(EXPERIMENT)),
            "history of a run": ((f"/api/runs/{run_id}/history", {"metric": "val_accuracy"}),
                                 lambda: repo.history(run_id, "val_accuracy")),
        }
        for label, ((path, params), library) in routes.items():
            first, _ = server.get(path, **params)
            ours = _median(lambda p=path, q=params: server.get(p, **q)[0], rounds)
            if first > ours * 2:
                report.note(f"ui: {label} [{backend}] takes {ms(first)} when not cached")
            base = _median(lambda f=library: _timed(f), rounds)
            baseline = f"repository {ms(base)}" if base > 1e-4 else ""
            report.add(f"ui: {label}", backend, ms(ours), baseline,
                       f"{ratio(ours, base)} of the call" if baseline else "", "< 300 ms",
                       ours < API_GOAL_S)
        _, first = server.get(f"{name}/changes")
        cursor = first["cursor"]
        live = _median(lambda: server.get(f"{name}/changes", since=cursor)[0], rounds * 2)
        empty = server.get(f"{name}/changes", since=cursor)[1]["runs"]
        reload = _median(lambda: server.get(f"{name}/runs")[0], rounds)
        report.add(f"ui: live refresh, nothing new ({rows})", backend, ms(live),
                   f"full reload {ms(reload)}", f"{ratio(live, reload)} of a reload",
                   "< 50 ms", live < LIVE_GOAL_S and empty == [])
        page = _page_seconds(server.base, f"/experiment?name={EXPERIMENT}")
        if page is None:
            report.note("chromium/chromedriver not found: page load not measured")
        else:
            usable, drawn = page
            report.add(f"ui: experiment page usable in headless Chromium ({rows})", backend,
                       f"{usable:.2f} s", f"every chart drawn {drawn:.2f} s",
                       f"{ratio(usable, drawn)} of it", "< 2 s", usable < PAGE_GOAL_S)


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    """``python -m benchmarks --only ui``."""
    runs = SIZES[size]
    rounds = 1 if size == "smoke" else 5
    for backend in backends:
        url = dbs.new(backend)
        with step(f"load {runs * EPOCHS * 4:,} rows ({runs:,} runs) in bulk, {backend}"):
            load(url, runs, EPOCHS if size != "smoke" else 5)
        with step(f"dashboard at {runs:,} runs, {backend}"):
            measure(report, url, backend, runs, rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--full", action="store_true", help="10,000 runs (the goals' size)")
    sizes.add_argument("--smoke", action="store_true", help="20 runs: checks that it runs")
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    size = "full" if args.full else "smoke" if args.smoke else "small"
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    report, dbs = Report(), Databases()
    try:
        if "postgresql" in backends and (problem := dbs.postgres_available()):
            report.note(f"PostgreSQL unreachable, skipped: {problem}")
            backends.remove("postgresql")
        run(report, dbs, backends, size)
    finally:
        dbs.close()
    print("\n" + report.markdown())
    return 0 if size == "smoke" or all(row.ok is not False for row in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
