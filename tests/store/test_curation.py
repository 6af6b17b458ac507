"""Delete, restore, purge, rename, move and the audit log, on both backends, with exact row
counts. Runs are named by rank (``n[1]`` is the first run's id): PostgreSQL's sequences go on
across tests."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tracker import Repository
from tracker.errors import NotFoundError, TrackerError
from tracker.store import db
from tracker.store.curation_input import parse_duration

TABLES = ("experiments", "runs", "hyperparameters", "epoch_metrics", "batch_metrics",
          "run_metrics", "run_tags")


def rows(url: str) -> dict[str, int]:
    """How many rows each table holds, read with plain SQL (not through the repository)."""
    with db.get_engine(url).connect() as conn:
        return {t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar()
                for t in TABLES}


@pytest.fixture
def repo(url) -> Repository:
    """Two trials of two executions each in ``sweep`` (3 epochs, 2 metrics), one run in
    ``other``; run 1 has batch metrics and a tag."""
    repo = Repository(url)
    for i in range(4):
        key = repo.start_run("sweep", hyperparameters={"units": 8 * (i % 2 + 1)},
                             trial_id=f"t{i % 2}", execution=i // 2,
                             objective="val_accuracy", direction="max")
        repo.log_epochs(key, {e: {"val_accuracy": i / 10 + e / 100, "loss": 1 - i / 10}
                              for e in range(3)})
        repo.finish_run(key, score=i / 10)
    key = repo.start_run("other", hyperparameters={"units": 8})
    repo.log_epoch(key, 0, {"val_accuracy": 0.99})
    repo.finish_run(key)
    first = repo.runs()[0].key
    repo.bulk_log_batches([(first, s, 0, "loss", 1.0 / (s + 1)) for s in range(5)])
    repo.tag(first, stage="x")
    return repo


@pytest.fixture
def n(repo) -> dict[int, int]:
    return {rank: run.id for rank, run in enumerate(repo.runs(), start=1)}


def test_a_deleted_run_is_hidden_from_every_read_and_restored(repo, n, url):
    before = rows(url)
    done = repo.delete_runs([n[4]])  # the best run of sweep
    assert (done.runs, done.epochs, done.batches) == (1, 6, 0)  # 3 epochs x 2 metrics
    assert rows(url) == before  # soft: nothing removed
    assert [r.id for r in repo.runs("sweep")] == [n[1], n[2], n[3]]
    assert [r.id for r in repo.runs("sweep", deleted=True)] == [n[4]]
    assert repo.runs(deleted=True)[0].deleted_at is not None
    assert repo.top_runs("val_accuracy", 5, experiment="sweep")[0].run.id == n[3]
    best = repo.best_by("units", "val_accuracy", experiment="sweep")
    assert [(g.run_id, g.runs) for g in best] == [(n[3], 2), (n[2], 1)]
    trials = repo.trials("sweep")
    assert [t.run_ids for t in trials] == [(n[1], n[3]), (n[2],)]
    assert {e.name: e.runs for e in repo.experiments()} == {"sweep": 3, "other": 1}
    with pytest.raises(NotFoundError, match="is deleted: `tracker restore"):
        repo.run(n[4])
    assert repo.runs(where=f"id == {n[4]}") == []

    restored = repo.restore_runs([n[4]])
    assert restored.runs == 1 and repo.top_runs("val_accuracy", 1, experiment="sweep")[0].run.id \
        == n[4]
    assert repo.restore_runs([n[4]]).runs == 0  # already back: nothing to do
    assert rows(url) == before


def test_names_come_from_visible_runs_only(repo, n):
    repo.tag(n[2], only_here="1")
    repo.delete_runs([n[2]])
    assert repo.names("sweep").tags == ("stage",)
    with pytest.raises(TrackerError, match="no tag 'only_here'"):
        repo.runs("sweep", where="tags.only_here == '1'")
    # ...and from the deleted runs when restoring (only they have the tag).
    assert repo.delete_runs(experiment="sweep", where="units == 16").runs == 1
    back = repo.restore_runs(experiment="sweep", where="units == 16 and tags.only_here == '1'")
    assert back.run_ids == (n[2],)
    assert [r.id for r in repo.runs(where="tags.only_here == '1'")] == [n[2]]


def test_delete_where_and_a_whole_experiment(repo, n, url):
    assert repo.delete_runs(experiment="sweep", where="units == 16", dry_run=True).runs == 2
    assert [r.id for r in repo.runs("sweep")] == [n[1], n[2], n[3], n[4]]  # dry run
    assert repo.delete_runs(experiment="sweep", where="units == 16").run_ids == (n[2], n[4])
    gone = repo.delete_experiment("other")
    assert (gone.runs, gone.experiments) == (1, 1)
    assert [e.name for e in repo.experiments()] == ["sweep"]
    with pytest.raises(NotFoundError, match="'other' is deleted"):
        repo.runs("other")
    # A sweep still writing into a deleted experiment: its new runs are hidden too.
    late = repo.start_run("other")
    repo.log_epoch(late, 0, {"val_accuracy": 1.0})
    assert [r.id for r in repo.runs()] == [n[1], n[3]]
    late_id = repo.runs(deleted=True)[-1].id
    assert repo.runs(deleted=True)[-1].key == late
    assert [r.id for r in repo.runs(deleted=True)] == [n[2], n[4], n[5], late_id]
    back = repo.restore_runs(experiment="other")
    assert back.runs == 2 and [r.experiment for r in repo.runs()].count("other") == 2
    with pytest.raises(TrackerError, match="say which runs"):
        repo.delete_runs(experiment="sweep")


def test_purge_removes_deleted_rows_for_good_and_nothing_else(repo, n, url):
    before = rows(url)
    repo.delete_runs([n[1]])  # 3 epochs x 2 metrics, 5 batch rows, 1 tag, 1 hyperparameter
    repo.delete_experiment("other")  # 1 run, 1 epoch row
    assert repo.purge(older_than=3600).runs == 0  # deleted just now: younger than an hour
    plan = repo.purge(dry_run=True)
    assert (plan.runs, plan.epochs, plan.batches, plan.experiments) == (2, 7, 5, 1)
    assert rows(url) == before
    done = repo.purge()
    assert done.run_ids == (n[1], n[5])
    assert rows(url) == {
        "experiments": before["experiments"] - 1, "runs": before["runs"] - 2,
        "hyperparameters": before["hyperparameters"] - 2,
        "epoch_metrics": before["epoch_metrics"] - 7, "batch_metrics": 0,
        "run_metrics": before["run_metrics"] - 3, "run_tags": 0,
    }
    assert [r.id for r in repo.runs()] == [n[2], n[3], n[4]]
    assert repo.runs(deleted=True) == []
    assert [len(repo.history(i)) for i in (n[2], n[3], n[4])] == [6, 6, 6]
    assert repo.purge().runs == 0
    repo.vacuum()  # SQLite gives the space back; PostgreSQL: nothing to do


def test_a_replay_of_a_purged_run_brings_it_back_deleted(repo, n, url):
    key = repo.run(n[1]).key
    repo.delete_runs([n[1]])
    repo.purge()
    # Its process's journal, replayed later: the run is recreated, hidden, and purged again.
    fresh = Repository(url)
    fresh.start_run("sweep", key=key, hyperparameters={"units": 8})
    fresh.log_epoch(key, 0, {"val_accuracy": 0.5})
    fresh.finish_run(key)
    assert key not in {r.key for r in repo.runs()}
    assert [r.key for r in repo.runs(deleted=True)] == [key]
    assert repo.purge().runs == 1
    assert rows(url)["runs"] == 4


def test_purge_waits_for_a_deleted_run_that_still_trains(repo, n, url):
    live = repo.start_run("sweep")  # running, fresh heartbeat
    repo.delete_runs([live])
    assert repo.purge().runs == 0
    repo.finish_run(live)
    assert repo.purge().runs == 1


def test_rename_keeps_runs_and_the_old_name_follows(repo, n):
    renamed = repo.rename_experiment("sweep", "sweep-v1")
    assert renamed.name == "sweep-v1"
    assert [r.experiment for r in repo.runs()][:4] == ["sweep-v1"] * 4
    with pytest.raises(NotFoundError, match="renamed to 'sweep-v1'"):
        repo.runs("sweep")
    # A writer that still says "sweep" lands in the renamed experiment, attempts go on.
    key = repo.start_run("sweep", trial_id="t0")
    assert repo.run(key).experiment == "sweep-v1"
    assert repo.next_attempt("sweep", "t0") == repo.next_attempt("sweep-v1", "t0") == 1
    with pytest.raises(TrackerError, match="already an experiment named 'other'"):
        repo.rename_experiment("sweep-v1", "other")
    repo.rename_experiment("sweep-v1", "sweep")  # back: the alias gives way
    assert [e.name for e in repo.experiments()] == ["sweep", "other"]


def test_move_keeps_keras_tuner_attempts_consistent(repo, n):
    repo.move_runs([n[1], n[3]], to="other")  # trial t0, both executions
    moved = {r.id: r for r in repo.runs("other")}
    assert sorted(moved) == [n[1], n[3], n[5]]
    assert [(moved[i].trial_id, moved[i].attempt, moved[i].execution) for i in (n[1], n[3])] \
        == [("t0", 0, 0), ("t0", 0, 1)]
    assert [len(repo.history(i)) for i in (n[1], n[3])] == [6, 6]
    assert [t.trial_id for t in repo.trials("sweep")] == ["t1"]
    # Moving the other trial's t0 runs back in: they become t0's next attempt in "sweep"...
    repo.move_runs([n[1], n[3]], to="sweep")
    assert [(r.attempt, r.execution) for r in repo.runs("sweep", where="trial_id == 't0'")] \
        == [(0, 0), (0, 1)]
    # ...and into an experiment that has its own t0, after its attempts.
    repo.move_runs([n[2], n[4]], to="fresh")
    key = repo.start_run("fresh", trial_id="t1", attempt=0)
    repo.move_runs([n[2], n[4]], to="sweep")
    repo.move_runs([repo.run(key).id], to="sweep")
    by_id = {r.id: r for r in repo.runs("sweep")}
    assert by_id[repo.run(key).id].attempt == 1
    assert [t.run_ids for t in repo.trials("sweep") if t.trial_id == "t1"] \
        == [(repo.run(key).id,)]
    assert repo.move_runs([n[5]], to="other").runs == 0  # already there


def test_every_change_is_audited_with_who_and_when(repo, n):
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    repo.delete_runs([n[1]])
    repo.restore_runs([n[1]])
    repo.rename_experiment("other", "other2")
    repo.move_runs([n[2]], to="other2")
    repo.delete_runs([n[3]])
    repo.purge()
    entries = repo.audit()
    assert [e.action for e in entries] == ["purge", "delete", "move", "rename", "restore",
                                           "delete"]
    assert entries[2].details == {"run_ids": [n[2]], "from": ["sweep"], "to": "other2"}
    assert entries[3].details["from"] == "other"
    assert all(e.user and e.host and e.at >= start for e in entries)
    assert entries[0].details["run_ids"] == [n[3]] and entries[0].details["epochs"] == 6


def test_bad_requests_say_what_is_wrong(repo, n):
    with pytest.raises(NotFoundError, match="no run 'no-such-key'"):
        repo.delete_runs(["no-such-key"])
    with pytest.raises(NotFoundError, match="no experiment named 'nope'"):
        repo.delete_experiment("nope")
    with pytest.raises(TrackerError, match="to=EXPERIMENT"):
        repo.move_runs([n[1]])
    assert parse_duration("30d") == 30 * 86_400 and parse_duration("90m") == 5400
    assert parse_duration("3600") == 3600
    for bad in ("soon", "-3d", "inf"):
        with pytest.raises(TrackerError, match="not a duration"):
            parse_duration(bad)
