"""``Repository`` methods that curate a sweep: tags and notes, rename and move, soft delete,
restore, purge, and the audit log of who did what.

Mixed into ``Repository`` (which provides ``_read``, ``_write`` and ``_stale_before``). A
target is a run (its id, key or ``RunInfo``), a list of runs, or an experiment (its name or
``ExperimentInfo``; a text that is a run's key is that run). Deleted runs stay deleted
whatever their process still writes (see ``visibility``); every delete, restore, rename, move
and purge is audited with the user and host.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ..errors import NotFoundError, TrackerError
from . import curation_sql as sql
from . import filters, queries, tags, writes
from .curation_input import parse_duration
from .curation_sql import audit_log
from .filters import Where
from .records import ExperimentInfo, RunInfo
from .values import check_name
from .visibility import Deleted, run_visibility
from .writes import runs as r


@dataclass(frozen=True, slots=True)
class Curated:
    """What a curation call touched (or, with ``dry_run``, would touch): how many runs, epoch
    rows, batch rows and experiments, and the ids of the runs."""

    action: str
    runs: int = 0
    epochs: int = 0
    batches: int = 0
    experiments: int = 0
    run_ids: tuple[int, ...] = ()
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A row of the audit log: ``details`` is a dict (e.g. ``run_ids``, ``from``, ``to``)."""

    id: int
    at: dt.datetime
    action: str
    target: str
    details: dict[str, Any]
    user: str | None
    host: str | None


RunRefs = int | str | RunInfo | Iterable[int | str | RunInfo] | None
Target = int | str | RunInfo | ExperimentInfo | Iterable[int | str | RunInfo]


