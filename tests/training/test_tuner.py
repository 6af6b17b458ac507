"""``track()`` on real keras-tuner searches, on both backends: the database holds exactly what
keras-tuner wrote in its own trial.json files, plus every epoch of every execution."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")

from cli_helpers import run_cli  # noqa: E402
from conftest import BACKENDS  # noqa: E402
from keras_helpers import make_data, make_model  # noqa: E402
from tuner_helpers import STATUS, EpochLog, TinyHyperModel, trial_files  # noqa: E402

from tracker import Repository, track  # noqa: E402
from tracker.store import db, schema  # noqa: E402

pytestmark = pytest.mark.keras
EXECUTIONS = {"random": 2, "hyperband": 1, "bayesian": 1}
SEARCHES = list(EXECUTIONS)


@pytest.fixture(scope="module", params=BACKENDS)
def tracked(request, tmp_path_factory):
    """A RandomSearch (2 executions per trial), a Hyperband and a BayesianOptimization search
    (its second trial chosen by the Gaussian process), tracked into one database of each
    backend; shared by the tests of this module."""
    folder = tmp_path_factory.mktemp(f"searches-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    x, y = make_data()
    fits = {}
    tuners = {
        "random": kt.RandomSearch(
            TinyHyperModel(), objective="val_accuracy", max_trials=2,
            executions_per_trial=EXECUTIONS["random"], seed=3, directory=folder,
            project_name="random",
        ),
        "hyperband": kt.Hyperband(
            TinyHyperModel(), objective="val_loss", max_epochs=2, factor=2, seed=3,
            directory=folder, project_name="hyperband",
        ),
        "bayesian": kt.BayesianOptimization(
            TinyHyperModel(), objective="val_accuracy", max_trials=2, num_initial_points=1,
            seed=3, directory=folder, project_name="bayesian",
        ),
    }
    for name, tuner in tuners.items():
        EpochLog.fits.clear()
        assert track(tuner, url) is tuner
        tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[EpochLog()])
        fits[name] = list(EpochLog.fits)
    yield SimpleNamespace(
        url=url, backend=request.param, fits=fits,
        dirs={name: folder / name for name in tuners},
    )
    db.dispose_engines()


def _runs_by_trial(repo: Repository, experiment: str) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for run in repo.runs(experiment):
        grouped.setdefault(run.trial_id, []).append(run)
    return grouped


@pytest.mark.parametrize("experiment", SEARCHES)
def test_database_holds_what_keras_tuner_wrote(tracked, experiment):
    repo = Repository(tracked.url)
    files = trial_files(tracked.dirs[experiment])
    grouped = _runs_by_trial(repo, experiment)
    assert sorted(grouped) == sorted(files) and len(files) >= 2
    for trial_id, state in files.items():
        runs = grouped[trial_id]
        assert [r.execution for r in runs] == list(range(EXECUTIONS[experiment]))
        for run in runs:
            assert run.hyperparameters == state["hyperparameters"]["values"], trial_id
            assert "batch_size" in run.hyperparameters  # declared by HyperModel.fit
            assert run.status == STATUS[state["status"]]
            assert run.score == state["score"]
            assert (run.attempt, run.worker, run.source) == (0, "tuner0", "keras-tuner")
            assert run.ended_at is not None and run.error is None


@pytest.mark.parametrize("experiment", SEARCHES)
def test_every_epoch_of_every_execution(tracked, experiment):
    repo = Repository(tracked.url)
    runs = repo.runs(experiment)
    fits = tracked.fits[experiment]
    assert len(runs) == len(fits)
    for run, fit in zip(runs, fits, strict=True):
        recorded = {(p.epoch, p.name): p.value for p in repo.history(run.id)}
        expected = {(epoch, name): value for epoch, logs in fit for name, value in logs.items()}
        assert recorded == expected
        if experiment == "hyperband":  # epochs are numbered as Keras numbers them
            hp = run.hyperparameters
            assert sorted({e for e, _ in recorded}) == list(
                range(hp["tuner/initial_epoch"], hp["tuner/epochs"]))


@pytest.mark.parametrize("experiment", SEARCHES)
def test_trial_score_equals_what_the_database_computes(tracked, experiment):
    repo = Repository(tracked.url)
    files = trial_files(tracked.dirs[experiment])
    summaries = repo.trials(experiment)
    assert {t.trial_id for t in summaries} == set(files)
    for summary in summaries:
        state = files[summary.trial_id]
        assert summary.executions == EXECUTIONS[experiment]
        assert summary.mean == state["score"] == summary.score  # exactly, not approximately
        if EXECUTIONS[experiment] > 1:
            assert summary.std is not None and summary.std >= 0
    [info] = [e for e in repo.experiments() if e.name == experiment]
    assert (info.objective, info.direction) == (
        ("val_loss", "min") if experiment == "hyperband" else ("val_accuracy", "max"))


def test_trials_command(tracked):
    out = run_cli("trials", "-e", "random", "--url", tracked.url, "--format", "json")
    assert out.code == 0, out.err
    assert out.out.count('"status": "completed"') == 2
    assert '"mean_val_accuracy"' in out.out and '"batch_size"' in out.out
    # tracker runs tells a trial's executions apart
    out = run_cli("runs", "-e", "random", "--url", tracked.url, "--format", "csv")
    assert out.code == 0, out.err
    header, *lines = out.out.strip().splitlines()
    assert header.startswith("id,experiment,trial,execution,attempt,status,started,")
    cells = [line.split(",") for line in lines]
    assert sorted((c[2], c[3], c[4]) for c in cells) == sorted(
        (r.trial_id, str(r.execution), "0") for r in Repository(tracked.url).runs("random"))
    assert sorted(c[3] for c in cells) == ["0", "0", "1", "1"]


# -- failures ---------------------------------------------------------------------------------


class Fragile(kt.HyperModel):
    """``mode`` ok trains; build raises in build(); fit raises in the middle of training."""

    def build(self, hp):
        mode = hp.Choice("mode", ["ok", "build", "fit"])
        if mode == "build":
            raise ValueError("cannot build mode=build")
        return make_model(units=2)

    def fit(self, hp, model, *args, **kwargs):
        if hp["mode"] == "fit":
            kwargs["callbacks"] = [RaiseAtEpoch(1), *kwargs["callbacks"]]
        return model.fit(*args, **kwargs)


class RaiseAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch, error=RuntimeError):
        super().__init__()
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error(f"diverged at epoch {epoch}")


def test_failed_trials_are_recorded_with_their_error_and_attempts(url, tmp_path):
    x, y = make_data(n=96)
    tuner = track(kt.GridSearch(Fragile(), objective="val_accuracy", max_retries_per_trial=1,
                                max_consecutive_failed_trials=2, max_trials=3, directory=tmp_path,
                                project_name="fragile"), url)
    with pytest.raises(RuntimeError, match="consecutive failures"):
        tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    repo = Repository(url)
    runs = {(r.trial_id, r.attempt): r for r in repo.runs("fragile")}
    assert sorted(runs) == [("0", 0), ("1", 0), ("1", 1), ("2", 0), ("2", 1)]
    assert runs["0", 0].status == "completed" and runs["0", 0].score is not None
    for attempt, status in [(0, "invalid"), (1, "failed")]:
        built, fitted = runs["1", attempt], runs["2", attempt]
        assert (built.status, fitted.status) == (status, status)
        assert "ValueError: cannot build mode=build" in built.error
        assert "RuntimeError: diverged at epoch 1" in fitted.error
        assert built.score is None and repo.history(built.id) == []
        # the epoch before the error is kept
        assert {p.epoch for p in repo.history(fitted.id)} == {0}
    # keras-tuner raised before saving trial 2's file (still INVALID there); its oracle knows.
    assert {t.trial_id: t.status for t in repo.trials("fragile")} == {
        trial_id: STATUS[trial.status] for trial_id, trial in tuner.oracle.trials.items()
    } == {"0": "completed", "1": "failed", "2": "failed"}


def test_interrupted_search_marks_the_open_trial_failed(url, tmp_path):
    x, y = make_data(n=64)
    tuner = track(kt.RandomSearch(TinyHyperModel(), objective="val_accuracy", max_trials=2,
                                  directory=tmp_path, project_name="stopped"), url)
    with pytest.raises(KeyboardInterrupt):
        tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0,
                     callbacks=[RaiseAtEpoch(0, KeyboardInterrupt)])
    [run] = Repository(url).runs("stopped")
    assert run.status == "failed" and "KeyboardInterrupt" in run.error


# -- any tuner, never failing the search --------------------------------------------------------


class Quadratic(kt.GridSearch):
    """A user's black-box tuner: run_trial fits nothing and takes no keyword arguments."""

    def run_trial(self, trial, offset):
        x = trial.hyperparameters.Choice("x", [0.0, 0.5, 9.0])
        return math.nan if x == 9.0 else (x - offset) ** 2


