"""Through PgBouncer in transaction pooling mode (each transaction may run on another server
connection): racing `tracker db upgrade`, 16 worker processes writing epochs (the one-statement
write, the journaled background writer, COPY and its replay) with every row landing once on
fewer server connections than workers, reads equal to the direct ones, and lock timeouts in
force (whether PgBouncer refuses or drops the startup parameter that sets them straight to
PostgreSQL) without a session setting leaking into other clients' transactions.

PostgreSQL only: PgBouncer pools PostgreSQL connections (the SQLite side of each feature is
tested in the module of that feature)."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import sqlalchemy as sa
from alembic import command
from pgbouncer import POOL_SIZE, Bouncer

from tracker import DatabaseError, Repository
from tracker.store import db, schema
from tracker.store.models import Base
from tracker.store.writes import batch_metrics, epoch_metrics, runs

_spawn = multiprocessing.get_context("forkserver")
_spawn.set_forkserver_preload(["tracker.cli", "tracker.capture.recorder", "sqlalchemy"])

WORKERS, RUNS, EPOCHS, METRICS, BATCHES = 16, 3, 10, 4, 100


def value(worker: int, run: int, epoch: int, metric: int) -> float:
    return worker * 1000 + run + epoch / 100 + metric / 10_000


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


def test_racing_upgrades_through_pgbouncer_migrate_once(postgres, pgbouncer):
    direct = postgres.create()
    url = pgbouncer.url(direct)
    barrier, results = _spawn.Barrier(4), _spawn.Queue()
    racers = [_spawn.Process(target=_upgrade_by_cli, args=(url, barrier, results))
              for _ in range(4)]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    assert [(code, err) for code, _, err in outcomes] == [(0, "")] * 4, outcomes
    did = sorted("upgraded from an empty database" in out for _, out, _ in outcomes)
    assert did == [False, False, False, True], outcomes  # one migrated, three found it done
    assert schema.current_revision(direct) == schema.SCHEMA_REVISION
    with db.get_engine(direct).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
        command.check(schema.alembic_config(conn))  # exactly the models' schema
    expected = {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    assert set(sa.inspect(db.get_engine(direct)).get_table_names()) == expected
    # The whole chain, down and up again, through the pooler.
    assert schema.downgrade(url, "base") == (schema.SCHEMA_REVISION, None)
    assert set(sa.inspect(db.get_engine(direct)).get_table_names()) == {"alembic_version"}
    assert schema.upgrade(url) == (None, schema.SCHEMA_REVISION)


def _worker(url, journal_dir, worker, barrier, results) -> None:
    """Even workers write synchronously (``Repository``: the one-statement epoch write), odd
    ones as the callback does (``RunRecorder``: journal, background writer). Each also writes
    per-batch rows by COPY, then the same rows again with new values (a replay: the upsert)."""
    import warnings

    from tracker import Repository
    from tracker.capture.recorder import RunRecorder

    error, drained = None, True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            repo = Repository(url)
            writer = repo if worker % 2 == 0 else RunRecorder(url, journal_dir=journal_dir)
            barrier.wait()
            for run in range(RUNS):
                key = writer.start_run("pooled", hyperparameters={"worker": worker, "run": run})
                for epoch in range(EPOCHS):
                    metrics = {f"m{i}": value(worker, run, epoch, i) for i in range(METRICS)}
                    writer.log_epoch(key, epoch, metrics)
                writer.finish_run(key)
            if writer is not repo:
                drained = writer.flush(timeout=300)
            batches = [(key, step, 0, "loss", float(step)) for step in range(BATCHES)]
            assert repo.bulk_log_batches(batches) == BATCHES
            replay = [(key, step, 0, "loss", value(worker, 0, step, 0)) for step in range(BATCHES)]
            assert repo.bulk_log_batches(replay) == BATCHES
        except BaseException as exc:  # reported to the parent, which fails the test
            error = repr(exc)
    results.put((worker, error, [str(w.message) for w in caught], drained))


@pytest.mark.slow
def test_sixteen_workers_through_pgbouncer_write_every_row_once(
    pooled_url, postgres_migrated, journal_dir
):
    db.dispose_engines()  # so that every server connection to the database is PgBouncer's
    barrier, results = _spawn.Barrier(WORKERS), _spawn.Queue()
    workers = [_spawn.Process(target=_worker, args=(pooled_url, journal_dir, w, barrier, results))
               for w in range(WORKERS)]
    for worker in workers:
        worker.start()
    reports, most = [], 0
    database = sa.engine.make_url(postgres_migrated).database
    watcher = sa.create_engine(db.resolve_url(postgres_migrated), poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + 600
    while len(reports) < WORKERS and time.monotonic() < deadline:
        with watcher.connect() as conn:  # server connections to the database, but this one
            most = max(most, conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> "
                "pg_backend_pid() AND backend_type = 'client backend'"),
                {"d": database}).scalar())
        while not results.empty():
            reports.append(results.get())
        time.sleep(0.05)
    for worker in workers:
        worker.join(timeout=60)
    watcher.dispose()
    assert len(reports) == WORKERS, f"{WORKERS - len(reports)} workers never reported"
    for worker, error, warned, drained in reports:
        assert error is None, f"worker {worker}: {error}"
        assert warned == [], f"worker {worker} was warned: {warned[:3]}"
        assert drained, f"worker {worker} still had records pending"
    assert 0 < most <= POOL_SIZE, most  # 16 workers, up to 32 client connections

    with db.get_engine(postgres_migrated).connect() as conn:
        who = {run_id: (int(w), int(r)) for run_id, w, r in conn.execute(sa.text(
            "SELECT run_id, max(num_value) FILTER (WHERE name = 'worker'), "
            "max(num_value) FILTER (WHERE name = 'run') FROM hyperparameters GROUP BY run_id"))}
        statuses = conn.execute(sa.select(runs.c.status)).scalars().all()
        epochs = conn.execute(sa.select(epoch_metrics.c.run_id, epoch_metrics.c.epoch,
                                        epoch_metrics.c.name, epoch_metrics.c.value)).all()
        batches = conn.execute(sa.select(batch_metrics.c.run_id, batch_metrics.c.step,
                                         batch_metrics.c.value)).all()
    assert sorted(who.values()) == [(w, r) for w in range(WORKERS) for r in range(RUNS)]
    assert statuses == ["completed"] * WORKERS * RUNS
    assert len(epochs) == WORKERS * RUNS * EPOCHS * METRICS
    assert len({(r, e, n) for r, e, n, _ in epochs}) == len(epochs)
    for run_id, epoch, name, stored in epochs:
        assert stored == value(*who[run_id], epoch, int(name[1:]))
    assert len(batches) == WORKERS * BATCHES
    for run_id, step, stored in batches:
        worker, run = who[run_id]
        assert run == RUNS - 1 and stored == value(worker, 0, step, 0)
    print(f"\n{WORKERS} workers through PgBouncer: {len(epochs)} epoch rows, {len(batches)} "
          f"batch rows, each once, on at most {most} server connections")


def test_reads_through_pgbouncer_equal_the_direct_ones(pooled_url, postgres_migrated):
    pytest.importorskip("pandas")
    from tracker import Repository as Facade

    writer = Repository(pooled_url)
    for run in range(6):
        key = writer.start_run("reads", hyperparameters={"bs": [16, 32][run % 2], "lr": run / 10},
                               objective="val_acc", direction="max")
        writer.log_epochs(key, {e: {"val_acc": run / 10 + e / 100, "loss": 1 - e / 10}
                                for e in range(20)})
        writer.finish_run(key, score=run / 10 + 0.19)
    pooled, direct = Facade(pooled_url), Facade(postgres_migrated)
    for read in (
        lambda r: r.runs("reads"),
        lambda r: r.runs("reads", where="bs == 32 and lr > 0.1"),
        lambda r: r.best_by("bs", "val_acc", experiment="reads"),
        lambda r: r.top_runs("val_acc", k=3, experiment="reads"),
        lambda r: r.history(r.runs("reads")[0].key),
        lambda r: r.names("reads"),
        lambda r: r.trials("reads"),
        lambda r: r.to_dataframe("reads").to_dict("list"),  # binary COPY out on PostgreSQL
        lambda r: r.to_dataframe("reads", kind="epochs").to_dict("list"),
        lambda r: [c.to_dict("list") for c in r.iter_epochs("reads", chunk_rows=50)],
    ):
        assert read(pooled) == read(direct)
    assert len(pooled.to_dataframe("reads", kind="epochs")) == 6 * 20 * 2


@pytest.fixture(params=["refused", "ignored"])
def lock_url(request, pgbouncer, pooled_url, postgres_migrated):
    """``pooled_url``, through a PgBouncer that refuses the ``options`` startup parameter (its
    default) or one that drops it (``ignore_startup_parameters = options``)."""
    if request.param == "refused":
        yield pooled_url
        return
    dropping = Bouncer(pgbouncer.binary, postgres_migrated,
                       settings={"ignore_startup_parameters": "options"})
    dropping.start()
    yield dropping.url(postgres_migrated)
    db.dispose_engines()
    dropping.remove()


def test_lock_timeouts_hold_through_pgbouncer_and_never_leak(lock_url, postgres_migrated):
    """A write waiting on a lock gives up after the training side's lock timeout (1 s) although
    the pooler refuses, or drops, the startup parameter that sets it; no session setting is
    left on the shared server connections."""
    key = Repository(lock_url).start_run("locks")
    holder = sa.create_engine(db.resolve_url(postgres_migrated), poolclass=sa.pool.NullPool)
    with holder.connect() as conn:
        # A broken timeout fails the test after 20 s instead of hanging it: the server ends the
        # holder's idle transaction, and its lock with it.
        conn.execute(sa.select(sa.func.set_config(
            "idle_in_transaction_session_timeout", "20s", True)))
        conn.execute(sa.select(runs.c.id).where(runs.c.key == key).with_for_update())
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="lock timeout"):
            Repository(lock_url, fail_fast=True).heartbeat(key)
        waited = time.monotonic() - started
        conn.rollback()
    holder.dispose()
    assert 2.5 < waited < 10, waited  # three attempts of 1 s, then the error
    # Every server connection of the pool, each held by a transaction of its own.
    [server_default] = _lock_timeouts(postgres_migrated, 1)
    assert _lock_timeouts(lock_url, POOL_SIZE) == [server_default] * POOL_SIZE


def _lock_timeouts(url: str, connections: int) -> list[str]:
    """``SHOW lock_timeout`` on ``connections`` connections at once, none of ours."""
    engine = sa.create_engine(db.resolve_url(url), poolclass=sa.pool.NullPool)
    held = [engine.connect() for _ in range(connections)]
    try:
        return [conn.execute(sa.text("SHOW lock_timeout")).scalar() for conn in held]
    finally:
        for conn in held:
            conn.close()
        engine.dispose()


def test_straight_to_postgresql_the_timeout_comes_with_the_login(postgres_migrated):
    """No pooler: the lock timeout is a startup parameter, in force in autocommit too, and no
    transaction pays a round trip for it."""
    engine = db.get_engine(postgres_migrated, db.FAIL_FAST)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda _c, _cur, statement, *_: statements.append(statement))
    with db.transaction(engine, single_statement=True) as conn:
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "1s"
    with db.transaction(engine) as conn:
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "1s"
    assert not any("set_config" in statement for statement in statements), statements
