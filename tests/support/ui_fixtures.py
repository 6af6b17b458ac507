"""A database for the dashboard's tests, once per backend and module: a real tiny Keras sweep
recorded by ``model.fit`` (``keras-sweep``), a tiny real keras-tuner search with two executions
per trial (``tuner-sweep``), the synthetic 100-run sweep with diverged runs (``synthetic``),
and a run whose name is hostile HTML (``hostile``)."""

from __future__ import annotations

import pytest

from tracker import Repository
from tracker.store import db, schema

TUNER_EXPERIMENT = "tuner-sweep"
HOSTILE_EXPERIMENT = "hostile"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


class Client:
    """A synchronous client of an ASGI app through httpx's ASGI transport (no server)."""

    def __init__(self, app, base_url: str = "http://127.0.0.1") -> None:
        self.app, self.base_url = app, base_url

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, **kwargs):
        import anyio
        import httpx

        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as c:
                return await c.request(method, path, **kwargs)

        return anyio.run(go)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ui_url(request, tmp_path_factory) -> str:
    from analysis_fixtures import record_keras_sweep, record_synthetic_sweep

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    record_keras_sweep(url)
    record_tuner_search(url, tmp_path_factory.mktemp("tuner"))
    repo = Repository(url)
    record_synthetic_sweep(repo, runs=30, epochs=9)
    record_hostile_run(repo)
    yield url
    db.dispose_engines()


def record_tuner_search(url: str, directory) -> None:
    """Three trials of two executions each, two epochs each: keras-tuner through ``track``."""
    import keras_tuner as kt
    from keras_helpers import make_data
    from tuner_helpers import TinyHyperModel

    from tracker import track

    x, y = make_data(n=96)
    tuner = track(kt.RandomSearch(TinyHyperModel(), objective="val_accuracy", max_trials=3,
                                  executions_per_trial=2, directory=str(directory),
                                  project_name="ui", seed=1), url,
                  experiment=TUNER_EXPERIMENT)
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)


def record_hostile_run(repo: Repository) -> None:
    """A finished run and a failed one whose name, hyperparameter and error are HTML."""
    key = repo.start_run(HOSTILE_EXPERIMENT, name=HOSTILE_NAME,
                         hyperparameters={"note": HOSTILE_NAME, "lr": 0.1})
    repo.log_epochs(key, {0: {"loss": 1.0}, 1: {"loss": 0.5}})
    repo.finish_run(key)
    key = repo.start_run(HOSTILE_EXPERIMENT, name="<script>alert(2)</script>",
                         hyperparameters={"note": "<b>bold</b>", "lr": 0.2})
    repo.log_epochs(key, {0: {"loss": 2.0}})
    repo.finish_run(key, "failed", error="<img src=y onerror=alert(3)>")