def test_a_subclass_that_fits_nothing_and_a_nan_score(url, tmp_path):
    tuner = track(Quadratic(max_trials=3, directory=tmp_path, project_name="quadratic"), url)
    tuner.search(0.2)
    runs = {r.trial_id: r for r in Repository(url).runs("quadratic")}
    files = trial_files(tmp_path / "quadratic")
    assert sorted(runs) == sorted(files) == ["0", "1", "2"]
    for trial_id, state in files.items():
        run = runs[trial_id]
        assert run.hyperparameters == state["hyperparameters"]["values"]
        assert run.status == STATUS[state["status"]]
    assert runs["1"].score == files["1"]["score"] == pytest.approx(0.09)
    assert runs["2"].status == "failed" and runs["2"].score is None
    assert "score is NaN" in runs["2"].error


def test_tracking_again_changes_the_destination_without_recording_twice(url, tmp_path):
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    schema.upgrade(elsewhere)
    tuner = Quadratic(max_trials=3, directory=tmp_path, project_name="twice")
    track(tuner, elsewhere)
    track(tuner, url, experiment="second")
    tuner.search(0.2)
    assert len(Repository(url).runs("second")) == 3
    assert Repository(elsewhere).experiments() == []


def test_an_unreachable_database_never_fails_the_search(tmp_path):
    tuner = Quadratic(max_trials=3, directory=tmp_path, project_name="offline")
    with pytest.warns(Warning, match="not reachable"):
        track(tuner, "postgresql://nobody@127.0.0.1:1/nothing")
    with pytest.warns(Warning, match="tracking paused"):
        tuner.search(0.2)
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert tuner._sweep_tracker.pending > 0  # kept, to be written when the database answers


