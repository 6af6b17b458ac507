"""Pruning: what ``MedianPruner`` saves on a real keras-tuner search, what it costs the training
thread, and what its threshold query costs at scale.

* **search**: the pruning acceptance search (tests/support/pruning_search.py: 20 trials x 10
  epochs, half the space unable to learn) without and with ``MedianPruner()``: epochs and wall
  time, and the best score each finds (goal: at most 60 % of the epochs, best within 1 %);
* **training-thread cost**: ``PruningSession.after_epoch`` (all the pruner adds to
  ``on_epoch_end``), median per epoch over many epochs, against a database holding other runs
  (goal: under 50 us);
* **threshold query**: ``Repository.bests_up_to`` at 10,000 runs x 50 epochs (``--full``; 2,000
  x 50 by default), at the first, middle and last epoch, against the same question asked of
  ``epoch_metrics`` directly (each run's max over epochs <= E): ours stays flat in E.

    python -m benchmarks --only pruning [--full | --smoke] [--backend sqlite,postgresql]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from tracker import Repository
from tracker.pruning import MedianPruner, PruningSession, background
from tracker.store import db
from tracker.store.models import EpochMetric, Experiment, Run

from .bench_queries import load
from .common import Databases, Report, ms, ratio, step
from .workload import Sweep

SIZES = {"smoke": (50, 5), "small": (2_000, 50), "full": (10_000, 50)}
SEARCH = {"smoke": (4, 3), "small": (20, 10), "full": (20, 10)}


def run(report: Report, dbs: Databases, backends: list[str], size: str) -> None:
    for backend in backends:
        thread_cost(report, dbs, backend, 300 if size == "smoke" else 5_000)
        query_cost(report, dbs, backend, *SIZES[size])
        search(report, dbs, backend, *SEARCH[size])


def thread_cost(report: Report, dbs: Databases, backend: str, epochs: int) -> None:
    with step(f"pruning: training-thread cost per epoch, {backend}"):
        url = dbs.new(backend)
        repo = Repository(url)
        for i in range(6):
            key = repo.start_run("cost", objective="val_accuracy", direction="max")
            repo.log_epochs(key, {e: {"val_accuracy": 0.5 + i / 20} for e in range(epochs)})
            repo.finish_run(key)
        key = repo.start_run("cost")
        session = PruningSession(MedianPruner(percentile=0.0), url, "cost", key)  # never prunes
        logs = {"loss": 0.5, "accuracy": 0.7, "val_loss": 0.6, "val_accuracy": 0.99}
        costs = []
        for epoch in range(epochs):
            start = time.perf_counter()
            session.after_epoch(epoch, logs)
            costs.append(time.perf_counter() - start)
            if epoch % 50 == 0:  # let the pruning thread answer, as a real epoch would
                background.submit(lambda: None).result(30)
        session.close()
        median = statistics.median(costs)
        report.add("pruning: after_epoch per epoch p50", backend, f"{median * 1e6:.1f} us",
                   goal="< 50 us", ok=median < 50e-6)


def _naive_bests(url: str, metric: str, epoch: int) -> list[float]:
    """The same question without ``epoch_bests``: every run's max over its epochs <= E."""
    m, r, e = EpochMetric.__table__, Run.__table__, Experiment.__table__
    stmt = (
        sa.select(sa.func.max(m.c.value))
        .select_from(m.join(r, r.c.id == m.c.run_id).join(e, e.c.id == r.c.experiment_id))
        .where(e.c.name == "bench", m.c.name == metric, m.c.epoch <= epoch)
        .group_by(m.c.run_id)
    )
    with db.get_engine(url).connect() as conn:
        return [v for v in conn.execute(stmt).scalars() if v is not None]


def query_cost(report: Report, dbs: Databases, backend: str, runs: int, epochs: int) -> None:
    with step(f"pruning: threshold query at {runs:,} runs x {epochs} epochs, {backend}"):
        url = dbs.new(backend)
        sweep = Sweep(runs, epochs)
        repo = load(url, sweep)
        for run_ in repo.runs("bench")[: runs // 2]:  # half ended: every run counts
            repo.finish_run(run_.key)
        for epoch in (0, epochs // 2, epochs - 1):
            ours, theirs = [], []
            for _ in range(5):
                start = time.perf_counter()
                found = repo.bests_up_to("bench", "val_accuracy", epoch, direction="max")
                ours.append(time.perf_counter() - start)
                start = time.perf_counter()
                expected = _naive_bests(url, "val_accuracy", epoch)
                theirs.append(time.perf_counter() - start)
            assert sorted(found) == sorted(expected), "the two queries disagree"
            mine, naive = statistics.median(ours), statistics.median(theirs)
            report.add(f"pruning: bests_up_to, {runs:,} runs, epoch {epoch}", backend, ms(mine),
                       f"max over epochs <= {epoch}: {ms(naive)}", ratio(naive, mine),
                       goal="flat in the epoch")


def search(report: Report, dbs: Databases, backend: str, trials: int, epochs: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from pruning_search import run_search

    with step(f"pruning: keras-tuner search {trials} trials x {epochs} epochs, {backend}"):
        url = dbs.new(backend)
        folder = tempfile.mkdtemp(dir=dbs.folder)
        plain = run_search(url, folder, "baseline", trials=trials, epochs=epochs)
        pruned = run_search(url, folder, "pruned", pruner=MedianPruner(), trials=trials,
                            epochs=epochs)
        share = pruned.epochs / plain.epochs
        report.add("pruning: epochs trained with MedianPruner", backend,
                   f"{pruned.epochs} epochs", f"{plain.epochs} without", f"{share:.0%}",
                   goal="<= 60%", ok=share <= 0.6)
        report.add("pruning: search wall time", backend, f"{pruned.wall_s:.1f} s",
                   f"{plain.wall_s:.1f} s without", f"{pruned.wall_s / plain.wall_s:.0%}")
        close = pruned.best_score >= plain.best_score * 0.99
        report.add("pruning: best score found", backend,
                   f"{pruned.best_score:.4f} (trial {pruned.best_trial})",
                   f"{plain.best_score:.4f} (trial {plain.best_trial})", goal="within 1%",
                   ok=close)
        stats = Repository(url).prune_stats("pruned")
        report.note(f"prune-stats [{backend}]: {stats.pruned} of {stats.runs} runs pruned, "
                    f"{stats.epochs_trained} epochs trained, ~{stats.epochs_saved} saved, best "
                    f"run pruned: {stats.best_pruned}")
