"""The library's own exceptions. Every message is safe to print: URLs in it are masked."""

from __future__ import annotations


class TrackerError(Exception):
    """Base class of every error sweep-tracker raises on purpose."""


class SchemaError(TrackerError):
    """The database is not migrated, or is at another revision than this version expects."""


class DatabaseError(TrackerError):
    """The database refused or failed an operation (unreachable, locked too long, ...)."""


class NotFoundError(TrackerError, LookupError):
    """A run or experiment that was asked for does not exist."""


class UnknownNameError(NotFoundError):
    """A metric or hyperparameter name that the experiment (or database) never recorded.

    ``known`` lists the names that were recorded (so a message, a CLI or a web page can offer
    them), ``experiment`` names where they were looked for (None: every experiment).
    """

    def __init__(
        self, message: str, *, known: tuple[str, ...] = (), experiment: str | None = None
    ) -> None:
        super().__init__(message)
        self.known = tuple(known)
        self.experiment = experiment


class DirectionError(TrackerError, ValueError):
    """Whether a metric is better high or low could not be decided."""


class TrackingWarning(UserWarning):
    """Something was not recorded, or not recorded yet; training goes on."""
