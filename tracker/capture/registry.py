"""One ``Outbox`` per process, database and journal folder: found by ``outbox_for``, closed at
exit (what the database did not take stays in the journal), forgotten by a forked child."""

from __future__ import annotations

import atexit
import logging
import os
import threading

from sqlalchemy.engine import URL, make_url

from ..store import db
from . import journal
from .outbox import Outbox

log = logging.getLogger("tracker")

_outboxes: dict[tuple[str, str, int], Outbox] = {}
_registry_lock = threading.Lock()


def outbox_for(url: str | URL, journal_dir: str | os.PathLike | None = None) -> Outbox:
    """The outbox of this process for the database ``url`` and journal folder (argument, else
    ``$TRACKER_JOURNAL_DIR``, else the per-user default)."""
    resolved = absolute_url(db.resolve_url(url))
    directory = journal.journal_dir(journal_dir)
    key = (resolved.render_as_string(hide_password=False), str(directory), os.getpid())
    with _registry_lock:
        outbox = _outboxes.get(key)
        if outbox is None:
            outbox = _outboxes[key] = Outbox(resolved, directory)
    return outbox


def absolute_url(url: URL) -> URL:
    """SQLite paths made absolute, so that the journal names the file whatever the folder
    ``tracker sync`` runs in."""
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not database.startswith("file:") and not os.path.isabs(database):
            return make_url(url).set(database=os.path.abspath(database))
    return url


@atexit.register
def _close_all() -> None:
    for (_, _, pid), outbox in list(_outboxes.items()):
        if pid == os.getpid():
            try:
                outbox.close()
            except Exception as exc:  # never fail the interpreter's exit
                log.error("tracking journal not closed: %s", db.mask_text(str(exc)))


def _after_fork_in_child() -> None:
    for outbox in _outboxes.values():
        outbox._abandon()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
