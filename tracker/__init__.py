"""sweep-tracker: every trial of a Keras / keras-tuner search in a real SQL database.

>>> from tracker import Repository
>>> repo = Repository("sqlite:///tracker.db")            # doctest: +SKIP
>>> repo.best_by("batch_size", "val_accuracy")           # doctest: +SKIP

``TrackingCallback`` and ``track`` import Keras, so they are loaded only when first used;
``Repository`` imports SQLAlchemy, so it is too (``tracker --help`` starts without it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _moved
from ._version import __version__ as __version__
from .errors import (
    DatabaseError,
    FilterError,
    NotFoundError,
    SchemaError,
    TrackerError,
    TrackingWarning,
    UnknownNameError,
)
from .store.records import (
    BatchPoint,
    ExperimentInfo,
    GroupBest,
    Importance,
    MetricPoint,
    RankedRun,
    RecordedNames,
    RunInfo,
    TrialSummary,
)

if TYPE_CHECKING:
    from .repository import Repository
    from .training.callback import TrackingCallback
    from .training.tuner import track


_moved.install()  # tracker.db, tracker.callback, ... keep working: see tracker/_moved.py

__all__ = [
    "BatchPoint",
    "DatabaseError",
    "ExperimentInfo",
    "FilterError",
    "GroupBest",
    "Importance",
    "MetricPoint",
    "NotFoundError",
    "RankedRun",
    "RecordedNames",
    "Repository",
    "RunInfo",
    "SchemaError",
    "TrackerError",
    "TrackingCallback",
    "TrackingWarning",
    "TrialSummary",
    "UnknownNameError",
    "track",
]


def __getattr__(name: str):
    if name == "Repository":
        from .repository import Repository

        return Repository
    if name == "TrackingCallback":
        from .training.callback import TrackingCallback

        return TrackingCallback
    if name == "track":
        from .training.tuner import track

        return track
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
