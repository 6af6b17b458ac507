"""Tags and notes on runs and experiments, and ``tags.KEY`` in filters, on both backends.

PostgreSQL's sequences go on across tests, so runs are named by rank: ``n[1]`` is the id of
the first run, and ``rank`` turns runs back into ranks."""

from __future__ import annotations

import pytest

from tracker import Repository
from tracker.errors import FilterError, NotFoundError, UnknownNameError
from tracker.store.values import UnsupportedValue


@pytest.fixture
def repo(url) -> Repository:
    repo = Repository(url)
    for i in range(4):
        key = repo.start_run("sweep", hyperparameters={"units": 8 * (i + 1)}, trial_id=str(i),
                             objective="val_accuracy", direction="max")
        repo.log_epoch(key, 0, {"val_accuracy": i / 10})
        repo.finish_run(key)
    return repo


@pytest.fixture
def n(repo) -> dict[int, int]:
    return {rank: run.id for rank, run in enumerate(repo.runs(), start=1)}


def rank(n: dict[int, int], runs) -> list[int]:
    by_id = {run_id: r for r, run_id in n.items()}
    return [by_id[getattr(run, "id", run)] for run in runs]


def test_tags_are_set_replaced_removed_and_read_back(repo, n):
    assert repo.tag(n[1], stage="shipped", reviewer="ana", seed=3) == 1
    assert repo.run(n[1]).tags == {"stage": "shipped", "reviewer": "ana", "seed": "3"}
    repo.tag(repo.run(n[1]).key, stage="retired")  # by key, replaces
    assert repo.run(n[1]).tags["stage"] == "retired"
    assert repo.untag(n[1], "reviewer", "never-set") == 1
    assert repo.run(n[1]).tags == {"stage": "retired", "seed": "3"}
    assert [r.tags for r in repo.runs()][1:] == [{}, {}, {}]


def test_many_runs_and_experiments_take_tags_and_notes(repo, n):
    chosen = repo.runs("sweep", where="units >= 16")
    assert repo.tag(chosen, batch="b2") == 3
    assert rank(n, repo.runs(where="tags.batch == 'b2'")) == [2, 3, 4]
    assert repo.tag("sweep", owner="ml-team") == 1  # an experiment, by name
    assert repo.experiment_tags("sweep") == {"owner": "ml-team"}
    assert repo.note(n[2], "diverged after the LR change: see PR 41") == 1
    assert repo.run(n[2]).note == "diverged after the LR change: see PR 41"
    repo.note(n[2], None)
    assert repo.run(n[2]).note is None
    with pytest.raises(NotFoundError, match="no run with key 'nope' and no experiment"):
        repo.tag("nope", a="b")
    with pytest.raises(NotFoundError, match="no run"):
        repo.tag(n[4] + 1000, a="b")


def test_filters_read_tags_as_text(repo, n):
    repo.tag([n[1], n[2]], stage="shipped")
    repo.tag(n[3], stage="draft")
    assert rank(n, repo.runs(where="tags.stage == 'shipped'")) == [1, 2]
    assert rank(n, repo.runs(where="tags.stage != 'shipped'")) == [3, 4]
    assert rank(n, repo.runs(where="tags.stage == None")) == [4]
    assert rank(n, repo.runs(where="tags.stage in ('draft', 'x')")) == [3]
    assert rank(n, repo.runs(where="tags.stage < 'e'")) == [3]
    top = repo.top_runs("val_accuracy", 5, experiment="sweep", where="tags.stage == 'shipped'")
    assert rank(n, [t.run for t in top]) == [2, 1]
    assert repo.names("sweep").tags == ("stage",)
    with pytest.raises(UnknownNameError, match=r"no tag 'stag'.*tags: stage"):
        repo.runs("sweep", where="tags.stag == 'shipped'")
    with pytest.raises(FilterError, match="tag values are text"):
        repo.runs("sweep", where="tags.stage == 1")
    assert repo.runs(where="tags.other == None") == repo.runs()  # asking for absence is fine


def test_bad_tags_are_refused_with_the_reason(repo, n):
    with pytest.raises(UnsupportedValue, match="tag values are text"):
        repo.tag(n[1], stage=["a"])
    with pytest.raises(UnsupportedValue, match="NUL"):
        repo.tag(n[1], stage="a\x00b")
    with pytest.raises(UnsupportedValue, match="at most"):
        repo.tag(n[1], stage="x" * 6_000)
    assert repo.run(n[1]).tags == {}


def test_start_run_takes_tags(url):
    repo = Repository(url)
    key = repo.start_run("e", tags={"stage": "baseline"})
    repo.start_run("e", key=key, tags={"stage": "baseline"})  # a replay: still one run
    assert [(r.key, r.tags) for r in repo.runs()] == [(key, {"stage": "baseline"})]
