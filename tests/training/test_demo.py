"""``tracker demo``, exactly as the README's first set-up command runs it: a real tracked
keras-tuner search into tracker.db in the current folder, then its summary."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli

from tracker import Repository

pytest.importorskip("keras_tuner")
pytestmark = [pytest.mark.keras, pytest.mark.slow]


def test_demo_records_a_real_search_and_prints_its_summary(tmp_path):
    out = run_cli("demo", cwd=tmp_path, env={"TRACKER_DATABASE_URL": ""}, timeout=300)
    assert out.code == 0, out.err
    assert "into sqlite:///tracker.db" in out.out
    assert "trial 3/3:" in out.out and "Trials of 'demo'" in out.out
    assert "Best val_accuracy per batch_size" in out.out
    assert (tmp_path / "tracker.db").is_file()
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # keras-tuner's files are gone
    repo = Repository(f"sqlite:///{tmp_path / 'tracker.db'}")
    trials = repo.trials("demo")
    assert len(trials) == 3
    for trial in trials:
        assert trial.status == "completed" and trial.executions == 2
        assert trial.mean == trial.score and trial.std is not None
        assert set(trial.hyperparameters) == {"units", "learning_rate", "batch_size"}
    assert all(len(repo.history(run.id)) == 3 * 4 for run in repo.runs("demo"))
