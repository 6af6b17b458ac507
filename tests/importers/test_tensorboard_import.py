"""``tracker import tensorboard``: event files written by ``tf.summary`` and by Keras'
TensorBoard callback become runs, on both backends; re-importing changes nothing; damaged
files are reported and skipped."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

from tracker import Repository
from tracker.importers.tensorboard import import_tensorboard

pytest.importorskip("tensorboard")
tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.keras

from tensorboard.plugins.hparams import api as hp  # noqa: E402

# Known values: (hyperparameters, {metric: per-epoch values}).
KNOWN = {
    "bs16-lr0.01": ({"batch_size": 16, "learning_rate": 0.01, "optimizer": "adam"},
                    {"val_accuracy": [0.61, 0.72, 0.7], "loss": [0.9, 0.6, 0.55]}),
    "bs32-lr0.01": ({"batch_size": 32, "learning_rate": 0.01, "optimizer": "sgd"},
                    {"val_accuracy": [0.5, 0.83, 0.81], "loss": [1.0, 0.7, 0.4]}),
    "bs32-lr0.1": ({"batch_size": 32, "learning_rate": 0.1, "optimizer": "adam"},
                   {"val_accuracy": [0.4, float("nan"), 0.45], "loss": [2.0, float("inf"), 3.0]}),
}


def write_summaries(logdir: Path) -> None:
    for name, (hparams, curves) in KNOWN.items():
        writer = tf.summary.create_file_writer(str(logdir / name))
        with writer.as_default():
            hp.hparams(hparams)
            for epoch in range(3):
                for metric, values in curves.items():
                    tf.summary.scalar(metric, values[epoch], step=epoch)
                tf.summary.histogram("weights", [1.0, 2.0, 3.0], step=epoch)  # not a scalar
                tf.summary.text("note", "not a scalar either", step=epoch)
        writer.close()


@pytest.fixture(scope="module")
def summaries(tmp_path_factory) -> Path:
    logdir = tmp_path_factory.mktemp("tb") / "sweep"
    write_summaries(logdir)
    return logdir


@pytest.fixture(scope="module")
def keras_logs(tmp_path_factory):
    """Keras' TensorBoard callback (train/ and validation/) plus HParams, and fit's History."""
    import keras
    from keras_helpers import make_data, make_model

    logdir = tmp_path_factory.mktemp("keras-tb")
    x, y = make_data(n=128)
    history = make_model(3e-2, units=4).fit(
        x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0,
        callbacks=[keras.callbacks.TensorBoard(str(logdir / "run-a")),
                   hp.KerasCallback(str(logdir / "run-a"), {"units": 4, "activation": "relu"})],
    )
    return logdir, history.history


def test_tf_summary_scalars_import_and_best_by_gives_the_known_answer(url, summaries):
    out = run_cli("import", "tensorboard", str(summaries), "--url", url)
    assert out.code == 0, out.err
    assert "Imported 3 runs (9 epochs, 18 values)" in out.out
    assert "experiment 'sweep'" in out.out  # the folder's name by default
    repo = Repository(url)
    best = {g.group: (g.value, g.runs) for g in repo.best_by("batch_size", "val_accuracy",
                                                             experiment="sweep")}
    assert best == {16: (0.72, 1), 32: (0.83, 2)}  # exact: float32 values read back as logged
    by_lr = {g.group: g.value for g in repo.best_by("learning_rate", "loss", experiment="sweep")}
    assert by_lr == {0.01: 0.4, 0.1: 2.0}  # inf never wins
    runs = {r.name: r for r in repo.runs("sweep")}
    assert set(runs) == set(KNOWN)
    run = runs["bs32-lr0.1"]
    assert run.hyperparameters == {"batch_size": 32, "learning_rate": 0.1, "optimizer": "adam"}
    assert isinstance(run.hyperparameters["batch_size"], int)
    assert run.source == "tensorboard-import" and run.status == "completed"
    assert run.started_at <= run.ended_at
    values = [p.value for p in repo.history(run.id, "val_accuracy")]
    assert values[0] == 0.4 and values[1] != values[1] and values[2] == 0.45
    assert [p.value for p in repo.history(run.id, "loss")] == [2.0, float("inf"), 3.0]


def test_keras_tensorboard_callback_logs_merge_train_and_validation(url, keras_logs):
    logdir, history = keras_logs
    repo = Repository(url)
    result = import_tensorboard(repo, logdir, experiment="keras-tb")
    assert result.runs == 1 and result.problems == [] and result.epochs == 3
    (run,) = repo.runs("keras-tb")
    assert run.name == "run-a"
    assert run.hyperparameters == {"units": 4, "activation": "relu"}
    points = repo.history(run.id)
    names = {p.name for p in points}
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= names
    assert not any(n.startswith(("epoch_", "batch_", "evaluation_")) for n in names)
    for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
        got = [p.value for p in points if p.name == metric]
        assert got == pytest.approx(history[metric], rel=1e-6), metric


def test_reimport_is_idempotent_and_picks_up_new_epochs(url, tmp_path):
    logdir = tmp_path / "live"
    write_summaries(logdir)
    repo = Repository(url)
    assert import_tensorboard(repo, logdir).runs == 3
    before = [(r.id, r.key, r.hyperparameters) for r in repo.runs()]
    frame = repo.to_dataframe(kind="epochs")
    assert import_tensorboard(repo, logdir).runs == 3
    assert [(r.id, r.key, r.hyperparameters) for r in repo.runs()] == before
    assert repo.to_dataframe(kind="epochs").equals(frame)
    # The run goes on: one more epoch in a new event file; importing again adds just that.
    writer = tf.summary.create_file_writer(str(logdir / "bs16-lr0.01"))
    with writer.as_default():
        tf.summary.scalar("val_accuracy", 0.9, step=3)
    writer.close()
    import_tensorboard(repo, logdir)
    assert len(repo.runs()) == 3
    assert repo.best_by("batch_size", "val_accuracy")[0].value == 0.9
    # Into another experiment, the same logs are other runs.
    import_tensorboard(repo, logdir, experiment="copy")
    assert len(repo.runs("copy")) == 3 and len(repo.runs()) == 6


def test_damaged_and_foreign_files_are_reported_and_skipped(url, summaries, tmp_path):
    logdir = tmp_path / "damaged"
    shutil.copytree(summaries, logdir)
    good = sorted((logdir / "bs16-lr0.01").iterdir())[0]
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte halfway: a checksum fails there
    good.write_bytes(bytes(data))
    garbage = logdir / "bs32-lr0.1" / "events.out.tfevents.0.garbage"
    garbage.write_bytes(b"this is not a TFRecord file, only some bytes" * 10)
    cut = sorted((logdir / "bs32-lr0.01").iterdir())[0]
    cut.write_bytes(cut.read_bytes()[:-5])  # the writer was killed mid-record
    (logdir / "not-a-run").mkdir()
    (logdir / "not-a-run" / "events.out.tfevents.1.empty").write_bytes(b"")

    out = run_cli("import", "tensorboard", str(logdir), "--url", url)
    assert out.code == 0, out.err
    assert f"warning: {good}: damaged" in out.err and "the rest of the file skipped" in out.err
    assert f"warning: {garbage}: not a readable event file" in out.err
    assert f"warning: {cut}: ends with an incomplete record" in out.err
    assert "Traceback" not in out.err
    assert "Imported 3 runs" in out.out and "could not be read fully" in out.out
    repo = Repository(url)
    damaged = next(r for r in repo.runs() if r.name == "bs16-lr0.01")
    epochs = {p.epoch for p in repo.history(damaged.id)}
    assert epochs and epochs < {0, 1, 2}  # what came before the damage, and only that


def test_nothing_to_import(url, tmp_path):
    out = run_cli("import", "tensorboard", str(tmp_path), "--url", url)
    assert out.code == 1 and "no TensorBoard event files" in out.err
    out = run_cli("import", "tensorboard", str(tmp_path / "missing"), "--url", url)
    assert out.code == 1 and "no such folder" in out.err
    (tmp_path / "events.out.tfevents.x").write_bytes(b"garbage" * 20)
    out = run_cli("import", "tensorboard", str(tmp_path), "--url", url)
    assert out.code == 1 and "nothing imported" in out.err and "not a readable" in out.err


def test_missing_tensorboard_is_a_clear_error(url, summaries, monkeypatch):
    from tracker.optional import MissingDependency

    name = "tensorboard.backend.event_processing.event_file_loader"
    monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependency, match=r"sweep-tracker\[keras\]"):
        import_tensorboard(Repository(url), summaries)


def test_an_untrusted_log_folder_imports_what_it_can(url, summaries, tmp_path):
    import os

    logdir = tmp_path / "sweep"
    shutil.copytree(summaries, logdir)
    one = next((summaries / "bs16-lr0.01").glob("events.out.tfevents.*"))
    (logdir / "fifo").mkdir()
    os.mkfifo(logdir / "fifo" / one.name)  # reading it would block for ever
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(one, outside / one.name)
    (logdir / "linked").mkdir()
    (logdir / "linked" / one.name).symlink_to(outside / one.name)
    from tracker.importers import tensorboard_reader

    (logdir / "huge").mkdir()
    with open(logdir / "huge" / one.name, "w") as file:  # sparse: no disk used
        file.truncate(tensorboard_reader.MAX_EVENT_FILE_BYTES + 1)
    deep = logdir / ("d" * 200) / ("e" * 200)  # a run name the schema cannot hold
    deep.mkdir(parents=True)
    shutil.copy(one, deep / one.name)
    out = run_cli("import", "tensorboard", str(logdir), "--url", url, timeout=60)
    assert out.code == 0, out.err
    err = " ".join(out.err.split())
    assert "not a regular file" in err and "symbolic link out of the log folder" in err
    assert "run not imported" in err and "run name" in err and "over the limit of" in err
    repo = Repository(url)
    assert sorted(r.name for r in repo.runs("sweep")) == sorted(KNOWN)
    result = import_tensorboard(repo, logdir, follow_symlinks=True)
    assert result.runs == len(KNOWN) + 1  # the linked run too
