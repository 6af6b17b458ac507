"""Which write errors are for good: the record itself is at fault, so retrying it would block
every later record forever. Everything else (unreachable, locked, not migrated yet) is worth
another try."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError

from ..errors import DatabaseError, NotFoundError, TrackerError
from .records import BadRecord


def refusal(exc: BaseException) -> str | None:
    """Why the database will never take the record that raised ``exc``, else None."""
    if isinstance(exc, BadRecord):
        return str(exc)
    if isinstance(exc, NotFoundError):
        return f"{exc} (its run is not in the database and no start record of it is known)"
    if isinstance(exc, DatabaseError):
        cause = exc.__cause__
        if isinstance(cause, (IntegrityError, DataError)):
            return str(exc)
        return None
    if isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, TrackerError):
        return f"{type(exc).__name__}: {exc}"
    return None
