"""Many processes at once: 8 workers writing through the callback's write path into one
database; 4 `tracker db upgrade` racing on an empty one; workers refusing an unmigrated one."""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tracker import SchemaError
from tracker.capture.journal import journal_files
from tracker.store import db, schema
from tracker.store.models import Base
from tracker.store.writes import epoch_metrics, hyperparameters, runs

WORKERS, RUNS, EPOCHS, METRICS = 8, 50, 30, 4
# Children fork from a server that imported tracker once: a fresh interpreter each would cost
# seconds on two cores; a plain fork would copy this process's TensorFlow threads.
_spawn = multiprocessing.get_context("forkserver")
_spawn.set_forkserver_preload(["tracker.cli", "tracker.capture.recorder", "sqlalchemy"])


def metric_value(worker: int, run: int, epoch: int, metric: int) -> float:
    return worker * 1000 + run + epoch / 100 + metric / 10_000


def _record(url, journal_dir, worker, barrier, results) -> None:
    """One worker: what TrackingCallback does for 50 fits of 30 epochs, without Keras."""
    import warnings

    from tracker.capture.recorder import RunRecorder

    retries = []
    logging.getLogger("tracker").addHandler(_Collect(retries))
    logging.getLogger("tracker").setLevel(logging.DEBUG)
    error, drained, started = None, False, time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            recorder = RunRecorder(url, journal_dir=journal_dir)
            recorder.check_schema()
            barrier.wait()
            started = time.monotonic()
            for run in range(RUNS):
                key = recorder.start_run("load", hyperparameters={"worker": worker, "run": run})
                for epoch in range(EPOCHS):
                    values = {f"m{i}": metric_value(worker, run, epoch, i) for i in range(METRICS)}
                    recorder.log_epoch(key, epoch, values)
                recorder.finish_run(key)
            drained = recorder.flush(timeout=300)
        except BaseException as exc:  # reported to the parent, which fails the test
            error = repr(exc)
    results.put((worker, error, [str(w.message) for w in caught], drained,
                 time.monotonic() - started, len(retries)))


class _Collect(logging.Handler):
    def __init__(self, into):
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record):
        if "retrying" in record.getMessage():
            self.into.append(record.getMessage())


