"""Database outages while training runs: the PostgreSQL server stops for ~10 s (our own
throwaway server), or another process holds SQLite's write lock for ~10 s. Training goes on,
one warning says so, the records wait in the journal and are written exactly once afterwards;
if the process ends first, `tracker sync` writes them later, idempotently."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa

keras = pytest.importorskip("keras")

from cli_helpers import run_cli  # noqa: E402
from keras_helpers import make_data, make_model  # noqa: E402
from outage_helpers import PostgresStopped, SqliteLocked  # noqa: E402

from tracker import Repository, TrackingCallback, TrackingWarning  # noqa: E402
from tracker.capture.journal import journal_files, read_journal  # noqa: E402
from tracker.store import db, schema  # noqa: E402
from tracker.store.models import Base  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

OUTAGE_S = 10.0
EPOCH_S = 0.4


@pytest.fixture
def outage_db(backend, request, tmp_path):
    """(url of a migrated database, an outage switch for it)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'outage.db'}"
        outage = SqliteLocked(url)
    else:
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.databases.create("tracker_outage")
        outage = PostgresStopped(cluster)
    schema.upgrade(url)
    yield url, outage
    outage.up()


class Clock(keras.callbacks.Callback):
    """Makes each epoch last ~EPOCH_S and notes when each ended."""

    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(EPOCH_S)
        self.ends.append(time.monotonic())


def test_training_goes_on_through_an_outage_and_every_epoch_lands_once(outage_db):
    url, outage = outage_db
    x, y = make_data()
    clock = Clock()
    window: dict[str, float] = {}

    def take_the_database_away():
        while len(clock.ends) < 3:
            time.sleep(0.05)
        outage.down()
        window["down"] = time.monotonic()
        time.sleep(OUTAGE_S)
        window["up"] = time.monotonic()
        outage.up()

    switch = threading.Thread(target=take_the_database_away)
    switch.start()
    callback = TrackingCallback(url, experiment="outage")
    epochs = int((OUTAGE_S + 2.5) / EPOCH_S)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model_fit(x, y, epochs, [callback, clock])
        switch.join()
        assert callback.flush(timeout=60), "the journal did not drain once the database was back"

    # Training went on: every epoch ran, many while the database was away, none held up.
    assert len(history.history["loss"]) == epochs
    # (Epochs last longer than EPOCH_S when the test suite's other process loads the CPU: the
    # count allows twice that; a held-up epoch shows in the largest gap.)
    during = [t for t in clock.ends if window["down"] <= t <= window["up"]]
    assert len(during) >= OUTAGE_S / (2 * EPOCH_S) * 0.8, (len(during), window)
    gaps = [b - a for a, b in zip(clock.ends, clock.ends[1:], strict=False)]
    assert max(gaps) < EPOCH_S + 1.5, f"an epoch was held up: {max(gaps):.2f} s"
    # One warning said what was happening.
    ours = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(ours) == 1, ours
    assert "training goes on" in ours[0] and "written once the database answers" in ours[0]
    # Every epoch is in the database exactly once, with Keras' values.
    repo = Repository(url)
    [run] = repo.runs("outage")
    assert run.status == "completed"
    points = repo.history(run.id)
    assert len(points) == epochs * len(history.history)
    assert len({(p.name, p.epoch) for p in points}) == len(points)
    for point in points:
        expected = history.history[point.name][point.epoch]
        assert point.value == pytest.approx(expected, rel=1e-12) or (
            math.isnan(point.value) and math.isnan(expected))
    # And nothing waits in the journal any more.
    journals = journal_files(callback._recorder.outbox.directory)
    assert all(not read_journal(path).pending for path in journals)
    print(f"\n{outage.__class__.__name__}: {window['up'] - window['down']:.1f} s outage, "
          f"{len(during)} epochs trained during it, {len(points)} rows written, 0 lost")


def model_fit(x, y, epochs, callbacks):
    return make_model().fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=callbacks)


