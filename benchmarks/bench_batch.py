"""Per-batch logging: what ``on_train_batch_end`` costs the training loop, and a soak at
10,000 batches/s: memory bounded, every point written."""

from __future__ import annotations

import os
import resource
import time

from tracker.store import db

from .common import Databases, Report, percentile, step

LOGS = {"loss": 0.42, "accuracy": 0.88, "mean_absolute_error": 0.31, "auc": 0.91}


def _callback(url: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tracker import TrackingCallback

    callback = TrackingCallback(url, experiment="bench-batch", log_every_n_batches=1,
                                on_error="raise")
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    return callback


def _stored(url: str) -> int:
    with db.get_engine(url).connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM batch_metrics").scalar()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    calls = {"smoke": 2_000}.get(size, 100_000)
    soak_s = {"full": 60, "small": 5, "smoke": 1}[size]
    for backend in backends:
        url = dbs.new(backend)
        with step(f"per-batch hook, {backend}: {calls:,} calls"):
            callback = _callback(url)
            hook = callback.on_train_batch_end
            times = []
            clock = time.perf_counter_ns
            for batch in range(calls):
                logs = dict(LOGS)  # Keras hands each batch a fresh dict
                start = clock()
                hook(batch, logs)
                times.append(clock() - start)
            callback.on_train_end()
            stored = _stored(url)
        p50, p99 = percentile(times, 0.5) / 1e3, percentile(times, 0.99) / 1e3
        mean = sum(times) / len(times) / 1e3
        report.add("per-batch hook cost", backend, f"p50 {p50:.1f} us, mean {mean:.1f} us",
                   f"p99 {p99:.1f} us", "", "<= 20 us", mean <= 20 and p50 <= 20)
        report.add("per-batch points written", backend, f"{stored:,}", f"of {calls * 4:,}", "",
                   "nothing lost", stored == calls * 4)

        url = dbs.new(backend)
        with step(f"per-batch soak, {backend}: 10,000 batches/s for {soak_s} s"):
            callback = _callback(url)
            hook = callback.on_train_batch_end
            rss_start = peak = _rss_mb()
            most_pending = 0
            begin = time.perf_counter()
            sent = 0
            while (elapsed := time.perf_counter() - begin) < soak_s:
                due = int(elapsed * 10_000)
                while sent < due:
                    hook(sent, dict(LOGS))
                    sent += 1
                recorder = callback._batches
                most_pending = max(most_pending, recorder.pending)
                if sent % 10_000 < 10:
                    peak = max(peak, _rss_mb())
                time.sleep(0.001)
            callback.on_train_end()
            stored = _stored(url)
        report.add("per-batch soak 10k batches/s", backend,
                   f"RSS +{peak - rss_start:.0f} MB, most pending {most_pending:,} batches",
                   f"{sent:,} batches sent", "", "bounded, nothing lost",
                   stored == sent * 4 and most_pending < 100_000)
