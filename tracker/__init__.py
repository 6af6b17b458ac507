"""sweep-tracker: every trial of a Keras / keras-tuner search in a real SQL database.

>>> from tracker import Repository
>>> repo = Repository("sqlite:///tracker.db")            # doctest: +SKIP
>>> repo.best_by("batch_size", "val_accuracy")           # doctest: +SKIP

``TrackingCallback`` and ``track`` import Keras, so they are loaded only when first used;
``Repository`` imports SQLAlchemy, so it is too (``tracker --help`` starts without it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DatabaseError, NotFoundError, SchemaError, TrackerError, TrackingWarning
from .records import (
    BatchPoint,
    ExperimentInfo,
    GroupBest,
    MetricPoint,
    RankedRun,
    RunInfo,
    TrialSummary,
)

if TYPE_CHECKING:
    from .callback import TrackingCallback
    from .repository import Repository
    from .tuner import track

__version__ = "0.1.0"

__all__ = [
    "BatchPoint",
    "DatabaseError",
    "ExperimentInfo",
    "GroupBest",
    "MetricPoint",
    "NotFoundError",
    "RankedRun",
    "Repository",
    "RunInfo",
    "SchemaError",
    "TrackerError",
    "TrackingCallback",
    "TrackingWarning",
    "TrialSummary",
    "track",
]


def __getattr__(name: str):
    if name == "Repository":
        from .repository import Repository

        return Repository
    if name == "TrackingCallback":
        from .callback import TrackingCallback

        return TrackingCallback
    if name == "track":
        from .tuner import track

        return track
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
