"""Upgrades keep data: a database built at the first revision (a committed SQLite file, and a
PostgreSQL database migrated to 0001 and filled) is upgraded to head with every row intact.
Meaningful from the second revision on; whatever head is, the rows of 0001 must survive."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracker import Repository
from tracker.store import db, schema

ASSETS = Path(__file__).parents[1] / "support" / "assets"
sys.path.insert(0, str(ASSETS))
from make_0001_db import ROWS, fill  # noqa: E402
from test_run_metrics import recomputed as summary_recomputed  # noqa: E402
from test_run_metrics import stored as summary_stored  # noqa: E402

FIRST = "0001"


@pytest.fixture
def database_at_first_revision(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        path = tmp_path / "old.db"
        shutil.copy(ASSETS / "tracker-0001.db", path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres").create()
    schema.upgrade(url, FIRST)
    fill(url)
    db.dispose_engines()
    return url


def dump(url: str) -> dict[str, list[dict]]:
    """The rows of the tables of revision 0001, in the columns of revision 0001, reflected
    from the database (not from today's models)."""
    engine = sa.create_engine(db.resolve_url(url))
    metadata = sa.MetaData()
    metadata.reflect(engine, only=list(ROWS))
    result = {}
    with engine.connect() as conn:
        for name, rows in ROWS.items():
            table = metadata.tables[name]
            columns = [table.c[column] for column in rows[0]]
            ordered = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns))
            result[name] = [dict(row._mapping) for row in ordered]
    engine.dispose()
    return result


def comparable(rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Datetimes as naive UTC (SQLite keeps no zone), rows in a canonical order."""
    def plain(value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value

    return {
        name: sorted(({k: plain(v) for k, v in row.items()} for row in table), key=repr)
        for name, table in rows.items()
    }


def test_every_row_survives_the_upgrade_to_head(database_at_first_revision, backend):
    url = database_at_first_revision
    assert schema.current_revision(url) == FIRST
    before = dump(url)
    assert comparable(before) == comparable(ROWS)  # the asset is what we think

    schema.upgrade(url)
    assert schema.current_revision(url) == schema.head_revision() == schema.SCHEMA_REVISION
    assert dump(url) == before
    # Tables derived by later revisions are filled from the old rows (0003: run_metrics).
    assert summary_stored(url) == summary_recomputed(url) != {}

    # And today's code reads the old rows as what they were.
    repo = Repository(url, stale_after=3600)
    runs = {run.id: run for run in repo.runs()}
    assert [runs[i].status for i in (1, 2, 3, 4)] == ["completed", "failed", "stale", "invalid"]
    assert runs[1].hyperparameters == {
        "batch_size": 32, "learning_rate": 0.001, "use_bn": True, "optimizer": "adam",
        "layers": [64, 32], "dropout_if_deep": None,
    }
    assert type(runs[1].hyperparameters["batch_size"]) is int
    assert runs[2].hyperparameters["batch_size"] == 2**40
    assert math.isnan(runs[2].hyperparameters["learning_rate"])
    assert runs[3].hyperparameters == {"größe": "'; DROP TABLE runs; --", "momentum": math.inf}
    assert runs[3].experiment == "ünïcode 実験 'quoted'; --"
    assert runs[2].error.endswith("OOM: ∞") and runs[1].score == 0.9375
    losses = [p.value for p in repo.history(2, "loss")]
    assert losses[0] == 1.7976931348623157e308 and losses[1] == math.inf and math.isnan(losses[2])
    assert [p.value for p in repo.history(2, "val_accuracy")] == [-0.25, -math.inf]
    assert [p.value for p in repo.history(1, "loss")] == [0.693147180559945, 5e-324]
    assert repo.best_by("batch_size", "val_accuracy")[0].value == 0.9375

    # And writing into an upgraded database works.
    repo.log_epoch(ROWS["runs"][2]["key"], 1, {"métrique": 2.0})
    repo.finish_run(ROWS["runs"][2]["key"])
    assert repo.run(3).status == "completed"
