"""A database that does not answer never slows training (issue 11, item 5): a PostgreSQL host
that accepts connections and never replies, or a SQLite file another process keeps locked,
costs each `fit` well under half a second, said once; the records wait (journal) and are
written once the database answers."""

from __future__ import annotations

import statistics
import time
import warnings

import pytest

keras = pytest.importorskip("keras")

from keras_helpers import make_data, make_model  # noqa: E402
from outage_helpers import SqliteLocked  # noqa: E402
from silent_server import SilentServer  # noqa: E402

from tracker import Repository, TrackingCallback, TrackingWarning  # noqa: E402

pytestmark = [pytest.mark.keras]

FITS, EPOCHS = 3, 2


@pytest.fixture
def hanging(backend, url):
    """(url of a database that does not answer, a function that makes it answer or None)."""
    if backend == "postgresql":
        server = SilentServer()
        yield server.url, None
        server.close()
    else:
        locked = SqliteLocked(url)
        locked.down()
        yield url, locked.up
        locked.up()


def timed_fit(model, x, y, callbacks=()) -> float:
    started = time.monotonic()
    model.fit(x, y, epochs=EPOCHS, batch_size=64, verbose=0, callbacks=list(callbacks))
    return time.monotonic() - started


def test_an_unresponsive_database_costs_a_fit_well_under_half_a_second(hanging, backend):
    url, answer = hanging
    x, y = make_data()
    model = make_model()
    timed_fit(model, x, y)  # compiles the training step
    callbacks = [TrackingCallback(url, experiment="hang") for _ in range(FITS)]
    costs, baselines = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for cb in callbacks:  # each tracked fit against an untracked one just before it
            baselines.append(timed_fit(model, x, y))
            costs.append(timed_fit(model, x, y, [cb]) - baselines[-1])
    said = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    # Today's code: 3 to 6 s a fit. The bound is well under 0.5 s (the benchmark measures
    # it: `python -m benchmarks --only unresponsive`); on a shared machine one fit may take
    # a few tenths longer than its twin, hence the margin on the worst one.
    detail = f"per-fit cost {costs} s (untracked fits {baselines} s)"
    assert statistics.median(costs) < 0.5 and max(costs) < 1.0, detail
    assert len(said) <= 1, said  # said once
    if backend == "postgresql":
        assert len(said) == 1 and "did not answer within" in said[0]
    outbox = callbacks[0]._recorder.outbox
    assert outbox.pending == FITS * (EPOCHS + 2)  # start, epochs, end: all kept
    if answer is None:
        outbox.close(timeout=0.1)
        return
    answer()
    assert outbox.flush(timeout=60)
    runs = Repository(url).runs("hang")
    assert [r.status for r in runs] == ["completed"] * FITS  # written vs found: 3/3 runs
    assert sum(len(Repository(url).history(r.id)) for r in runs) == FITS * EPOCHS * 2