def test_a_bug_in_tracking_never_fails_a_trial(url, tmp_path, monkeypatch):
    from tracker.training import tuner_recorder

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(tuner_recorder.TrialRecorder, "epoch_ended", broken)
    monkeypatch.setattr(tuner_recorder.TrialRecorder, "trial_ended", broken)
    x, y = make_data(n=64)
    tuner = track(kt.RandomSearch(TinyHyperModel(), objective="val_accuracy", max_trials=1,
                                  directory=tmp_path, project_name="buggy"), url)
    with pytest.warns(Warning, match="a bug of ours"):
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"]


def test_track_refuses_what_it_cannot_track(empty_url, tmp_path):
    from tracker import SchemaError

    with pytest.raises(TypeError, match="keras-tuner tuner"):
        track(object(), empty_url)
    with pytest.raises(SchemaError, match="tracker db upgrade"):
        track(Quadratic(max_trials=3, directory=tmp_path, project_name="unmigrated"), empty_url)


def test_importing_the_tuner_folder_gives_the_same_trials(tracked, tmp_path, request):
    if tracked.backend == "sqlite":
        empty = f"sqlite:///{tmp_path / 'imported.db'}"
    else:
        empty = request.getfixturevalue("postgres").create()
    schema.upgrade(empty)
    tracked_repo, imported_repo = Repository(tracked.url), Repository(empty)
    for experiment, folder in tracked.dirs.items():
        out = run_cli("import", "keras-tuner", str(folder), "--url", empty)
        assert out.code == 0 and out.err == "", out.err

        def trials(repo, experiment=experiment):
            return {
                t.trial_id: (t.hyperparameters, t.status, t.score, t.mean)
                for t in repo.trials(experiment)
            }

        assert trials(imported_repo) == trials(tracked_repo)
        assert [(e.objective, e.direction) for e in imported_repo.experiments()
                if e.name == experiment] == [(e.objective, e.direction)
                                             for e in tracked_repo.experiments()
                                             if e.name == experiment]
