"""Every route of the JSON API answers what the repository answers, on both backends, over a
database filled by real ``model.fit`` runs and a real keras-tuner search; errors are JSON
messages naming what is known."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from ui_fixtures import HOSTILE_EXPERIMENT, HOSTILE_NAME, TUNER_EXPERIMENT, Client

from tracker import Repository
from tracker.ui import create_app
from tracker.ui.json_values import to_json

KERAS = "keras-sweep"
SYNTHETIC = "synthetic"


@pytest.fixture(scope="module")
def client(ui_url):
    return Client(create_app(ui_url))


@pytest.fixture(scope="module")
def repo(ui_url) -> Repository:
    return Repository(ui_url)


def get(client, path, status=200, **params):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_experiments_are_the_repositorys(client, repo):
    assert get(client, "/api/experiments") == to_json(repo.experiments())
    names = [e["name"] for e in get(client, "/api/experiments")]
    assert {KERAS, TUNER_EXPERIMENT, SYNTHETIC, HOSTILE_EXPERIMENT} <= set(names)


def test_runs_are_the_repositorys_runs_with_the_frames_numbers(client, repo):
    answer = get(client, f"/api/experiments/{KERAS}/runs")
    runs = repo.runs(KERAS)
    assert answer["total"] == len(runs) == 4
    assert [row["id"] for row in answer["runs"]] == [run.id for run in runs]
    assert [row["hyperparameters"] for row in answer["runs"]] == \
        [to_json(run.hyperparameters) for run in runs]
    assert [row["status"] for row in answer["runs"]] == [run.status for run in runs]
    frame = repo.to_dataframe(KERAS).set_index("run_id")
    assert answer["metrics"] == list(frame.attrs["metrics"])
    for row in answer["runs"]:
        for metric in answer["metrics"]:
            assert row["last"][metric] == pytest.approx(frame.loc[row["id"], f"{metric}_last"])
        assert row["best"]["val_accuracy"] == \
            pytest.approx(frame.loc[row["id"], "val_accuracy_best"])
    assert set(answer["varying"]) == {"batch_size", "learning_rate", "units"}


def test_runs_filter_sort_and_page_as_asked(client, repo):
    where = "batch_size == 16 or best.val_loss < 0.5"
    answer = get(client, f"/api/experiments/{SYNTHETIC}/runs", where=where,
                 sort="-best.val_accuracy", limit=5, offset=2)
    expected = repo.to_dataframe(SYNTHETIC, where=where)
    assert answer["total"] == len(expected) == len(repo.runs(SYNTHETIC, where=where)) > 7
    ranked = expected.sort_values("val_accuracy_best", ascending=False, kind="stable")
    assert [row["id"] for row in answer["runs"]] == ranked["run_id"].tolist()[2:7]
    by_name = get(client, f"/api/experiments/{SYNTHETIC}/runs", sort="optimizer")["runs"]
    optimizers = [row["hyperparameters"]["optimizer"] for row in by_name]
    assert optimizers == sorted(optimizers) and len(set(optimizers)) == 3


def test_non_finite_values_are_null_with_their_kind(client, repo):
    rows = get(client, f"/api/experiments/{SYNTHETIC}/runs")["runs"]
    diverged = rows[3]  # its val_loss went to +inf, val_accuracy to NaN
    assert diverged["last"]["val_loss"] is None and diverged["last"]["val_loss_kind"] == "+inf"
    assert diverged["last"]["val_accuracy_kind"] == "nan"
    assert math.isfinite(diverged["best"]["val_accuracy"])  # best of the finite epochs
    history = get(client, f"/api/runs/{diverged['id']}/history", metric="val_loss")
    points = repo.history(diverged["id"], "val_loss")
    assert [p["epoch"] for p in history] == [p.epoch for p in points]
    assert [p.get("value_kind") for p in history][-1] == "+inf"
    assert history[0]["value"] == pytest.approx(points[0].value)


def test_best_top_trials_importance_are_the_repositorys(client, repo):
    base = f"/api/experiments/{SYNTHETIC}"
    assert get(client, f"{base}/best", group_by="batch_size", metric="val_accuracy") == \
        to_json(repo.best_by("batch_size", "val_accuracy", experiment=SYNTHETIC))
    assert get(client, f"{base}/best", group_by="optimizer", metric="val_loss",
               over="last", where="batch_size > 16") == \
        to_json(repo.best_by("optimizer", "val_loss", experiment=SYNTHETIC, over="last",
                             where="batch_size > 16"))
    assert get(client, f"{base}/top", metric="val_loss", k=3) == \
        to_json(repo.top_runs("val_loss", 3, experiment=SYNTHETIC))
    assert get(client, f"{base}/importance", metric="val_loss") == \
        to_json(repo.importance("val_loss", SYNTHETIC))
    trials = get(client, f"/api/experiments/{TUNER_EXPERIMENT}/trials")
    assert trials == to_json(repo.trials(TUNER_EXPERIMENT))
    assert len(trials) == 3 and all(t["executions"] == 2 for t in trials)
    assert get(client, f"/api/experiments/{KERAS}/names") == to_json(repo.names(KERAS))


def test_a_run_and_its_history_are_the_repositorys(client, repo):
    run = repo.runs(KERAS)[0]
    assert get(client, f"/api/runs/{run.id}") == to_json(repo.run(run.id))
    assert get(client, f"/api/runs/{run.id}/history") == to_json(repo.history(run.id))
    assert get(client, f"/api/runs/{run.id}/history", metric="loss") == \
        to_json(repo.history(run.id, "loss"))
    assert get(client, f"/api/runs/{run.id}/batches") == to_json(repo.batch_history(run.id))
    hostile = repo.runs(HOSTILE_EXPERIMENT)[0]
    assert get(client, f"/api/runs/{hostile.id}")["name"] == HOSTILE_NAME  # data, as it is


def test_the_summary_counts_statuses_and_finds_the_best(client, repo):
    summary = get(client, f"/api/experiments/{KERAS}/summary")
    assert summary["statuses"] == {"completed": 4}
    assert summary["best"] is None and summary["metric"] is None  # no objective to rank by
    summary = get(client, f"/api/experiments/{TUNER_EXPERIMENT}/summary")
    top = repo.top_runs(k=1, experiment=TUNER_EXPERIMENT)[0]
    assert summary["metric"] == "val_accuracy" and summary["statuses"] == {"completed": 6}
    assert summary["best"] == {"run_id": top.run.id, "value": top.value, "epoch": top.epoch}
    assert summary["last_activity"] is not None


@pytest.mark.parametrize(
    ("path", "params", "status", "says", "known"),
    [
        ("/api/experiments/nope/runs", {}, 404, "no experiment named 'nope'", None),
        (f"/api/experiments/{KERAS}/best", {"group_by": "nope", "metric": "loss"}, 404,
         "nope", "batch_size"),
        (f"/api/experiments/{KERAS}/top", {"metric": "nope"}, 404, "nope", "val_loss"),
        (f"/api/experiments/{KERAS}/runs", {"where": "nope > 1"}, 400, "nope", "units"),
        (f"/api/experiments/{KERAS}/runs", {"where": "units >"}, 400, "units >", None),
        (f"/api/experiments/{KERAS}/runs", {"sort": "nope"}, 404, "sort by", "best.loss"),
        (f"/api/experiments/{KERAS}/runs", {"limit": "ten"}, 400, "whole number", None),
        (f"/api/experiments/{KERAS}/best", {}, 400, "group_by", None),
        ("/api/runs/999999", {}, 404, "999999", None),
        ("/api/nothing", {}, 404, "no API route", None),
    ],
)
def test_errors_are_json_messages_naming_what_is_known(client, path, params, status, says,
                                                       known):
    body = get(client, path, status, **params)
    assert says in body["error"] and "Traceback" not in body["error"]
    if known:
        assert known in body["known"]


def test_changes_since_a_cursor_are_the_runs_written_since(client, repo, monkeypatch):
    from tracker.ui import live

    path = f"/api/experiments/{KERAS}/changes"
    recent = get(client, path, since=get(client, path)["cursor"])["runs"]
    assert len(recent) <= 4  # the look-back for late clocks re-sends the last seconds' runs
    monkeypatch.setattr(live, "SKEW", dt.timedelta(0))
    first = get(client, path)
    assert first["full"] and first["cursor"] and first["runs"] == []
    assert get(client, path, since=first["cursor"])["runs"] == []  # nothing new
    key = repo.start_run(KERAS, hyperparameters={"units": 2, "batch_size": 8})
    repo.log_epoch(key, 0, {"val_accuracy": 0.5, "loss": 0.9})
    later = get(client, path, since=first["cursor"])
    assert [row["key"] for row in later["runs"]] == [key]
    assert later["runs"][0]["last"]["val_accuracy"] == 0.5 and later["cursor"] > first["cursor"]
    assert get(client, path, since=later["cursor"], where="units > 2")["runs"] == []
    repo.finish_run(key)
    assert get(client, path, 400, since="yesterday")["error"].startswith("since must be")


def test_a_run_whose_process_died_shows_as_stale(client, repo):
    path = f"/api/experiments/{KERAS}/changes"
    cursor = get(client, path)["cursor"]
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    key = repo.start_run(KERAS, hyperparameters={"units": 3}, started_at=long_ago)
    rows = {row["key"]: row for row in get(client, path, since=cursor)["runs"]}
    assert rows[key]["status"] == "stale"  # running, no heartbeat for 2 hours
    table = {row["key"]: row for row in get(client, f"/api/experiments/{KERAS}/runs")["runs"]}
    assert table[key]["status"] == "stale" == repo.run(key).status
    repo.finish_run(key, "failed", error="killed")


def test_the_columns_format_holds_the_rows_values(client):
    path = f"/api/experiments/{SYNTHETIC}/runs"
    rows = get(client, path, sort="-last.val_loss")["runs"]
    answer = get(client, path, sort="-last.val_loss", format="columns")
    columns = answer["columns"]
    assert columns["fields"]["id"] == [row["id"] for row in rows]
    for name, values in columns["hyperparameters"].items():
        assert values == [row["hyperparameters"].get(name) for row in rows]
    for which in ("best", "last"):
        for metric, values in columns[which].items():
            assert values == [row[which].get(metric) for row in rows]
    kinds = columns["last_kinds"]["val_loss"]
    assert kinds == [row["last"].get("val_loss_kind") for row in rows] and "+inf" in kinds


def test_pruned_and_deleted_runs_as_the_repository_has_them(url):
    """A pruned run (issue 15) shows with its status; a deleted one (issue 14) not at all."""
    repo = Repository(url)
    keys = []
    for i, status in enumerate(["completed", "pruned", "completed"]):
        key = repo.start_run("curated", hyperparameters={"units": 8 * (i + 1)})
        repo.log_epochs(key, {0: {"val_accuracy": 0.5 + i / 10}})
        repo.finish_run(key, status)
        keys.append(key)
    repo.delete_runs([keys[2]])
    client = Client(create_app(url))
    summary = get(client, "/api/experiments/curated/summary")
    assert summary["statuses"] == {"completed": 1, "pruned": 1}
    runs = get(client, "/api/experiments/curated/runs")["runs"]
    assert sorted(r["status"] for r in runs) == ["completed", "pruned"]
    assert {r["id"] for r in runs} == {r.id for r in repo.runs("curated")}
