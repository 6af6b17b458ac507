"""The dashboard in a real browser for the tests and the benchmark: the real server (uvicorn)
on a free port in a background thread, and Debian's headless Chromium through Selenium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

WIDTH, HEIGHT = 1366, 768


class Server:
    """``tracker.ui.create_app(url)`` served by uvicorn on 127.0.0.1 and a free port."""

    def __init__(self, url: str, token: str | None = None) -> None:
        import uvicorn

        from tracker.ui import create_app

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(url, token=token), host="127.0.0.1", port=self.port,
                                log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard's server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} not found (apt-get install chromium chromium-driver)"
    return None


def chromium():
    """Headless Chromium at 1366x768 with its console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                     f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                            "mobile": False})
    driver.set_script_timeout(30)
    return driver


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "the page") -> Any:
    """``check()``'s first truthy answer, polled, or an AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except Exception:  # an element not there yet
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def open_page(driver, url: str, timeout: float = 20.0) -> float:
    """Load ``url`` and wait until its script says it is ready (and an experiment page's
    charts are drawn); the seconds it took."""
    start = time.monotonic()
    driver.get(url)
    wait_for(lambda: driver.execute_script(
        "const b = document.body.dataset;"
        "return (b.ready === '1' && (b.page !== 'experiment' || b.charts === '1'))"
        " || !!document.querySelector('#experiments') || !!document.querySelector('p.error')"),
        timeout, f"{url} ready")
    return time.monotonic() - start


def console_errors(driver) -> list[str]:
    """The console's errors since the last call (WebGL's performance notes are warnings)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
