"""The acceptance search: a real keras-tuner ``RandomSearch`` (20 trials x 10 epochs, half the
space unable to learn) with ``MedianPruner()`` trains at most 60 % of the epochs the same search
trains without, and finds the same best trial or one within 1 % of its score; on SQLite and
PostgreSQL. One search without pruning per backend, shared by the tests of this module."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pruning_search import EPOCHS, TRIALS, run_search

from tracker import Repository
from tracker.pruning import MedianPruner
from tracker.store import db, schema

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def searches(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"search-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder}/tracker.db"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    plain = run_search(url, folder, "plain")
    pruned = run_search(url, folder, "pruned", pruner=MedianPruner())
    yield url, plain, pruned
    db.dispose_engines()


def test_pruning_trains_at_most_60_percent_and_finds_the_best(searches):
    _, plain, pruned = searches
    assert plain.epochs == TRIALS * EPOCHS
    assert pruned.epochs <= 0.6 * plain.epochs, (pruned.epochs, plain.epochs)
    assert pruned.best_trial == plain.best_trial or pruned.best_score >= 0.99 * plain.best_score


def test_pruned_runs_are_recorded_with_keras_tuners_score(searches):
    url, plain, pruned = searches
    repo = Repository(url)
    runs = {r.trial_id: r for r in repo.runs("pruned")}
    assert {r.status for r in runs.values()} == {"completed", "pruned"}
    assert {r.status for r in repo.runs("plain")} == {"completed"}
    with db.get_engine(url).connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT r.trial_id, r.status, r.score, r.pruned_epoch, r.pruned_threshold "
            "FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'pruned'"
        )).all()
    for trial_id, status, score, epoch, threshold in rows:
        # keras-tuner's own score, on the epochs the run trained, whatever the pruner did
        assert score == pytest.approx(pruned.scores[trial_id])
        assert (status == "pruned") == (epoch is not None) == (threshold is not None)
        if status == "pruned":
            curve = repo.history(runs[trial_id].id, "val_accuracy")
            assert len(curve) in (epoch + 1, epoch + 2)  # stopped then, or one epoch late
            assert max(p.value for p in curve if p.epoch <= epoch) < threshold
    stats = repo.prune_stats("pruned")
    assert stats.epochs_trained == pruned.epochs
    assert stats.epochs_trained + stats.epochs_saved == plain.epochs
    assert not stats.best_pruned
    summaries = {t.trial_id: t.status for t in repo.trials("pruned")}
    assert set(summaries.values()) == {"completed", "pruned"}


def test_pruned_runs_show_in_frames_the_report_and_the_cli(searches):
    from cli_helpers import run_cli
    from tracker.report import build_report

    url, _, pruned = searches
    repo = Repository(url)
    frame = repo.to_dataframe(experiment="pruned")
    assert set(frame["status"]) == {"completed", "pruned"}
    html = build_report(repo, experiment="pruned")
    assert "epochs saved; best run not pruned" in html
    out = run_cli("prune-stats", "-e", "pruned", "--url", url, "-f", "json")
    assert out.code == 0, out.err
    assert f'"epochs_trained": {pruned.epochs}' in out.out
    runs = run_cli("runs", "-e", "pruned", "--status", "pruned", "--url", url, "-f", "json")
    assert runs.code == 0 and '"status": "pruned"' in runs.out