class CurationStore:
    """Tags, notes, rename, move, delete, restore, purge and audit on the store."""

    # -- tags and notes ---------------------------------------------------------------------

    def tag(self, target: Target, **values: Any) -> int:
        """Add or replace tags (text values) on a run, runs or an experiment; returns how
        many targets. Tags show in ``runs``, DataFrames (``tags.KEY``), exports and the report,
        and filters read them (``tags.stage == 'shipped'``).

        >>> repo.tag(12, stage="shipped", reviewer="ana")                  # doctest: +SKIP
        """
        rows = tags.tag_rows(values)

        def work(conn: Connection) -> int:
            kind, ids = self._targets(conn, target)
            tags.set_tags(conn, kind, ids, rows)
            return len(ids)

        return self._write(work)

    def untag(self, target: Target, *names: str) -> int:
        """Remove the tags ``names`` from a run, runs or an experiment; returns how many
        tags were removed."""
        for name in names:
            check_name(name, "tag name")

        def work(conn: Connection) -> int:
            kind, ids = self._targets(conn, target)
            return tags.remove_tags(conn, kind, ids, names)

        return self._write(work)

    def note(self, target: Target, text: str | None) -> int:
        """Set the note (free text; None clears it) of a run, runs or an experiment."""

        def work(conn: Connection) -> int:
            kind, ids = self._targets(conn, target)
            return tags.set_note(conn, kind, ids, text)

        return self._write(work)

    def experiment_tags(self, experiment: str) -> dict[str, str]:
        """The tags of an experiment."""

        def work(conn: Connection) -> dict[str, str]:
            found = queries.experiment(conn, experiment)
            return tags.tags_of(conn, tags.EXPERIMENT, [found.id]).get(found.id, {})

        return self._read(work)

    # -- rename and move --------------------------------------------------------------------

    def rename_experiment(self, old: str, new: str) -> ExperimentInfo:
        """Rename experiment ``old`` to ``new``, in place: its runs stay, and a sweep still
        writing under ``old`` keeps writing into it (``old`` stays an alias until another
        experiment takes that name by a rename).

        >>> repo.rename_experiment("mnist", "mnist-v1")                     # doctest: +SKIP
        """
        check_name(new, "experiment name")

        def work(conn: Connection) -> ExperimentInfo:
            found = queries.experiment(conn, old, deleted=None)
            if conn.execute(select(writes.experiments.c.id)
                            .where(writes.experiments.c.name == new)).first() is not None:
                raise TrackerError(f"there is already an experiment named {new!r}: move its "
                                   f"runs (`tracker mv -e {old} --to {new}`) or pick another name")
            sql.rename(conn, found.id, old, new)
            sql.audit(conn, "rename", f"experiment {new}", {"from": old, "to": new,
                                                            "experiment_id": found.id})
            return queries.experiment(conn, new, deleted=None)

        return self._write(work)

    def move_runs(self, runs: RunRefs = None, to: str | None = None, *,
                  experiment: str | None = None, where: Where = None,
                  dry_run: bool = False) -> Curated:
        """Move runs (ids, keys, ``RunInfo``s, or those of ``experiment`` passing ``where``)
        into experiment ``to`` (created if needed). A moved keras-tuner trial becomes the next
        attempt of that trial id in ``to``, executions kept, so ``trials`` stays consistent.

        >>> repo.move_runs([12, 13], to="mnist-rerun")                     # doctest: +SKIP
        """
        if to is None:
            raise TrackerError("say where to move the runs: to=EXPERIMENT")
        check_name(to, "experiment name")

        def work(conn: Connection) -> Curated:
            ids = self._run_ids_of(conn, runs, experiment, where, False)
            found = sql.counts(conn, ids)
            if dry_run:
                return Curated("move", **found, run_ids=tuple(ids), dry_run=True)
            sources = _experiment_names(conn, ids)
            target = writes.ensure_experiment(conn, to, *_objective_of(conn, ids))
            moved = sql.move(conn, ids, target)
            sql.audit(conn, "move", sql.runs_text(len(moved)), {
                "run_ids": sorted(moved), "from": sources, "to": to})
            return Curated("move", **sql.counts(conn, sorted(moved)), run_ids=tuple(sorted(moved)))

        return self._write(work)

    # -- delete, restore, purge -------------------------------------------------------------

    def delete_runs(self, runs: RunRefs = None, *, experiment: str | None = None,
                    where: Where = None, dry_run: bool = False) -> Curated:
        """Soft-delete runs (ids, keys, ``RunInfo``s, or those of ``experiment`` passing
        ``where``): hidden from every read until ``restore_runs``, removed by ``purge``. A
        run whose process still trains stays deleted whatever it writes later.

        >>> repo.delete_runs(experiment="mnist", where="status == 'failed'")  # doctest: +SKIP
        """
        if runs is None and where is None:
            raise TrackerError("say which runs to delete: run ids or keys, or where= (with "
                               "experiment=); delete_experiment deletes a whole experiment")
        return self._set_deleted("delete", runs, experiment, where, dry_run)

    def restore_runs(self, runs: RunRefs = None, *, experiment: str | None = None,
                     where: Where = None, dry_run: bool = False) -> Curated:
        """Bring back soft-deleted runs (ids, keys, or the deleted runs of ``experiment``
        passing ``where``; ``experiment`` alone restores it and all its runs)."""
        if runs is None and where is None and experiment is not None:
            return self._experiment_deleted("restore", experiment, dry_run)
        return self._set_deleted("restore", runs, experiment, where, dry_run)

    def delete_experiment(self, name: str, *, dry_run: bool = False) -> Curated:
        """Soft-delete an experiment with every run in it (also runs its sweep still adds)."""
        return self._experiment_deleted("delete", name, dry_run)

    def restore_experiment(self, name: str, *, dry_run: bool = False) -> Curated:
        """Bring back a deleted experiment with every run in it."""
        return self._experiment_deleted("restore", name, dry_run)

    def purge(self, older_than: float | str | dt.timedelta | None = None, *,
              dry_run: bool = False) -> Curated:
        """Remove for good the runs and experiments soft-deleted more than ``older_than``
        (seconds, a timedelta or text such as ``"30d"``; None: all) ago, with their epochs,
        batches, summaries and tags. Runs still running with a fresh heartbeat wait for their
        end. Other runs' rows are never touched. SQLite keeps the file's size: ``vacuum``
        gives the space back.

        >>> repo.purge(older_than=dt.timedelta(days=30))                   # doctest: +SKIP
        """
        if isinstance(older_than, str):
            older_than = parse_duration(older_than)
        seconds = older_than.total_seconds() if isinstance(older_than, dt.timedelta) \
            else float(older_than or 0)
        if seconds < 0:
            raise TrackerError(f"older_than must not be negative, not {older_than!r}")
        before = writes.utcnow() - dt.timedelta(seconds=seconds)
        alive_after = self._stale_before()

        def work(conn: Connection) -> Curated:
            run_ids, experiment_ids = sql.purgeable(conn, before, alive_after)
            every = sorted(set(run_ids) | set(sql.runs_of(conn, experiment_ids)))
            result = Curated("purge", **sql.counts(conn, every), experiments=len(experiment_ids),
                             run_ids=tuple(every), dry_run=dry_run)
            if not dry_run and (every or experiment_ids):
                sql.purge(conn, run_ids, experiment_ids)
                sql.audit(conn, "purge", sql.runs_text(len(every)), {
                    "run_ids": every, "experiment_ids": experiment_ids, "older_than_s": seconds,
                    "epochs": result.epochs, "batches": result.batches})
            return result

        return self._write(work)

    def vacuum(self) -> None:
        """Give the space of purged rows back to the file system (SQLite ``VACUUM``; on
        PostgreSQL ``VACUUM`` runs by itself and this does nothing)."""
        engine = self.engine
        if engine.dialect.name != "sqlite":
            return
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("VACUUM")

    def audit(self, limit: int = 100) -> list[AuditRecord]:
        """The latest ``limit`` entries of the audit log, newest first."""
        stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        return self._read(lambda conn: [
            AuditRecord(row.id, row.at, row.action, row.target, json.loads(row.details or "{}"),
                        row.user, row.host) for row in conn.execute(stmt)])

    def deleted_keys(self, keys: Iterable[str]) -> set[str]:
        """Those of the run ``keys`` whose runs are soft-deleted (``tracker sync`` says so)."""
        keys = sorted(set(keys))

        def work(conn: Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(keys), 500):
                stmt = select(r.c.key).where(r.c.key.in_(keys[start:start + 500]),
                                             run_visibility(True))
                found.update(conn.execute(stmt).scalars())
            return found

        return self._read(work) if keys else set()

    # -- helpers ----------------------------------------------------------------------------

    def _set_deleted(self, action: str, runs: RunRefs, experiment: str | None, where: Where,
                     dry_run: bool) -> Curated:
        deleting = action == "delete"

        def work(conn: Connection) -> Curated:
            ids = self._run_ids_of(conn, runs, experiment, where, not deleting)
            found = sql.counts(conn, ids)
            if dry_run:
                return Curated(action, **found, run_ids=tuple(ids), dry_run=True)
            sql.set_run_deleted(conn, ids, writes.utcnow() if deleting else None)
            if ids:
                sql.audit(conn, action, sql.runs_text(len(ids)), {"run_ids": ids, **found})
            return Curated(action, **found, run_ids=tuple(ids))

        return self._write(work)

    def _experiment_deleted(self, action: str, name: str, dry_run: bool) -> Curated:
        deleting = action == "delete"

        def work(conn: Connection) -> Curated:
            found = queries.experiment(conn, name, deleted=None)
            ids = sql.runs_of(conn, [found.id])
            if not deleting:  # every run of it comes back
                hidden = conn.execute(select(r.c.id).where(
                    r.c.experiment_id == found.id, r.c.deleted_at.is_not(None))).scalars().all()
            result = Curated(action, **sql.counts(conn, ids), experiments=1, run_ids=tuple(ids),
                             dry_run=dry_run)
            if not dry_run:
                sql.set_experiment_deleted(conn, found.id, writes.utcnow() if deleting else None)
                if not deleting:
                    sql.set_run_deleted(conn, list(hidden), None)
                sql.audit(conn, action, f"experiment {name}", {
                    "experiment_id": found.id, "runs": result.runs, "epochs": result.epochs})
            return result

        return self._write(work)

    def _run_ids_of(self, conn: Connection, runs: RunRefs, experiment: str | None,
                    where: Where, deleted: Deleted) -> list[int]:
        """The ids of ``runs`` (which must exist), or of ``experiment``'s runs passing
        ``where``; ``deleted`` says which of them count (see ``visibility``)."""
        if runs is not None:
            return _resolve_runs(conn, runs, deleted)
        found = None if experiment is None else queries.experiment(conn, experiment,
                                                                   deleted=None)
        selection = filters.select_runs(conn, found.id if found else None, experiment, where,
                                        stale_before=self._stale_before(), deleted=deleted)
        stmt = selection.apply(select(r.c.id)).order_by(r.c.id)
        return list(conn.execute(stmt).scalars())

    def _targets(self, conn: Connection, target: Target) -> tuple[str, list[int]]:
        if isinstance(target, ExperimentInfo):
            return tags.EXPERIMENT, [queries.experiment(conn, target.name).id]
        if isinstance(target, str) and not target.isdigit():
            if writes.run_id_for_key(conn, target) is None:
                try:
                    return tags.EXPERIMENT, [queries.experiment(conn, target).id]
                except NotFoundError:
                    raise NotFoundError(f"no run with key {target!r} and no experiment named "
                                        f"{target!r}") from None
        return tags.RUN, _resolve_runs(conn, target, None)


