"""Curation as the analysis side shows it: deleted runs are missing from the DataFrames,
exports, plots and the report; tags are columns (``tags.KEY``) there. Both backends."""

from __future__ import annotations

import json

import pytest

from tracker import Repository
from tracker.analysis.exports import export
from tracker.analysis.plots import plot_curves

pd = pytest.importorskip("pandas")


@pytest.fixture
def repo(url) -> Repository:
    repo = Repository(url)
    for i in range(5):
        key = repo.start_run("views", hyperparameters={"units": 8 * (i + 1)},
                             objective="val_accuracy", direction="max")
        repo.log_epochs(key, {e: {"val_accuracy": i / 10 + e / 100} for e in range(3)})
        repo.finish_run(key)
    return repo


def test_frames_and_exports_hide_deleted_runs_and_show_tags(repo, tmp_path):
    ids = [r.id for r in repo.runs()]
    repo.tag(ids[0], stage="shipped")
    repo.tag(ids[1], stage="draft", owner="ana")
    repo.delete_runs([ids[4]])  # the best run

    runs = repo.to_dataframe("views")
    assert runs["run_id"].tolist() == ids[:4]
    assert runs["tags.stage"].tolist()[:2] == ["shipped", "draft"]
    assert runs["tags.stage"].isna().tolist() == [False, False, True, True]
    assert runs.attrs["tags"] == {"tags.owner": "owner", "tags.stage": "stage"}
    assert runs["val_accuracy_best"].max() == pytest.approx(0.32)
    assert set(repo.to_dataframe("views", kind="epochs")["run_id"]) == set(ids[:4])
    assert repo.to_dataframe("views", where="tags.stage == 'shipped'")["run_id"].tolist() \
        == [ids[0]]

    path = tmp_path / "runs.jsonl"
    assert export(repo, path, experiment="views") == 4
    exported = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["run_id"] for row in exported] == ids[:4]
    assert exported[0]["tags.stage"] == "shipped"
    csv = tmp_path / "epochs.csv"
    assert export(repo, csv, kind="epochs", experiment="views") == 12

    repo.restore_runs([ids[4]])
    assert repo.to_dataframe("views")["run_id"].tolist() == ids


def test_plots_and_the_report_leave_deleted_runs_out(repo, tmp_path):
    pytest.importorskip("matplotlib")
    from tracker.analysis.report import build_report

    ids = [r.id for r in repo.runs()]
    repo.tag(ids[3], stage="candidate")
    repo.delete_runs([ids[4]])
    figure = plot_curves(repo, "val_accuracy", experiment="views")
    assert "4 runs" in figure.axes[0].get_title(loc="left")
    html = build_report(repo, experiment="views")
    assert "4 runs" in html and "stage=candidate" in html
    assert "0.42" not in html  # the deleted run's best value
