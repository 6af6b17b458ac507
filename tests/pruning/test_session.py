"""The pruning rule and its background thresholds against a real database (no Keras): who
counts, the percentile, the warm-up, the one-epoch lag, and that nothing breaks training."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tracker import Repository
from tracker.pruning import MedianPruner, PercentilePruner, PruningSession, background, percentile
from tracker.store import db


def drain() -> None:
    """Wait until the pruning thread answered everything asked so far (it runs in order)."""
    background.submit(lambda: None).result(timeout=30)


def curves(repo: Repository, experiment: str, runs: dict[str, list[float]],
           status: str = "completed") -> dict[str, str]:
    keys = {}
    for name, values in runs.items():
        key = repo.start_run(experiment, name=name, objective="val_accuracy", direction="max")
        repo.log_epochs(key, {e: {"val_accuracy": v, "loss": 1 - v} for e, v in enumerate(values)})
        if status != "running":
            repo.finish_run(key, status)
        keys[name] = key
    return keys


def session(url, key, pruner=None, experiment="sweep", **kwargs):
    decided = []
    made = PruningSession(pruner or MedianPruner(), url, experiment, key,
                          on_prune=lambda e, t: decided.append((e, t)), **kwargs)
    return made, decided


def test_percentile_interpolates_like_numpy():
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 25) == 1.75
    assert percentile([5.0], 90) == 5.0


@pytest.mark.parametrize("bad", [{"percentile": 101}, {"percentile": "50"}, {"min_runs": 0},
                                 {"warmup_epochs": -1}, {"interval_epochs": 0},
                                 {"direction": "up"}])
def test_bad_arguments_are_refused_with_their_name(bad):
    arguments = {"percentile": 50.0, **bad}
    with pytest.raises(ValueError, match=next(iter(bad)) if "direction" not in bad else "up"):
        PercentilePruner(**arguments)


def test_warmup_and_interval_choose_the_judged_epochs():
    pruner = MedianPruner(warmup_epochs=2, interval_epochs=3)
    assert [e for e in range(10) if pruner.judges(e)] == [2, 5, 8]
    assert [pruner.next_judged(e) for e in (0, 3, 5, 6)] == [2, 5, 5, 8]


def test_bests_up_to_counts_the_runs_that_reached_the_epoch(url):
    repo = Repository(url)
    curves(repo, "sweep", {"a": [0.5, 0.9, 0.7], "b": [0.6, 0.4]})
    curves(repo, "sweep", {"failed": [0.99, 0.99]}, status="failed")
    curves(repo, "sweep", {"pruned": [0.3, 0.35]}, status="pruned")
    running = curves(repo, "sweep", {"short": [0.8], "long": [0.1, 0.2, 0.95]}, status="running")
    curves(repo, "elsewhere", {"x": [0.99, 0.99]})
    assert sorted(repo.bests_up_to("sweep", "val_accuracy", 0, direction="max")) == \
        [0.1, 0.3, 0.5, 0.6, 0.8]
    assert sorted(repo.bests_up_to("sweep", "val_accuracy", 1, direction="max")) == \
        [0.2, 0.35, 0.6, 0.9]  # "short" has not reached epoch 1
    assert sorted(repo.bests_up_to("sweep", "val_accuracy", 2, direction="max")) == \
        [0.9, 0.95]  # nor have "b" and "pruned" reached epoch 2
    assert sorted(repo.bests_up_to("sweep", "loss", 1, direction="min",
                                   exclude_key=running["long"])) == pytest.approx([0.1, 0.4, 0.65])


def test_a_run_worse_than_the_median_is_pruned_with_epoch_and_threshold(url):
    repo = Repository(url)
    curves(repo, "sweep", {f"good{i}": [0.5, 0.6 + i / 100, 0.9] for i in range(5)})
    key = repo.start_run("sweep", name="bad")
    pruning, decided = session(url, key)
    drain()
    assert not pruning.after_epoch(0, {"val_accuracy": 0.1})  # warm-up: never judged
    drain()
    assert pruning.after_epoch(1, {"val_accuracy": 0.2})
    assert decided == [(1, pytest.approx(0.62))] and pruning.pruned == decided[0]
    assert pruning.after_epoch(2, {"val_accuracy": 0.99})  # stays decided

    good = repo.start_run("sweep", name="good")
    kept, decided = session(url, good)
    drain()
    kept.after_epoch(0, {"val_accuracy": 0.1})
    drain()
    assert not kept.after_epoch(1, {"val_accuracy": 0.7}) and decided == []


def test_too_few_runs_or_an_unknown_metric_prune_nothing(url):
    repo = Repository(url)
    curves(repo, "sweep", {f"good{i}": [0.9, 0.9] for i in range(4)})
    key = repo.start_run("sweep")
    for pruner, logs in [(MedianPruner(), {"val_accuracy": 0.1}),
                         (MedianPruner(min_runs=2), {"other": 0.1})]:
        pruning, decided = session(url, key, pruner)
        for epoch in range(3):
            drain()
            assert not pruning.after_epoch(epoch, logs)
        assert decided == []
    pruning, decided = session(url, key, MedianPruner(min_runs=4))
    drain()
    pruning.after_epoch(0, {"val_accuracy": 0.1})
    drain()
    assert pruning.after_epoch(1, {"val_accuracy": 0.1})  # the check above can fail


def test_other_runs_written_meanwhile_count_and_lower_is_better_works(url):
    repo = Repository(url)
    key = repo.start_run("sweep", objective="val_loss", direction="min")
    pruner = MedianPruner(min_runs=3, warmup_epochs=0, metric="val_loss")  # asked in advance
    pruning, decided = session(url, key, pruner)
    drain()
    gate = threading.Event()
    background.submit(gate.wait, 30)  # what epoch 1 is judged on is asked after the writes
    assert not pruning.after_epoch(0, {"val_loss": 5.0})  # nobody else yet
    for i in range(3):  # other workers' runs arrive while this one trains
        other = repo.start_run("sweep")
        repo.log_epochs(other, {0: {"val_loss": 1.0 + i}, 1: {"val_loss": 0.5 + i},
                                2: {"val_loss": 0.1 * (i + 1)}})
        repo.finish_run(other)
    gate.set()
    drain()
    assert not pruning.after_epoch(1, {"val_loss": 1.2})  # best 1.2 beats the median 1.5
    drain()
    assert pruning.after_epoch(2, {"val_loss": 2.0})  # best 1.2 misses the median 0.2
    assert decided == [(2, pytest.approx(0.2))]


def test_a_late_threshold_is_applied_one_epoch_later_and_never_waited_for(url):
    repo = Repository(url)
    curves(repo, "sweep", {f"good{i}": [0.9, 0.9, 0.9] for i in range(5)})
    key = repo.start_run("sweep")
    gate = threading.Event()
    background.submit(gate.wait, 30)  # the pruning thread is busy
    pruning, decided = session(url, key)
    pruning.after_epoch(0, {"val_accuracy": 0.1})
    started = time.perf_counter()
    assert not pruning.after_epoch(1, {"val_accuracy": 0.2})  # the answer is not there yet
    assert time.perf_counter() - started < 0.1
    gate.set()
    drain()
    assert pruning.after_epoch(2, {"val_accuracy": 0.95})  # judged on its best at epoch 1
    assert decided == [(1, 0.9)]


def test_a_database_that_is_down_prunes_nothing_and_never_raises(backend, tmp_path):
    url = (f"sqlite:///{tmp_path}/missing/tracker.db" if backend == "sqlite"
           else "postgresql://postgres@127.0.0.1:1/none")
    pruning, decided = session(url, "no-such-run", MedianPruner(min_runs=1, warmup_epochs=0))
    for epoch in range(3):
        drain()
        assert not pruning.after_epoch(epoch, {"val_accuracy": 0.1})
    assert not pruning.after_epoch(3, {"val_accuracy": object()})  # not even on garbage
    assert decided == [] and background.is_down(url)
    background.mark_up(url)


def test_the_pruning_decision_is_stored(url):
    repo = Repository(url)
    key = repo.start_run("sweep")
    repo.record_pruning(key, 4, 0.75)
    repo.finish_run(key, "pruned")
    with db.get_engine(url).connect() as conn:
        row = conn.execute(sa.text("SELECT status, pruned_epoch, pruned_threshold FROM runs")).one()
    assert tuple(row) == ("pruned", 4, 0.75)
    assert [r.status for r in repo.runs("sweep", status="pruned")] == ["pruned"]