def _resolve_runs(conn: Connection, runs: RunRefs, deleted: Deleted) -> list[int]:
    """Ids of run refs (id, digits, key or ``RunInfo``): ``NotFoundError`` for one that does
    not exist; those whose deletion state is not ``deleted`` are left out (idempotent)."""
    refs = [runs] if isinstance(runs, (int, str, RunInfo)) else list(runs or [])
    ids: list[int] = []
    keys: list[str] = []
    for ref in refs:
        if isinstance(ref, RunInfo):
            ids.append(ref.id)
        elif isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            ids.append(int(ref))
        elif isinstance(ref, str):
            keys.append(ref)
        else:
            raise TrackerError(f"a run is an id, a key or a RunInfo, not {ref!r}")
    wanted = set(ids)
    found: dict[Any, tuple[int, bool]] = {}
    for start in range(0, max(len(ids), len(keys)), 500):
        chunk_ids, chunk_keys = ids[start:start + 500], keys[start:start + 500]
        stmt = select(r.c.id, r.c.key, run_visibility(True).label("gone")).where(
            r.c.id.in_(chunk_ids) | r.c.key.in_(chunk_keys))
        for row in conn.execute(stmt):
            found[row.id] = found[row.key] = (row.id, bool(row.gone))
    for ref in [*ids, *keys]:
        if ref not in found:
            raise NotFoundError(f"no run {ref!r}")
    chosen = {found[ref][0] for ref in [*wanted, *keys]
              if deleted is None or found[ref][1] == deleted}
    return sorted(chosen)


def _experiment_names(conn: Connection, run_ids: list[int]) -> list[str]:
    stmt = select(writes.experiments.c.name).distinct().join(
        r, r.c.experiment_id == writes.experiments.c.id).where(r.c.id.in_(run_ids))
    return sorted(conn.execute(stmt).scalars())


def _objective_of(conn: Connection, run_ids: list[int]) -> tuple[str | None, str | None]:
    """The objective and direction a new target experiment inherits from the moved runs."""
    e = writes.experiments
    row = conn.execute(select(e.c.objective, e.c.direction).join(r, r.c.experiment_id == e.c.id)
                       .where(r.c.id.in_(run_ids or [-1]), e.c.objective.is_not(None))
                       .limit(1)).first()
    return (row.objective, row.direction) if row else (None, None)