def test_records_outlive_a_process_that_ends_during_an_outage(outage_db, journal_dir):
    """The database goes away mid-training and is still away when the process ends: the
    journal stays on disk, `tracker sync` writes it, and a second sync changes nothing."""
    url, outage = outage_db
    training = start_training(url, "ended", epochs=6, wait_at=1)
    expect_line(training, "waiting")
    outage.down()
    training.stdin.write("\n")
    training.stdin.flush()
    out, err = training.communicate(timeout=120)
    assert training.returncode == 0, err
    assert "done" in out
    assert "tracker sync" in err and journal_dir in err  # the exit message names both
    outage.up()

    [path] = journal_files(Path(journal_dir))
    waiting = read_journal(path).pending
    assert [op.method for op in waiting] == ["log_epoch"] * 4 + ["finish_run"]
    repo = Repository(url)
    [run] = repo.runs("ended")
    assert run.status == "running" and {p.epoch for p in repo.history(run.id)} == {0, 1}

    first = run_cli("sync", "--url", url, env={"TRACKER_JOURNAL_DIR": journal_dir})
    assert first.code == 0, first.err
    assert "5 record(s) written" in first.out
    after_first = dump(url)
    [run] = repo.runs("ended")
    assert run.status == "completed"
    assert sorted({p.epoch for p in repo.history(run.id)}) == list(range(6))
    assert len(repo.history(run.id)) == 6 * 2  # loss and accuracy, once each
    assert journal_files(Path(journal_dir)) == []

    second = run_cli("sync", "--url", url, env={"TRACKER_JOURNAL_DIR": journal_dir})
    assert second.code == 0 and "nothing to sync" in second.out
    assert dump(url) == after_first


def start_training(url, experiment, epochs, **options) -> subprocess.Popen:
    script = Path(__file__).parents[1] / "support" / "train_script.py"
    args = [sys.executable, str(script), url, experiment, str(epochs)]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def expect_line(process: subprocess.Popen, wanted: str) -> None:
    for line in process.stdout:
        if line.strip() == wanted:
            return
    raise AssertionError(f"the process ended before printing {wanted!r}: {process.stderr.read()}")


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, for before/after comparisons."""
    engine = db.get_engine(url)
    with engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
            for table in Base.metadata.sorted_tables
        }


_RECORD_WHILE_DOWN = """
import sys
from tracker.capture.recorder import RunRecorder
recorder = RunRecorder(sys.argv[1])
key = recorder.start_run("killed-or-ended", hyperparameters={"worker": int(sys.argv[2])})
for epoch in range(5):
    recorder.log_epoch(key, epoch, {"loss": 1 / (epoch + 1), "worker": float(sys.argv[2])})
recorder.finish_run(key)
recorder.flush(timeout=5)  # fails: the database is away
print("recorded", flush=True)
sys.stdin.readline()
"""


def test_journals_of_killed_and_ended_processes_are_all_synced(outage_db, journal_dir):
    """Four processes record while the database is away; two are killed (SIGKILL: no exit
    handling), two end normally. Each kept its own journal; `sync` writes all four."""
    url, outage = outage_db
    outage.down()
    workers = [
        subprocess.Popen([sys.executable, "-c", _RECORD_WHILE_DOWN, url, str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for n in range(4)
    ]
    for worker in workers:
        expect_line(worker, "recorded")
    for worker in workers[:2]:
        worker.kill()
    for worker in workers[2:]:
        worker.communicate("\n", timeout=60)
    for worker in workers[:2]:
        worker.wait(timeout=30)
    paths = journal_files(Path(journal_dir))
    assert len(paths) == 4 and all(len(read_journal(p).pending) == 7 for p in paths)
    outage.up()

    out = run_cli("sync", "--url", url, "--journal-dir", journal_dir)
    assert out.code == 0, out.err
    assert "28 record(s) written from 4 journal file(s)" in out.out
    repo = Repository(url)
    finished = repo.runs("killed-or-ended")
    assert sorted(r.hyperparameters["worker"] for r in finished) == [0, 1, 2, 3]
    assert {r.status for r in finished} == {"completed"}
    assert sum(len(repo.history(r.id)) for r in finished) == 4 * 5 * 2
    assert run_cli("sync", "--journal-dir", journal_dir).out.startswith("nothing to sync")
