"""What a database that does not answer costs each ``fit`` (issue 11, item 5): tiny real Keras
fits with a ``TrackingCallback`` (a new run each) against a healthy database, one that does
not answer (PostgreSQL: a host that accepts connections and never replies; SQLite: a file
another process keeps locked) and, on PostgreSQL, one that refuses connections; against the
same fits without a callback, interleaved in the same run. Goal: well under 0.5 s a fit."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings

from .common import Databases, Report, ms, step

GOAL_S = 0.5
_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
"""


class _Silent:
    """Accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    @property
    def url(self) -> str:
        return f"postgresql://tracker@127.0.0.1:{self.sock.getsockname()[1]}/sweeps"

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    import numpy as np
    from keras import Input, Sequential, layers

    from tracker import TrackingCallback

    os.environ["TRACKER_JOURNAL_DIR"] = dbs.scratch_dir("journal-unresponsive")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = Sequential([Input((8,)), layers.Dense(4, activation="relu"),
                        layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")

    def fit(url: str | None) -> float:
        callbacks = [] if url is None else [TrackingCallback(url, experiment="bench-hang")]
        start = time.perf_counter()
        model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=callbacks)
        return time.perf_counter() - start

    fit(None)  # compiles the training step
    rounds = 2 if size == "smoke" else 6
    for backend in backends:
        cases, cleanup = {"healthy": dbs.new(backend)}, []
        if backend == "postgresql":
            silent = _Silent()
            cleanup.append(silent.close)
            cases["never answers"] = silent.url
            cases["refuses connections"] = f"postgresql://tracker@127.0.0.1:{_closed_port()}/x"
        else:
            cases["locked by another process"] = url = dbs.new("sqlite")
            locker = subprocess.Popen([sys.executable, "-c", _LOCKER, url.removeprefix(
                "sqlite:///")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert locker.stdout.readline().strip() == "locked"
            cleanup.append(lambda p=locker: (p.stdin.close(), p.wait(timeout=30)))
        costs: dict[str, list[float]] = {name: [] for name in cases}
        with step(f"per-fit cost [{backend}]: {rounds} interleaved rounds"), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(rounds):
                baseline = fit(None)
                for name, url in cases.items():
                    costs[name].append(fit(url) - baseline)
        for done in cleanup:
            done()
        healthy = statistics.median(costs["healthy"])
        for name, values in costs.items():
            if name == "healthy":
                continue
            worst = max(values)
            report.add(f"per-fit cost: database {name} (median, worst {ms(worst)})", backend,
                       ms(statistics.median(values)), f"healthy {ms(healthy)}", "",
                       f"< {GOAL_S} s each", worst < GOAL_S)
