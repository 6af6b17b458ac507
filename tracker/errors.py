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


class FilterError(TrackerError, ValueError):
    """A filter expression (``where=``, ``--where``) that cannot be used: a syntax error, an
    unsupported construct, or a comparison of incompatible values (text with a number).

    ``expression`` is the filter's text, ``position`` the ``(start, end)`` character offsets of
    the piece at fault (None when the whole expression is), so that a CLI or a web page can
    point at it.
    """

    def __init__(
        self, message: str, *, expression: str | None = None,
        position: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.expression = expression
        self.position = position


class UnknownFilterNameError(UnknownNameError, FilterError):
    """A name in a filter expression that the experiment never recorded: both an
    ``UnknownNameError`` (``known``, ``experiment``) and a ``FilterError`` (``expression``,
    ``position``)."""

    def __init__(
        self, message: str, *, known: tuple[str, ...] = (), experiment: str | None = None,
        expression: str | None = None, position: tuple[int, int] | None = None,
    ) -> None:
        UnknownNameError.__init__(self, message, known=known, experiment=experiment)
        self.expression = expression
        self.position = position


class DirectionError(TrackerError, ValueError):
    """Whether a metric is better high or low could not be decided."""


class TrackingWarning(UserWarning):
    """Something was not recorded, or not recorded yet; training goes on."""
