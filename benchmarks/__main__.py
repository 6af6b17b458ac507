"""Run the benchmarks: ``python -m benchmarks [--full | --smoke] [--only NAMES] [--backend NAMES]``.

Small sizes by default (a few minutes). ``--full`` uses the sizes of the goals (4 M rows, 32
workers, 60 s soak: most of an hour on 2 cores). ``--smoke`` uses tiny ones (seconds; the
figures mean nothing, the test suite uses it to check that the benchmarks still run). Prints
one line per figure as it goes, then a Markdown table (``--markdown FILE`` writes it too).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from . import (
    bench_batch,
    bench_bulk,
    bench_curation,
    bench_epoch,
    bench_fresh,
    bench_memory,
    bench_queries,
    bench_startup,
    bench_unresponsive,
    bench_workers,
    pruning,
    ui,
)
from .common import Databases, Report

BENCHMARKS = {
    "epoch": bench_epoch,
    "batch": bench_batch,
    "bulk": bench_bulk,
    "queries": bench_queries,
    "fresh": bench_fresh,
    "memory": bench_memory,
    "workers": bench_workers,
    "startup": bench_startup,
    "unresponsive": bench_unresponsive,
    "curation": bench_curation,
    "pruning": pruning,
    "ui": ui,
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as info:
            memory = int(info.readline().split()[1]) / 1024 / 1024
    except OSError:
        memory = 0
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, SQLite "
            f"{sqlite3.sqlite_version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--full", action="store_true", help="the sizes of the goals")
    sizes.add_argument("--smoke", action="store_true",
                       help="tiny sizes: checks that the benchmarks run (the test suite uses it)")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--backend", default="sqlite,postgresql",
                        help="sqlite, postgresql or both (PostgreSQL: $TRACKER_BENCH_POSTGRES_URL, "
                             "default postgresql://postgres@127.0.0.1:5432/test)")
    parser.add_argument("--markdown", help="also write the results table to this file")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]

    size = "full" if args.full else "smoke" if args.smoke else "small"
    report = Report()
    dbs = Databases()
    try:
        if "postgresql" in backends and (problem := dbs.postgres_available()):
            report.note(f"PostgreSQL unreachable, skipped: {problem}")
            backends.remove("postgresql")
        print(f"machine: {machine()}", flush=True)
        started = time.perf_counter()
        for name in chosen:
            BENCHMARKS[name].run(report, dbs, backends, size)
    finally:
        dbs.close()
    table = report.markdown()
    sized = {"full": "full sizes", "small": "small sizes (--full for the goals' sizes)",
             "smoke": "smoke-test sizes: the figures mean nothing"}[size]
    header = f"machine: {machine()}\n{sized}, {time.perf_counter() - started:.0f} s\n\n"
    print("\n" + header + table)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(header + table + "\n")
    if size == "smoke":
        return 0
    return 1 if any(row.ok is False for row in report.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
