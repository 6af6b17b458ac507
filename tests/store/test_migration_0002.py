"""Revision 0002 (batch_metrics, best-value index): up from 0001 with data, and back down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tracker import Repository, UnknownNameError
from tracker.store import db, schema


def _indexes(url: str, table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(db.get_engine(url)).get_indexes(table)}


def test_upgrade_from_0001_keeps_data_and_downgrade_removes_0002(empty_url):
    schema.upgrade(empty_url, "0001")
    engine = db.get_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO experiments (id, name, created_at) VALUES (1, 'old', :t)"
        ), {"t": "2026-01-01 00:00:00"})
        conn.execute(sa.text(
            "INSERT INTO runs (id, key, experiment_id, execution, attempt, status, started_at) "
            "VALUES (1, 'k-old', 1, 0, 0, 'completed', :t)"
        ), {"t": "2026-01-01 00:00:00"})
        conn.execute(sa.text(
            "INSERT INTO epoch_metrics (run_id, name, epoch, value, value_kind) "
            "VALUES (1, 'val_accuracy', 0, 0.5, 0), (1, 'val_accuracy', 1, NULL, 1)"
        ))
    assert "batch_metrics" not in sa.inspect(engine).get_table_names()

    assert schema.upgrade(empty_url) == ("0001", schema.SCHEMA_REVISION)
    assert "batch_metrics" in sa.inspect(db.get_engine(empty_url)).get_table_names()
    assert "ix_epoch_metrics_run_id_name_value" in _indexes(empty_url, "epoch_metrics")
    repo = Repository(empty_url)
    values = [p.value for p in repo.history("k-old")]
    assert values[0] == 0.5 and values[1] != values[1]  # NaN survives
    with pytest.raises(UnknownNameError, match="status_unused"):  # names are checked
        repo.best_by("status_unused", "val_accuracy")
    assert repo.top_runs("val_accuracy", 1)[0].value == 0.5

    assert schema.downgrade(empty_url, "0001") == (schema.SCHEMA_REVISION, "0001")
    db.dispose_engines()
    assert "batch_metrics" not in sa.inspect(db.get_engine(empty_url)).get_table_names()
    assert "ix_epoch_metrics_run_id_name_value" not in _indexes(empty_url, "epoch_metrics")
    with db.get_engine(empty_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM epoch_metrics")).scalar() == 2