@pytest.mark.slow
def test_eight_workers_write_every_row_exactly_once(url, backend, journal_dir):
    barrier, results = _spawn.Barrier(WORKERS), _spawn.Queue()
    workers = [
        _spawn.Process(target=_record, args=(url, journal_dir, w, barrier, results))
        for w in range(WORKERS)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    elapsed = time.monotonic() - started

    for worker, error, warned, drained, _, _ in reports:
        assert error is None, f"worker {worker}: {error}"
        assert warned == [], f"worker {worker} was warned: {warned[:3]}"
        assert drained, f"worker {worker} still had records pending"
    engine = db.get_engine(url)
    with engine.connect() as conn:
        count = lambda table: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()  # noqa: E731
        assert count(runs) == WORKERS * RUNS
        assert count(hyperparameters) == WORKERS * RUNS * 2
        assert count(epoch_metrics) == WORKERS * RUNS * EPOCHS * METRICS
        assert set(conn.execute(sa.select(runs.c.status).distinct()).scalars()) == {"completed"}
        keys = conn.execute(
            sa.select(runs.c.id, hyperparameters.c.name, hyperparameters.c.num_value)
            .join(hyperparameters, hyperparameters.c.run_id == runs.c.id)
        ).all()
        who = {}
        for run_id, name, value in keys:
            who.setdefault(run_id, {})[name] = int(value)
        assert sorted((w["worker"], w["run"]) for w in who.values()) == [
            (w, r) for w in range(WORKERS) for r in range(RUNS)]
        rows = conn.execute(
            sa.select(epoch_metrics.c.run_id, epoch_metrics.c.epoch, epoch_metrics.c.name,
                      epoch_metrics.c.value)
        ).all()
    for run_id, epoch, name, value in rows:
        owner = who[run_id]
        assert value == metric_value(owner["worker"], owner["run"], epoch, int(name[1:]))
    assert all(p.stat().st_size < 1000 for p in journal_files(Path(journal_dir)))  # headers only
    retried = sum(r[5] for r in reports)
    print(f"\n{backend}: {WORKERS} workers, {len(rows)} metric rows + {WORKERS * RUNS} runs in "
          f"{elapsed:.1f} s (slowest worker {max(r[4] for r in reports):.1f} s), "
          f"{retried} transient errors retried, 0 warnings, 0 lost")


def _upgrade_by_cli(url, barrier, results) -> None:
    import contextlib
    import io
    import sys

    from tracker.cli import main

    sys.argv = ["tracker", "db", "upgrade", "--url", url]
    out, err = io.StringIO(), io.StringIO()
    barrier.wait()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code or 0
    results.put((code, out.getvalue(), err.getvalue()))


@pytest.mark.parametrize("round_", range(2))
def test_racing_upgrades_leave_one_correct_schema(new_database, round_):
    url = new_database()
    barrier, results = _spawn.Barrier(4), _spawn.Queue()
    racers = [_spawn.Process(target=_upgrade_by_cli, args=(url, barrier, results))
              for _ in range(4)]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    assert [code for code, _, _ in outcomes] == [0] * 4, outcomes
    assert all(err == "" for _, _, err in outcomes), outcomes
    said = sorted("upgraded from an empty database" in out for out, *_ in
                  [(o, c, e) for c, o, e in outcomes])
    assert said == [False, False, False, True], outcomes  # one did it, three found it done
    engine = db.get_engine(url)
    assert schema.current_revision(url) == schema.head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
        command.check(schema.alembic_config(conn))  # exactly the models' schema
    expected = {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    assert set(sa.inspect(engine).get_table_names()) == expected


def _start_worker(url, journal_dir, barrier, results) -> None:
    from tracker.capture.recorder import RunRecorder

    barrier.wait()
    try:
        RunRecorder(url, journal_dir=journal_dir).check_schema()
        results.put("started")
    except SchemaError as exc:
        results.put(str(exc))


def test_workers_refuse_an_unmigrated_database_and_create_nothing(empty_url, journal_dir):
    barrier, results = _spawn.Barrier(4), _spawn.Queue()
    workers = [_spawn.Process(target=_start_worker, args=(empty_url, journal_dir, barrier,
                                                          results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    said = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert all("tracker db upgrade" in message for message in said), said
    assert sa.inspect(db.get_engine(empty_url)).get_table_names() == []
    assert not Path(journal_dir).exists() or journal_files(Path(journal_dir)) == []


class _Retries(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying after a transient" in record.getMessage():
            self.seen.append(record.getMessage())


@pytest.fixture
def retries():
    handler = _Retries()
    logger = logging.getLogger("tracker")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.seen
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_lock_held_a_little_too_long_is_retried_until_it_passes(url, retries):
    """SQLite "database is locked" / PostgreSQL lock timeout: retried, then written."""
    import threading

    from tracker import Repository

    repo = Repository(url, fail_fast=True)
    key = repo.start_run("retried")
    holder = db.get_engine(url).connect()
    transaction = holder.execution_options(tracker_write=True).begin()
    holder.execute(sa.update(runs).where(runs.c.key == key).values(name="holding"))
    release = threading.Timer(db.FAIL_FAST.lock_timeout * 1.5, transaction.rollback)
    release.start()
    try:
        repo.log_epoch(key, 0, {"loss": 0.5})
    finally:
        release.join()
        holder.close()
    assert retries, "the write should have failed once and been retried"
    assert [p.value for p in repo.history(key)] == [0.5]


def test_deadlocks_and_serialization_failures_are_retried(postgres, retries):
    """Real PostgreSQL errors 40P01 and 40001 inside run_in_transaction: retried, then done."""
    import threading

    url = postgres.create()
    engine = db.get_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
        conn.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    bump = sa.text("UPDATE pair SET n = n + 1 WHERE id = :id")
    attempts = []

    def deadlocking(conn):
        attempts.append(1)
        conn.execute(bump, {"id": 2})
        if len(attempts) == 1:  # the other transaction holds row 1 and will want row 2
            other = threading.Thread(target=lock_1_then_2)
            other.start()
            started.wait()
            conn.execute(bump, {"id": 1})  # waits for it, then the deadlock is ours to lose
            other.join()
        else:
            conn.execute(bump, {"id": 1})

    started = threading.Event()

    def lock_1_then_2():
        with engine.begin() as conn:
            conn.execute(bump, {"id": 1})
            started.set()
            import time as clock

            clock.sleep(0.2)  # let the first one wait on row 1 first: it detects the deadlock
            conn.execute(bump, {"id": 2})

    db.run_in_transaction(engine, deadlocking)
    assert len(attempts) == 2 and any("deadlock" in line for line in retries)

    attempts.clear()

    def serializable(conn):
        attempts.append(1)
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        conn.execute(sa.text("SELECT n FROM pair WHERE id = 1")).scalar()
        if len(attempts) == 1:  # someone else changes the row after our snapshot
            with engine.begin() as other:
                other.execute(bump, {"id": 1})
        conn.execute(bump, {"id": 1})

    db.run_in_transaction(engine, serializable)
    assert len(attempts) == 2 and any("serialize" in line for line in retries)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM pair ORDER BY id")).scalars().all() == [4, 2]


@pytest.mark.keras
@pytest.mark.parametrize("state", ["empty", "outdated"])
def test_the_callback_refuses_an_unmigrated_or_outdated_database(new_database, state,
                                                                  journal_dir):
    """Before training starts, whatever on_error says, and without creating anything."""
    pytest.importorskip("keras")
    from keras_helpers import make_data, make_model

    from tracker import TrackingCallback

    url = new_database()
    if state == "outdated":
        schema.upgrade(url, "0001")  # the first revision: behind whatever head is now
        if schema.head_revision() == "0001":
            pytest.skip("no revision after 0001 yet")
    before = set(sa.inspect(db.get_engine(url)).get_table_names())
    x, y = make_data(32)
    epochs = []
    for on_error in ("warn", "raise"):
        callback = TrackingCallback(url, experiment="refused", on_error=on_error)
        seen = keras_epoch_counter(epochs)
        with pytest.raises(SchemaError, match="tracker db upgrade"):
            make_model().fit(x, y, epochs=2, verbose=0, callbacks=[callback, seen])
    assert epochs == []  # refused before the first epoch
    db.dispose_engines()
    engine = db.get_engine(url)
    assert set(sa.inspect(engine).get_table_names()) == before
    if state == "outdated":
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar() == 0
    assert not Path(journal_dir).exists() or journal_files(Path(journal_dir)) == []


def keras_epoch_counter(into: list):
    import keras

    return keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: into.append(epoch))
