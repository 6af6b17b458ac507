"""``tracker import keras-tuner`` on hand-written project folders, damaged ones included, on
both backends. (The import of real searches is compared with tracking in test_tuner.py.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from cli_helpers import run_cli

from tracker import Repository
from tracker.importers.keras_tuner import import_keras_tuner


def trial_json(trial_id: str, values: dict, status: str = "COMPLETED", score=0.8, step: int = 1,
               metrics: dict | None = None, message=None) -> dict:
    metrics = metrics if metrics is not None else {"val_accuracy": score, "loss": 0.5}
    return {
        "trial_id": trial_id,
        "hyperparameters": {"space": [], "values": values},
        "metrics": {"metrics": {
            name: {"direction": "min" if "loss" in name else "max",
                   "observations": [{"value": [value], "step": step}]}
            for name, value in metrics.items()
        }},
        "score": score, "best_step": step, "status": status, "message": message,
    }


def write(project: Path, name: str, content) -> Path:
    folder = project / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trial.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
def damaged(tmp_path) -> Path:
    project = tmp_path / "tuning" / "mnist"
    write(project, "trial_0", trial_json("0", {"units": 32, "lr": 0.01}, score=0.75))
    good = json.dumps(trial_json("1", {"units": 64, "lr": 0.1}))
    write(project, "trial_1", good[: len(good) // 2])  # truncated: the disk filled up
    write(project, "trial_2", json.dumps(trial_json(
        "2", {"units": 8, "lr": 1.0}, status="FAILED", score=math.nan,
        metrics={"val_accuracy": math.nan, "loss": math.inf})))  # NaN / Infinity literals
    write(project, "trial_3", trial_json("3", {"units": 16, "lr": 0.001}, status="RUNNING",
                                         score=None, metrics={}))
    (project / "trial_4").mkdir()  # the search died before writing anything
    write(project, "trial_5", "[1, 2, 3]")
    write(project, "trial_6", trial_json("6", {"units": 32, "lr": 0.02}, score=0.9, step=2))
    (project / "oracle.json").write_text('{"start_order": ["6", "0", "1", "2"')  # truncated
    return project


def test_damaged_folder_imports_what_it_can_with_a_message_per_trial(url, damaged):
    out = run_cli("import", "keras-tuner", str(damaged), "--url", url)
    assert out.code == 0, out.err
    assert "Imported 4 of 7 trials" in out.out and "experiment 'mnist'" in out.out
    assert "3 trial(s) skipped" in out.out
    messages = out.err
    assert "oracle.json: not valid JSON (truncated?)" in messages
    assert "trial_1: trial.json not valid JSON (truncated?)" in messages
    assert "trial_2: score is nan" in messages and "NaN or infinite: stored as such" in messages
    assert "trial_3: left RUNNING by a search that stopped" in messages
    assert "trial_4: no trial.json" in messages
    assert "trial_5: trial.json holds a list, not a trial" in messages
    assert "Traceback" not in messages

    repo = Repository(url)
    runs = {r.trial_id: r for r in repo.runs("mnist")}
    assert sorted(runs) == ["0", "2", "3", "6"]
    assert (runs["0"].status, runs["0"].score, runs["0"].hyperparameters) == (
        "completed", 0.75, {"units": 32, "lr": 0.01})
    assert (runs["2"].status, runs["2"].score) == ("failed", None)
    history = {p.name: p.value for p in repo.history(runs["2"].id)}
    assert math.isnan(history["val_accuracy"]) and history["loss"] == math.inf
    assert runs["3"].status == "failed" and "left RUNNING" in runs["3"].error
    for run in runs.values():
        assert run.source == "keras-tuner-import" and run.history_complete is False
    # keras-tuner keeps the best epoch only: that one epoch is stored where it happened
    assert [(p.epoch, p.name, p.value) for p in repo.history(runs["6"].id)] == [
        (2, "loss", 0.5), (2, "val_accuracy", 0.9)]
    [info] = repo.experiments()
    assert (info.objective, info.direction) == ("val_accuracy", "max")


def test_importing_again_updates_the_same_runs(url, damaged):
    first = import_keras_tuner(damaged, url)
    second = import_keras_tuner(damaged, url)
    assert first.imported == second.imported == 4
    repo = Repository(url)
    before = {r.key: r for r in repo.runs("mnist")}
    assert len(before) == 4
    # The search went on: trial 3 finished. Importing again updates its run in place.
    write(damaged, "trial_3", trial_json("3", {"units": 16, "lr": 0.001}, score=0.6))
    import_keras_tuner(damaged, url)
    after = {r.key: r for r in repo.runs("mnist")}
    assert after.keys() == before.keys()
    [run] = [r for r in after.values() if r.trial_id == "3"]
    assert (run.status, run.score, run.error) == ("completed", 0.6, None)
    # Imported again under another name: the same runs move there.
    assert import_keras_tuner(damaged, url, experiment="renamed").imported == 4
    assert {r.key for r in repo.runs("renamed")} == after.keys() and repo.runs("mnist") == []


def test_epochs_of_a_resumed_hyperband_trial_and_the_oracle_order(url, tmp_path):
    project = tmp_path / "hb"
    values = {"units": 4, "tuner/epochs": 4, "tuner/initial_epoch": 2, "tuner/trial_id": "0000"}
    write(project, "trial_0001", trial_json("0001", values, score=0.7, step=1))
    write(project, "trial_0000", trial_json("0000", {"units": 4}, score=0.6, step=0))
    (project / "oracle.json").write_text(json.dumps({
        "start_order": ["0000", "0001"], "run_times": {"0000": 1, "0001": 2},
        "display": {"trial_start": {"0000": "2024-05-01T10:00:00"}},
    }))
    report = import_keras_tuner(project, url, experiment="resumed")
    assert report.imported == 2 and not report.skipped and not report.notes
    repo = Repository(url)
    first, second = repo.runs("resumed")
    assert (first.trial_id, second.trial_id) == ("0000", "0001")  # the search's order
    assert second.attempt == 1  # ran twice
    assert {p.epoch for p in repo.history(second.id)} == {3}  # step 1 of a fit from epoch 2
    assert first.started_at.year == 2024 and first.started_at.tzinfo is not None
    assert [t.mean for t in repo.trials("resumed")] == [0.6, 0.7]


def test_nothing_importable_is_an_error(url, tmp_path):
    project = tmp_path / "broken"
    write(project, "trial_0", "{")
    write(project, "trial_1", "")
    out = run_cli("import", "keras-tuner", str(project), "--url", url)
    assert out.code == 1
    assert "nothing imported from" in out.err and "all 2 trials were unreadable" in out.err
    assert "trial_1: trial.json empty file" in out.err

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "oracle.json").write_text("{}")
    out = run_cli("import", "keras-tuner", str(tmp_path / "empty"), "--url", url)
    assert out.code == 1 and "no trial_* folders to import" in out.err
    out = run_cli("import", "keras-tuner", str(tmp_path), "--url", url)
    assert out.code == 1 and "holding 2 project(s); import one project folder" in out.err
    out = run_cli("import", "keras-tuner", str(tmp_path / "nope"), "--url", url)
    assert out.code == 1 and "no such directory" in out.err
    assert Repository(url).runs() == []


def test_progress_on_a_large_folder(url, tmp_path):
    project = tmp_path / "large"
    for n in range(30):
        write(project, f"trial_{n:02d}", trial_json(f"{n:02d}", {"units": n}, score=n / 30))
    out = run_cli("import", "keras-tuner", str(project), "--url", url, "-e", "big")
    assert out.code == 0, out.err
    assert "Importing trials" in out.err and "30/30" in out.err
    assert "Imported 30 of 30 trials" in out.out and "'big'" in out.out
    assert len(Repository(url).runs("big")) == 30


def test_unmigrated_database(empty_url, damaged):
    out = run_cli("import", "keras-tuner", str(damaged), "--url", empty_url)
    assert out.code == 1 and "tracker db upgrade" in out.err
    assert len(out.err.strip().splitlines()) == 1
