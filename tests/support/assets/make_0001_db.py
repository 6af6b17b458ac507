"""Builds ``tests/support/assets/tracker-0001.db``: a SQLite database at schema revision 0001
holding representative rows (every run status, typed hyperparameters of every kind, NaN and +/-inf
metrics, non-ASCII text), for the test that upgrades old databases and checks every row.

    python tests/support/assets/make_0001_db.py      # rewrites the asset; commit the result

``fill(url)`` writes the same rows into any database at revision 0001 (the PostgreSQL half of
the test builds one with ``schema.upgrade(url, "0001")``). Rows go in through tables reflected
from the database itself, never through ``tracker.store.models``: they must fit revision 0001
whatever the models become.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import sqlalchemy as sa

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=UTC)
ASSET = Path(__file__).with_name("tracker-0001.db")


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


ROWS: dict[str, list[dict]] = {
    "experiments": [
        {"id": 1, "name": "mnist", "objective": "val_accuracy", "direction": "max",
         "created_at": at(0)},
        {"id": 2, "name": "ünïcode 実験 'quoted'; --", "objective": None, "direction": None,
         "created_at": at(1)},
    ],
    "runs": [
        {"id": 1, "key": "00000000-0000-4000-8000-000000000001", "experiment_id": 1,
         "name": "trial-0", "trial_id": "00", "execution": 0, "attempt": 0, "worker": "tuner0",
         "status": "completed", "error": None, "score": 0.9375, "source": "keras-tuner",
         "history_complete": True, "started_at": at(2), "ended_at": at(5),
         "heartbeat_at": at(5)},
        {"id": 2, "key": "00000000-0000-4000-8000-000000000002", "experiment_id": 1,
         "name": None, "trial_id": "01", "execution": 1, "attempt": 2, "worker": None,
         "status": "failed", "error": "Traceback (most recent call last):\n  ...\nOOM: ∞",
         "score": None, "source": "callback", "history_complete": True,
         "started_at": at(6), "ended_at": at(7), "heartbeat_at": at(7)},
        {"id": 3, "key": "00000000-0000-4000-8000-000000000003", "experiment_id": 2,
         "name": "still running", "trial_id": None, "execution": 0, "attempt": 0,
         "worker": "gpu-7", "status": "running", "error": None, "score": None,
         "source": "keras-tuner-import", "history_complete": False, "started_at": at(8),
         "ended_at": None, "heartbeat_at": at(9)},
        {"id": 4, "key": "00000000-0000-4000-8000-000000000004", "experiment_id": 2,
         "name": None, "trial_id": None, "execution": 0, "attempt": 0, "worker": None,
         "status": "invalid", "error": None, "score": None, "source": None,
         "history_complete": True, "started_at": at(10), "ended_at": at(11),
         "heartbeat_at": None},
    ],
    "hyperparameters": [
        {"run_id": 1, "name": "batch_size", "kind": "int", "num_value": 32.0, "text_value": "32"},
        {"run_id": 1, "name": "learning_rate", "kind": "float", "num_value": 0.001,
         "text_value": "0.001"},
        {"run_id": 1, "name": "use_bn", "kind": "bool", "num_value": 1.0, "text_value": "true"},
        {"run_id": 1, "name": "optimizer", "kind": "str", "num_value": None,
         "text_value": "adam"},
        {"run_id": 1, "name": "layers", "kind": "json", "num_value": None,
         "text_value": "[64, 32]"},
        {"run_id": 1, "name": "dropout_if_deep", "kind": "none", "num_value": None,
         "text_value": None},
        {"run_id": 2, "name": "batch_size", "kind": "int", "num_value": 1099511627776.0,
         "text_value": "1099511627776"},
        {"run_id": 2, "name": "learning_rate", "kind": "float", "num_value": None,
         "text_value": "nan"},
        {"run_id": 2, "name": "use_bn", "kind": "bool", "num_value": 0.0, "text_value": "false"},
        {"run_id": 3, "name": "größe", "kind": "str", "num_value": None,
         "text_value": "'; DROP TABLE runs; --"},
        {"run_id": 3, "name": "momentum", "kind": "float", "num_value": None,
         "text_value": "inf"},
    ],
    "epoch_metrics": [
        {"run_id": 1, "name": "val_accuracy", "epoch": 0, "value": 0.5, "value_kind": 0},
        {"run_id": 1, "name": "val_accuracy", "epoch": 1, "value": 0.9375, "value_kind": 0},
        {"run_id": 1, "name": "loss", "epoch": 0, "value": 0.693147180559945, "value_kind": 0},
        {"run_id": 1, "name": "loss", "epoch": 1, "value": 5e-324, "value_kind": 0},
        {"run_id": 2, "name": "loss", "epoch": 0, "value": 1.7976931348623157e308,
         "value_kind": 0},
        {"run_id": 2, "name": "loss", "epoch": 1, "value": None, "value_kind": 2},
        {"run_id": 2, "name": "loss", "epoch": 2, "value": None, "value_kind": 1},
        {"run_id": 2, "name": "val_accuracy", "epoch": 0, "value": -0.25, "value_kind": 0},
        {"run_id": 2, "name": "val_accuracy", "epoch": 1, "value": None, "value_kind": 3},
        {"run_id": 3, "name": "métrique", "epoch": 0, "value": 1e-12, "value_kind": 0},
    ],
}


def fill(url: str) -> None:
    """Write ``ROWS`` into the database at ``url`` (at revision 0001)."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine, only=list(ROWS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        for name, rows in ROWS.items():  # parents first
            if sqlite:  # the schema stores naive UTC there (tracker.models.UTCDateTime)
                rows = [{k: _naive(v) for k, v in row.items()} for row in rows]
            conn.execute(metadata.tables[name].insert(), rows)
    engine.dispose()


def _naive(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def main() -> None:
    from tracker.store import db, schema

    ASSET.unlink(missing_ok=True)
    url = f"sqlite:///{ASSET}"
    schema.upgrade(url, "0001")
    db.dispose_engines()
    fill(url)
    # One self-contained file: back from WAL to a rollback journal, and compacted.
    conn = sqlite3.connect(ASSET)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("VACUUM")
    conn.close()
    print(f"wrote {ASSET} ({ASSET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
