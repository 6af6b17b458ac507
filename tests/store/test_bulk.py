"""Bulk writes (``bulk_log_epochs``/``bulk_log_batches``) on both backends: the same rows as
row-by-row writes, NaN/inf kept, replays harmless, bad values and unknown runs reported."""

from __future__ import annotations

import math
import random

import pytest

from tracker import NotFoundError, Repository, TrackingWarning

# A name with the characters CSV and COPY treat specially: comma, newline, quote, backslash, tab.
NAMES = ("loss", "val_acc", "a,b\n\"c\"\\t\t")
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1.7976931348623157e308, 0.1]


@pytest.fixture
def repo(url) -> Repository:
    return Repository(url)


def _curves(seed: int = 1) -> dict[int, dict[str, float]]:
    rng = random.Random(seed)
    return {
        epoch: {name: rng.choice([*SPECIAL, rng.random()]) for name in NAMES}
        for epoch in range(40)
    }


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_bulk_equals_row_by_row_including_nan_and_inf(repo):
    curves = _curves()
    one_by_one = repo.start_run("bulk")
    for epoch, metrics in curves.items():
        repo.log_epoch(one_by_one, epoch, metrics)
    bulk = repo.start_run("bulk")
    rows = [(bulk, e, n, v) for e, metrics in curves.items() for n, v in metrics.items()]
    assert repo.bulk_log_epochs(rows, chunk_rows=7) == len(rows)

    expected = [(p.name, p.epoch, p.value) for p in repo.history(one_by_one)]
    got = [(p.name, p.epoch, p.value) for p in repo.history(bulk)]
    assert len(got) == len(expected) == 120
    for (n1, e1, v1), (n2, e2, v2) in zip(expected, got, strict=True):
        assert (n1, e1) == (n2, e2) and _same(v1, v2), (n1, e1, v1, v2)


def test_bulk_replay_and_duplicates_overwrite(repo):
    key = repo.start_run("bulk")
    run_id = repo.run(key).id
    rows = [(key, e, "loss", float(e)) for e in range(100)]
    assert repo.bulk_log_epochs(rows) == 100
    # A replay of the same rows plus a later value for epoch 3 in the same chunk: last wins.
    assert repo.bulk_log_epochs([*rows, (run_id, 3, "loss", math.nan)]) == 101
    values = {p.epoch: p.value for p in repo.history(key)}
    assert len(values) == 100 and math.isnan(values[3]) and values[99] == 99.0


def test_bulk_values_match_what_best_by_sees(repo):
    for batch_size, curve in ((32, [0.5, math.nan, 0.9]), (64, [0.7, math.inf, 0.6])):
        key = repo.start_run("b", hyperparameters={"batch_size": batch_size})
        repo.bulk_log_epochs((key, e, "val_accuracy", v) for e, v in enumerate(curve))
    assert [(g.group, g.value, g.epoch) for g in repo.best_by("batch_size", "val_accuracy")] == [
        (32, 0.9, 2), (64, 0.7, 0)
    ]


def test_bad_values_are_skipped_with_one_warning(repo):
    key = repo.start_run("bulk")
    rows = [(key, 0, "loss", 0.5), (key, 0, "text", "high"), (key, 1, "text", None),
            (key, 1, "loss", 0.25)]
    with pytest.warns(TrackingWarning, match=r"'text' \(2x\)"):
        assert repo.bulk_log_epochs(rows) == 2
    assert [p.value for p in repo.history(key)] == [0.5, 0.25]


def test_bad_name_and_unknown_run_raise_clear_errors(repo):
    key = repo.start_run("bulk")
    with pytest.raises(ValueError, match="empty metric name"):
        repo.bulk_log_epochs([(key, 0, "", 1.0)])
    with pytest.raises(NotFoundError, match="no run with key 'nope'"):
        repo.bulk_log_epochs([(key, 0, "loss", 1.0), ("nope", 0, "loss", 1.0)])
    with pytest.raises(ValueError, match="expected 4 values"):
        repo.bulk_log_epochs([(key, 0, 1.0)])
    assert repo.history(key) == []


def test_log_batches_round_trip(repo):
    key = repo.start_run("batches")
    rows = [(key, step, step // 10, name, v) for step in range(35)
            for name, v in (("loss", 1.0 / (step + 1)), ("acc", SPECIAL[step % len(SPECIAL)]))]
    assert repo.bulk_log_batches(rows, chunk_rows=16) == 70
    assert repo.bulk_log_batches(rows[:5]) == 5  # replay
    points = repo.batch_history(key, "acc")
    assert [p.step for p in points] == list(range(35))
    assert [p.epoch for p in points] == [s // 10 for s in range(35)]
    for p in points:
        assert _same(p.value, SPECIAL[p.step % len(SPECIAL)])
    assert len(repo.batch_history(repo.run(key).id)) == 70
    assert repo.history(key) == []  # per-batch points stay out of the epoch table


def test_large_bulk_load_is_complete(repo):
    keys = [repo.start_run("big") for _ in range(20)]
    rows = ((k, e, n, e * 0.001) for k in keys for e in range(250) for n in ("a", "b", "c", "d"))
    assert repo.bulk_log_epochs(rows, chunk_rows=7_000) == 20_000
    assert len(repo.history(keys[-1])) == 1_000
    assert repo.top_runs("a", 1, mode="max")[0].value == 0.249
