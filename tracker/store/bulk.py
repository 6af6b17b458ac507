"""``Repository`` methods that write and read many metric rows at once: imports, journal
replay and the per-batch writer use them.

Mixed into ``Repository`` (which provides ``engine``). Rows are streamed in
chunks; each chunk is one transaction written with the backend's bulk path (``executemany``
of one compiled statement on SQLite, ``COPY`` on PostgreSQL), so a million rows go in at
several hundred thousand rows a second while memory stays flat.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import Connection, select

from ..errors import NotFoundError, TrackingWarning
from . import db, writes
from .models import ValueKind
from .records import BatchPoint
from .values import UnsupportedValue, check_name, decode_metric, encode_metric

CHUNK_ROWS = 50_000
_FINITE = int(ValueKind.FINITE)


class BulkStore:
    """Bulk writes of epoch and batch metrics, and reads of batch metrics."""

    def bulk_log_epochs(
        self, rows: Iterable[tuple[str | int, int, str, Any]], *, chunk_rows: int = CHUNK_ROWS
    ) -> int:
        """Write many epoch metrics at once: ``(run, epoch, name, value)`` tuples, where
        ``run`` is a run key or id. Returns how many rows were written.

        Same meaning as ``log_epoch`` (NaN and +/-inf kept; an epoch written again is
        overwritten; values that are not numbers are skipped with one ``TrackingWarning``),
        at bulk speed. Each chunk of ``chunk_rows`` rows is one transaction, so a call that
        failed half-way can simply be repeated.

        >>> rows = ((key, epoch, "loss", loss) for epoch, loss in enumerate(losses))
        >>> repo.bulk_log_epochs(rows)                                       # doctest: +SKIP
        """
        return self._bulk(rows, 2, writes.insert_epoch_rows, chunk_rows)

    def bulk_log_batches(
        self,
        rows: Iterable[tuple[str | int, int, int, str, Any]],
        *,
        chunk_rows: int = CHUNK_ROWS,
    ) -> int:
        """Write per-batch metrics: ``(run, step, epoch, name, value)`` tuples, ``step`` being
        the global batch index of the run. Returns how many rows were written. The per-batch
        writer of ``TrackingCallback(log_every_n_batches=N)`` uses it.

        >>> rows = [(key, 0, 0, "loss", 2.3), (key, 1, 0, "loss", 2.1)]
        >>> repo.bulk_log_batches(rows)                                      # doctest: +SKIP
        2
        """
        return self._bulk(rows, 3, writes.insert_batch_rows, chunk_rows)

    def batch_history(self, run: int | str, metric: str | None = None) -> list[BatchPoint]:
        """The per-batch points of a run (id or key), by metric name then step.

        >>> [(p.step, p.value) for p in repo.batch_history(key, "loss")][:2]  # doctest: +SKIP
        [(0, 2.3), (1, 2.1)]
        """
        b = writes.batch_metrics

        def work(conn: Connection) -> list[BatchPoint]:
            run_id = self._resolve_runs(conn, [run])[run]
            stmt = select(b.c.step, b.c.epoch, b.c.name, b.c.value, b.c.value_kind).where(
                b.c.run_id == run_id
            )
            if metric is not None:
                stmt = stmt.where(b.c.name == metric)
            return [
                BatchPoint(run_id, row.step, row.epoch, row.name,
                           decode_metric(row.value, row.value_kind))
                for row in conn.execute(stmt.order_by(b.c.name, b.c.step))
            ]

        return db.run_in_transaction(self.engine, work, write=False)

    # -- internals --------------------------------------------------------------------------

    def _bulk(self, rows: Iterable[tuple], positions: int, insert, chunk_rows: int) -> int:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
        engine = self.engine
        written = 0
        skipped: dict[str, int] = {}
        source = iter(rows)
        while chunk := list(islice(source, chunk_rows)):
            runs = {row[0] for row in chunk}

            def work(conn: Connection, chunk=chunk, runs=runs) -> int:
                ids = self._resolve_runs(conn, runs)
                encoded = list(_encode(chunk, ids, positions, skipped))
                insert(conn, encoded)
                return len(encoded)

            written += db.run_in_transaction(engine, work, write=True)
        if skipped:
            detail = ", ".join(f"{name!r} ({n}x)" for name, n in sorted(skipped.items()))
            warnings.warn(f"metric values not recorded: {detail}", TrackingWarning, 3)
        return written

    def _resolve_runs(self, conn: Connection, runs: Iterable[str | int]) -> dict[Any, int]:
        """Run id of every key or id in ``runs``, looked up inside the caller's transaction (one
        query per 500 keys; never remembered: the database may be re-created under a sweep)."""
        ids: dict[Any, int] = {}
        missing = []
        for run in runs:
            if isinstance(run, int):
                ids[run] = run
            else:
                missing.append(run)
        if missing:
            r = writes.runs
            for start in range(0, len(missing), 500):
                found = conn.execute(
                    select(r.c.key, r.c.id).where(r.c.key.in_(missing[start : start + 500]))
                ).all()
                for key, run_id in found:
                    ids[key] = run_id
            unknown = [key for key in missing if key not in ids]
            if unknown:
                raise NotFoundError(f"no run with key {unknown[0]!r}: call start_run first")
        return ids


def _encode(
    chunk: list[tuple], ids: dict, positions: int, skipped: dict[str, int]
) -> Iterator[tuple]:
    """Rows as stored: (run_id, name, *positions, value, value_kind). The common case (a
    finite float, a name seen before) takes a fast path: this loop is the bulk rate on SQLite."""
    names: set[str] = set()
    for row in chunk:
        run, *where, name, value = row
        if len(where) != positions - 1:
            raise ValueError(f"expected {positions + 2} values per row, got {row!r}")
        if name not in names:
            check_name(name, "metric name")
            names.add(name)
        if type(value) is float and value - value == 0.0:  # finite (NaN/inf fail x - x == 0)
            yield (ids[run], name, *where, value, _FINITE)
            continue
        try:
            number, kind = encode_metric(value)
        except UnsupportedValue:
            skipped[name] = skipped.get(name, 0) + 1
            continue
        yield (ids[run], name, *where, number, int(kind))
