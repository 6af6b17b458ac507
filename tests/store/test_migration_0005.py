"""Revision 0005 (``pruned`` status, pruning columns, ``epoch_bests``): an upgrade from 0003
keeps every row of every table on both backends, fills ``epoch_bests`` from the old epochs,
and the downgrade gives back the 0003 schema with the rows."""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa

from tracker import Repository
from tracker.store import db, schema

sys.path.insert(0, str(Path(__file__).parents[1] / "support" / "assets"))
from make_0001_db import fill
from test_epoch_bests import recomputed, stored

BEFORE = "0003"


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in the columns the database has now (reflected)."""
    engine = sa.create_engine(db.resolve_url(url))
    metadata = sa.MetaData()
    metadata.reflect(engine)
    result = {}
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            ordered = conn.execute(sa.select(table).order_by(*table.columns))
            result[name] = [dict(row._mapping) for row in ordered]
    engine.dispose()
    return result


def test_upgrade_from_0003_keeps_every_row_and_downgrade_too(empty_url):
    schema.upgrade(empty_url, "0001")
    fill(empty_url)  # every status, NaN and inf, non-ASCII text
    schema.upgrade(empty_url, BEFORE)
    db.dispose_engines()
    before = dump(empty_url)
    assert before["runs"] and before["epoch_metrics"] and before["run_metrics"]

    assert schema.upgrade(empty_url) == (BEFORE, schema.SCHEMA_REVISION)
    after = dump(empty_url)
    for name, rows in before.items():
        if name == "alembic_version":
            continue
        kept = [{column: row[column] for column in rows[0]} for row in after[name]] if rows else []
        assert kept == rows, name
    assert {r["pruned_epoch"] for r in after["runs"]} == {None}
    assert stored(empty_url) == recomputed(empty_url) != {}

    repo = Repository(empty_url)
    key = before["runs"][0]["key"]
    repo.record_pruning(key, 3, 0.5)
    repo.finish_run(key, "pruned")
    assert repo.run(key).status == "pruned"

    db.dispose_engines()
    assert schema.downgrade(empty_url, BEFORE) == (schema.SCHEMA_REVISION, BEFORE)
    down = dump(empty_url)
    assert "epoch_bests" not in down and "pruned_epoch" not in down["runs"][0]
    assert down["runs"][0]["status"] == "completed"  # what the old schema can hold
    for name, rows in before.items():
        if name not in ("alembic_version", "runs"):
            assert down[name] == rows, name
    assert [r["key"] for r in down["runs"]] == [r["key"] for r in before["runs"]]
