"""Revision 0004 (curation: tags, notes, soft delete, aliases, audit): up from 0003 keeping
every row of every table, on both backends, and back down."""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa

from tracker import Repository
from tracker.store import db, schema

ASSETS = Path(__file__).parents[1] / "support" / "assets"
sys.path.insert(0, str(ASSETS))
from make_0001_db import fill  # noqa: E402

BEFORE = "0003"
NEW_TABLES = {"run_tags", "experiment_tags", "experiment_aliases", "audit_log", "purged_runs"}


def _dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table but alembic_version, in the columns the table has now,
    reflected from the database (not from today's models)."""
    engine = sa.create_engine(db.resolve_url(url))
    metadata = sa.MetaData()
    metadata.reflect(engine)
    found = {}
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            if name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.c)
            found[name] = [tuple(row._mapping.items())
                           for row in conn.execute(sa.select(table).order_by(*order))]
    engine.dispose()
    return found


def test_upgrade_from_0003_keeps_every_row_and_downgrade_removes_0004(empty_url):
    schema.upgrade(empty_url, "0001")
    fill(empty_url)
    schema.upgrade(empty_url, BEFORE)
    db.dispose_engines()
    before = _dump(empty_url)
    assert sum(len(rows) for rows in before.values()) > 20  # run_metrics filled by 0003 too

    assert schema.upgrade(empty_url, "0004") == (BEFORE, "0004")
    after = _dump(empty_url)
    assert set(after) == set(before) | NEW_TABLES
    assert all(after[name] == [] for name in NEW_TABLES)
    for name, rows in before.items():
        added = {"note", "deleted_at"} if name in ("runs", "experiments") else set()
        assert [tuple(c for c in row if c[0] not in added) for row in after[name]] == rows, name
        assert all(dict(row).get(column) is None for row in after[name] for column in added)

    # Today's code (at the head, past 0004) reads and curates the upgraded rows.
    schema.upgrade(empty_url)
    repo = Repository(empty_url, stale_after=3600)
    ids = [run.id for run in repo.runs()]
    assert ids == [1, 2, 3, 4]
    repo.tag(1, stage="shipped")
    assert [r.id for r in repo.runs(where="tags.stage == 'shipped'")] == [1]
    assert repo.delete_runs([2]).runs == 1
    assert [run.id for run in repo.runs()] == [1, 3, 4]

    assert schema.downgrade(empty_url, BEFORE) == (schema.SCHEMA_REVISION, BEFORE)
    db.dispose_engines()
    assert _dump(empty_url) == before  # the deleted run is back, untouched
