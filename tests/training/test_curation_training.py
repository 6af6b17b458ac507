"""Tags from the training side (``TrackingCallback(tags=)``, ``track(tuner, tags=)``) and
curating a real keras-tuner search (move a trial, delete one, rename), on both backends."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")

from keras_helpers import make_data, make_model  # noqa: E402
from tuner_helpers import TinyHyperModel  # noqa: E402

from tracker import Repository, TrackingCallback, track  # noqa: E402
from tracker.store.values import UnsupportedValue  # noqa: E402

pytestmark = pytest.mark.keras


def test_the_callback_tags_its_run(url):
    x, y = make_data(n=64)
    callback = TrackingCallback(url, experiment="tagged", tags={"stage": "baseline", "seed": 0})
    make_model().fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    [run] = Repository(url).runs("tagged", where="tags.stage == 'baseline'")
    assert run.tags == {"stage": "baseline", "seed": "0"} and run.status == "completed"
    with pytest.raises(UnsupportedValue, match="tag values are text"):
        TrackingCallback(url, tags={"stage": object()})


def test_a_tracked_search_tags_every_run_and_can_be_curated(url, tmp_path):
    x, y = make_data(n=64)
    tuner = track(kt.RandomSearch(TinyHyperModel(), objective="val_accuracy", max_trials=3,
                                  executions_per_trial=2, directory=tmp_path,
                                  project_name="search", seed=1), url, tags={"stage": "sweep1"})
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    repo = Repository(url)
    runs = repo.runs("search")
    assert len(runs) == 6 and {r.tags["stage"] for r in runs} == {"sweep1"}
    trials = {t.trial_id: t for t in repo.trials("search")}
    assert len(trials) == 3

    first, second, third = sorted(trials)
    repo.move_runs(list(trials[first].run_ids), to="search-kept")
    [moved] = repo.trials("search-kept")
    assert (moved.trial_id, moved.executions, moved.mean) == (first, 2, trials[first].mean)
    repo.delete_runs(experiment="search", where=f"trial_id == '{second}'")
    assert [t.trial_id for t in repo.trials("search")] == [third]
    repo.rename_experiment("search", "search-v1")
    assert [t.trial_id for t in repo.trials("search-v1")] == [third]
    # The same tuner searching again still writes under its project name: into search-v1.
    tuner.oracle.max_trials = 4
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert {e.name for e in repo.experiments()} == {"search-v1", "search-kept"}
    assert len(repo.runs("search-v1")) == 4  # the third trial, and the new fourth
