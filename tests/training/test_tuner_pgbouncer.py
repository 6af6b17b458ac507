"""``track(tuner, url)`` through PgBouncer in transaction pooling mode: a real RandomSearch
records what keras-tuner wrote in its own trial.json files, every epoch included, and
`tracker import keras-tuner` of its folder through the pooler gives the same trials."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")

from cli_helpers import run_cli  # noqa: E402
from keras_helpers import make_data  # noqa: E402
from tuner_helpers import STATUS, EpochLog, TinyHyperModel, trial_files  # noqa: E402

from tracker import Repository, track  # noqa: E402
from tracker.store import schema  # noqa: E402

pytestmark = pytest.mark.keras


def test_a_search_through_pgbouncer_records_every_trial(
    pooled_url, postgres_migrated, postgres, pgbouncer, tmp_path
):
    x, y = make_data()
    tuner = kt.RandomSearch(TinyHyperModel(), objective="val_accuracy", max_trials=2, seed=3,
                            directory=tmp_path, project_name="pooled")
    EpochLog.fits.clear()
    track(tuner, pooled_url)
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[EpochLog()])
    files = trial_files(tmp_path / "pooled")
    repo = Repository(postgres_migrated)  # read straight from the server
    runs = repo.runs("pooled")
    assert sorted(run.trial_id for run in runs) == sorted(files) and len(files) == 2
    for run, fit in zip(runs, EpochLog.fits, strict=True):
        state = files[run.trial_id]
        assert run.hyperparameters == state["hyperparameters"]["values"]
        assert run.status == STATUS[state["status"]] and run.score == state["score"]
        recorded = {(p.epoch, p.name): p.value for p in repo.history(run.id)}
        assert recorded == {(e, name): v for e, logs in fit for name, v in logs.items()}
    assert {t.trial_id: t.score for t in repo.trials("pooled")} == {
        trial_id: state["score"] for trial_id, state in files.items()}

    imported = pgbouncer.url(postgres.create())
    schema.upgrade(imported)
    out = run_cli("import", "keras-tuner", str(tmp_path / "pooled"), "--url", imported)
    assert out.code == 0 and out.err == "", out.err

    def trials(repo):
        return {t.trial_id: (t.hyperparameters, t.status, t.score, t.mean)
                for t in repo.trials("pooled")}

    assert trials(Repository(imported)) == trials(repo)
