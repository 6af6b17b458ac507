"""Curation at scale: what hiding soft-deleted runs costs every read, and how long delete,
restore and purge take.

The visibility clause (``tracker.store.visibility``) is on every read. Baseline, in the same
run on the same store: the same query with the clause left out (a ``RunSelection`` with
``deleted=None``, i.e. the query as it was before soft delete). Goal: at most 1.3x. Then 10% of
the runs are deleted, and delete, restore and purge of those are timed (goal: purge of 10% of
the store under 10 s at full size)."""

from __future__ import annotations

import time

from tracker.store import queries
from tracker.store.filters import RunSelection

from .bench_queries import load
from .common import Databases, Report, interleaved, ms, ratio, step
from .workload import Sweep


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    sweep = {"full": Sweep(10_000, 100), "small": Sweep(1_000, 30), "smoke": Sweep(20, 5)}[size]
    rounds = 1 if size == "smoke" else 7
    for backend in backends:
        _bench(report, dbs.new(backend), backend, sweep, rounds)


def _bench(report: Report, url: str, backend: str, sweep: Sweep, rounds: int) -> None:
    with step(f"load {sweep.metric_rows:,} rows ({sweep.runs:,} runs), {backend}"):
        repo = load(url, sweep)
    experiment_id = repo.experiments()[0].id

    def best_by(deleted):
        selection = RunSelection(experiment_id, "bench", None, deleted)
        return lambda: repo.read(lambda conn: queries.best_by(
            conn, "batch_size", "val_accuracy", "max", selection))

    def top_runs(deleted):
        selection = RunSelection(experiment_id, "bench", None, deleted)
        return lambda: repo.read(lambda conn: queries.top_runs(
            conn, "val_accuracy", 10, "max", selection))

    def runs(deleted):
        selection = RunSelection(experiment_id, "bench", None, deleted)
        return lambda: repo.read(lambda conn: queries.runs(conn, selection))

    pairs = {"best_by": best_by, "top_runs": top_runs, "runs": runs}
    contenders = {}
    for name, make in pairs.items():
        contenders[name] = make(False)
        contenders[f"{name} unfiltered"] = make(None)
    with step(f"reads with and without the visibility clause, {backend}: {rounds} rounds"):
        for call in contenders.values():
            call()
        seconds = interleaved(contenders, rounds)
    for name in pairs:
        ours, baseline = seconds[name], seconds[f"{name} unfiltered"]
        report.add(f"{name} hiding deleted runs, {sweep.runs:,} runs", backend, ms(ours),
                   f"without the clause {ms(baseline)}", ratio(ours, baseline), "<= 1.3x",
                   ours <= 1.3 * baseline)

    chosen = repo.runs("bench")[::10]
    for run in chosen:  # ended: purge leaves runs that still train
        repo.finish_run(run.key)
    victims = [run.id for run in chosen]
    timed = {}
    for action, call in (("delete", lambda: repo.delete_runs(victims)),
                         ("restore", lambda: repo.restore_runs(victims)),
                         ("delete again", lambda: repo.delete_runs(victims)),
                         ("purge", lambda: repo.purge())):
        start = time.perf_counter()
        done = call()
        timed[action] = time.perf_counter() - start
        assert done.runs == len(victims), (action, done)
    rows = sweep.metric_rows // 10
    for action in ("delete", "restore", "purge"):
        goal = action == "purge" and sweep.runs >= 10_000
        report.add(f"{action} {len(victims):,} runs (~{rows:,} epoch rows)", backend,
                   ms(timed[action]), "", "", "< 10 s" if goal else "",
                   timed[action] < 10 if goal else None)
