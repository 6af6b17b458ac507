"""``best_by`` and ``top_runs`` (index-driven since revision 0002) against a brute-force answer
computed in Python from the same random store: ties, NaN, +/-inf, missing metrics, two
experiments, both directions, ``over="best"`` and ``"last"``, on both backends."""

from __future__ import annotations

import math
import random

import pytest

from tracker import Repository


def _store(repo: Repository, seed: int = 7) -> dict:
    rng = random.Random(seed)
    runs = {}
    for i in range(40):
        experiment = "a" if i % 3 else "b"
        group = rng.choice([16, 32, 64, "adam", 0.5])
        key = repo.start_run(experiment, hyperparameters={"g": group} if i % 11 else {})
        curve = {}
        for epoch in range(rng.randrange(0, 7)):
            value = rng.choice([0.25, 0.5, 0.75, rng.random(), math.nan, math.inf, -math.inf])
            if rng.random() < 0.9:
                curve[epoch] = value
        repo.log_epochs(key, {e: {"m": v, "other": 1.0} for e, v in curve.items()})
        runs[repo.run(key).id] = (experiment, group if i % 11 else None, curve)
    return runs


def _run_value(curve: dict, mode: str, over: str):
    if not curve:
        return None
    if over == "last":
        epoch = max(curve)
        value = curve[epoch]
        return (value, epoch) if math.isfinite(value) else None
    finite = [(v, e) for e, v in curve.items() if math.isfinite(v)]
    if not finite:
        return None
    best = max(v for v, _ in finite) if mode == "max" else min(v for v, _ in finite)
    return best, min(e for v, e in finite if v == best)


def _better(mode: str):
    return (lambda v: -v) if mode == "max" else (lambda v: v)


@pytest.mark.parametrize("over", ["best", "last"])
@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("experiment", [None, "a"])
def test_best_by_and_top_runs_match_brute_force(url, over, mode, experiment):
    repo = Repository(url)
    runs = _store(repo)
    chosen = {rid: r for rid, r in runs.items() if experiment in (None, r[0])}
    key = _better(mode)

    ranked = sorted(
        ((key(v[0]), rid, v) for rid, r in chosen.items()
         if (v := _run_value(r[2], mode, over)) is not None),
    )
    top = repo.top_runs("m", 5, mode=mode, experiment=experiment, over=over)
    assert [(t.run.id, t.value, t.epoch) for t in top] == [
        (rid, v[0], v[1]) for _, rid, v in ranked[:5]
    ]

    got = {str(g.group): (g.value, g.run_id, g.epoch, g.runs)
           for g in repo.best_by("g", "m", mode=mode, experiment=experiment, over=over)}
    expected = {}
    for group in {r[1] for r in chosen.values() if r[1] is not None}:
        members = [rid for rid, r in chosen.items() if r[1] == group]
        scored = sorted((key(v[0]), rid, v) for rid in members
                        if (v := _run_value(chosen[rid][2], mode, over)) is not None)
        if scored:
            _, rid, (value, epoch) = scored[0]
            expected[str(group)] = (value, rid, epoch, len(members))
        else:
            expected[str(group)] = (None, None, None, len(members))
    assert got == expected
