"""What every benchmark shares: fresh databases, interleaved timing, the results table."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from tracker.store import db, schema

PG_ADMIN_URL = os.environ.get(
    "TRACKER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    backend: str
    ours: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    ok: bool | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args, **kwargs) -> None:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        mark = {True: "ok", False: "MISSED", None: ""}[row.ok]
        print(f"  {row.bench} [{row.backend}]: {row.ours} | {row.baseline} | {row.ratio} "
              f"| goal {row.goal} {mark}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def markdown(self) -> str:
        lines = [
            "| benchmark | backend | ours | baseline (same run) | ratio | goal | met |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            met = {True: "yes", False: "**no**", None: ""}[r.ok]
            lines.append(
                f"| {r.bench} | {r.backend} | {r.ours} | {r.baseline} | {r.ratio} | {r.goal} "
                f"| {met} |"
            )
        lines += [f"\n- {n}" for n in self.notes]
        return "\n".join(lines)


# -- databases --------------------------------------------------------------------------------


class Databases:
    """Fresh, migrated databases; everything created is removed by ``close``."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="tracker-bench-")
        self._pg_created: list[str] = []
        self._admin = None

    def new(self, backend: str, migrate: bool = True) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{self.folder}/{uuid.uuid4().hex[:8]}.db"
        else:
            url = self._new_pg()
        if migrate:
            schema.upgrade(url)
        return url

    def scratch_dir(self, name: str) -> str:
        """A fresh folder inside the benchmark's temporary folder (removed by ``close``)."""
        return tempfile.mkdtemp(prefix=f"{name}-", dir=self.folder)

    def new_raw_pg(self) -> str:
        """An empty PostgreSQL database (for MLflow, Optuna)."""
        return self._new_pg()

    def postgres_available(self) -> str | None:
        try:
            with self._admin_engine().connect() as conn:
                conn.execute(sa.select(1))
            return None
        except Exception as exc:
            return db.mask_text(str(exc).splitlines()[0], PG_ADMIN_URL)

    def _admin_engine(self):
        if self._admin is None:
            self._admin = sa.create_engine(
                db.resolve_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT"
            )
        return self._admin

    def _new_pg(self) -> str:
        from psycopg2 import sql

        name = f"tracker_bench_{uuid.uuid4().hex[:10]}"
        with self._admin_engine().connect() as conn:
            with conn.connection.driver_connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._pg_created.append(name)
        return db.resolve_url(PG_ADMIN_URL).set(database=name).render_as_string(
            hide_password=False
        )

    def close(self) -> None:
        from psycopg2 import sql

        db.dispose_engines()
        if self._pg_created:
            with self._admin_engine().connect() as conn:
                with conn.connection.driver_connection.cursor() as cursor:
                    for name in self._pg_created:
                        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)))
        if self._admin is not None:
            self._admin.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def sqlite_path(url: str) -> str:
    return sa.engine.make_url(url).database


def vacuum_analyze(url: str) -> None:
    """What autovacuum / a long-lived store has done: statistics and (PostgreSQL) the
    visibility map that index-only scans need."""
    engine = db.get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.connection.driver_connection.autocommit = True
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.connection.driver_connection.autocommit = False
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


# -- timing -----------------------------------------------------------------------------------


def interleaved(
    contenders: dict[str, Callable[[], float | None]], rounds: int
) -> dict[str, float]:
    """Run every contender once per round, in turn, and return each one's median over the
    rounds. A contender returns its own figure as a float (e.g. a p50), or anything else to
    be timed as a whole."""
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            figure = run()
            elapsed = time.perf_counter() - start
            results[name].append(figure if isinstance(figure, float) else elapsed)
    return {name: statistics.median(values) for name, values in results.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def ratio(slower: float, faster: float) -> str:
    return f"{slower / faster:.2g}x" if faster > 0 else "-"


@contextmanager
def step(title: str) -> Iterator[None]:
    print(f"[{time.strftime('%H:%M:%S')}] {title}", flush=True)
    start = time.perf_counter()
    yield
    print(f"    ({time.perf_counter() - start:.1f} s)", flush=True)


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
