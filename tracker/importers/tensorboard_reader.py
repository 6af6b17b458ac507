"""Reading TensorBoard log directories with TensorBoard's own event-file reader.

A *run directory* is one holding event files, or Keras' ``train/`` and ``validation/``
sub-directories of them (what ``keras.callbacks.TensorBoard(log_dir)`` writes; HParams records
land in ``log_dir`` itself). Scalars become metrics by step (the epoch); Keras' ``epoch_loss``
is ``loss`` under ``train/`` and ``val_loss`` under ``validation/``, and its per-batch and
per-iteration series are left out (their steps are not epochs).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..optional import require
from .folder import refusal

KERAS_ROLES = {"train": "", "validation": "val_"}
_PER_STEP = re.compile(r"^(batch_|evaluation_.*_vs_iterations$)")
# Event files stream (memory stays flat) but take time: beyond this, one is surely not a
# sweep's scalars (images, profiles...) and is skipped with a message.
MAX_EVENT_FILE_BYTES = 4 * 2**30
_STATUS_FAILURE = 2  # tensorboard.plugins.hparams.api_pb2.STATUS_FAILURE


@dataclass
class RunLog:
    """What the event files of one run directory say."""

    directory: Path
    files: list[tuple[Path, str | None]]  # (event file, Keras role or None)
    metrics: dict[int, dict[str, tuple[float, float]]] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    failed: bool = False

    def add(self, epoch: int, name: str, wall_time: float, value: float) -> None:
        """Keep the latest write of a metric at an epoch (a resumed run may repeat steps)."""
        slot = self.metrics.setdefault(epoch, {})
        if name not in slot or slot[name][0] <= wall_time:
            slot[name] = (wall_time, value)

    def seen(self, wall_time: float) -> None:
        if wall_time > 0:
            self.started = wall_time if self.started is None else min(self.started, wall_time)
            self.ended = wall_time if self.ended is None else max(self.ended, wall_time)


def use_tensorflow_free_reader() -> None:
    """Read with TensorBoard's pure-Python record reader (its "notf" mode) instead of
    TensorFlow's, unless TensorFlow is loaded already: the same records, checksums included,
    without the seconds TensorFlow takes to import. For a process of its own, like the CLI:
    it holds for every later use of ``tensorboard`` in the process."""
    import sys
    import types

    if "tensorflow" not in sys.modules and "tensorboard.compat.notf" not in sys.modules:
        sys.modules["tensorboard.compat.notf"] = types.ModuleType("tensorboard.compat.notf")


def find_runs(logdir: Path, *, follow_symlinks: bool = False,
              skipped: list[tuple[str, str]] | None = None) -> list[RunLog]:
    """Every run directory under ``logdir`` (itself included), in path order. Event files that
    are not regular files (FIFOs, devices), that link out of ``logdir`` (unless
    ``follow_symlinks``) or are over ``MAX_EVENT_FILE_BYTES`` are left out, each added to
    ``skipped`` as (file, why)."""
    runs: dict[Path, RunLog] = {}
    logdir = logdir.resolve()
    for folder, _, names in sorted(os.walk(logdir, followlinks=follow_symlinks)):
        events = []
        for name in sorted(n for n in names if "tfevents" in n):
            why = refusal(Path(folder) / name, logdir, follow_symlinks=follow_symlinks,
                          max_bytes=MAX_EVENT_FILE_BYTES, where="log folder")
            if why is None:
                events.append(name)
            elif skipped is not None:
                skipped.append((str(Path(folder) / name), why))
        if not events:
            continue
        folder_path = Path(folder)
        role = folder_path.name if folder_path.name in KERAS_ROLES else None
        run_dir = folder_path.parent if role and folder_path != logdir else folder_path
        log = runs.setdefault(run_dir, RunLog(run_dir, []))
        log.files.extend((folder_path / name, role) for name in events)
    return [runs[key] for key in sorted(runs)]


def read_run(log: RunLog) -> list[tuple[Path, str]]:
    """Fill ``log`` from its files; returns the problems met, as (file, what happened).
    A file that yields nothing readable is skipped; a damaged one keeps what came before the
    damage (each record is checksummed, so what was read is sound)."""
    loader_module = require("tensorboard.backend.event_processing.event_file_loader",
                            "TensorBoard import")
    problems = []
    for path, role in log.files:
        read = 0
        with _data_loss_messages() as losses:
            try:
                for event in loader_module.EventFileLoader(str(path)).Load():
                    read += 1
                    _take(log, event, role)
            except Exception as exc:  # unreadable for a reason the reader does not swallow
                problems.append((path, f"unreadable ({type(exc).__name__}: {exc}); skipped"))
                continue
        # Messages name the file (as bytes, from the pure-Python reader): it is said already.
        losses = [m.replace(repr(str(path).encode()), "").replace(str(path), "").strip()
                  for m in losses]
        damage = [m for m in losses if "truncated record" not in m.lower()]
        if damage and read == 0:
            problems.append((path, f"not a readable event file ({damage[0]}); skipped"))
        elif damage:
            problems.append((path, f"damaged ({damage[0]}): the {read} events before it "
                                   "were imported, the rest of the file skipped"))
        elif losses:  # only a cut-off last record: a writer still at work, or killed
            problems.append((path, f"ends with an incomplete record (still being written?): "
                                   f"the {read} complete events were imported"))
        elif read == 0 and path.stat().st_size > 0:
            problems.append((path, "no readable events; skipped"))
    return problems


def _take(log: RunLog, event, role: str | None) -> None:
    log.seen(event.wall_time)
    if not event.HasField("summary"):
        return
    for value in event.summary.value:
        plugin = value.metadata.plugin_data.plugin_name
        if plugin == "hparams":
            _take_hparams(log, value.metadata.plugin_data.content)
        elif plugin == "scalars" or value.metadata.data_class == 1:  # DATA_CLASS_SCALAR
            name = metric_name(value.tag, role)
            if name is not None:
                log.add(int(event.step), name, event.wall_time, _scalar(value.tensor))


def metric_name(tag: str, role: str | None) -> str | None:
    """The metric a scalar's tag stands for, as Keras names it in ``logs`` (None: skip it).

    >>> metric_name("epoch_loss", "validation"), metric_name("batch_loss", "train")
    ('val_loss', None)
    """
    if role is None:
        return tag
    if _PER_STEP.match(tag):
        return None
    name = tag.removeprefix("epoch_")
    prefix = KERAS_ROLES[role]
    return name if name.startswith(prefix) else prefix + name


def _take_hparams(log: RunLog, content: bytes) -> None:
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    if data.HasField("session_start_info"):
        for name, value in data.session_start_info.hparams.items():
            kind = value.WhichOneof("kind")
            if kind in ("number_value", "string_value", "bool_value"):
                log.hyperparameters[name] = getattr(value, kind)
    if data.HasField("session_end_info") and data.session_end_info.status == _STATUS_FAILURE:
        log.failed = True


def _scalar(tensor) -> float:
    """A scalar tensor as a float; a float32 one as the shortest decimal that is that float32
    (0.8 logged in float32 reads back as 0.8, not 0.800000011920929)."""
    np = require("numpy", "TensorBoard import")
    from tensorboard.util import tensor_util

    array = tensor_util.make_ndarray(tensor)
    item = array.reshape(-1)[0] if array.size else float("nan")
    if isinstance(item, np.float32) and math.isfinite(item):
        return float(np.format_float_positional(item, unique=True, trim="-"))
    return float(item)


@contextmanager
def _data_loss_messages() -> Iterator[list[str]]:
    """The messages TensorBoard's reader logs (at debug level) when it stops at a truncated
    or corrupted record, which it otherwise swallows."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if str(record.msg).startswith("Truncated record"):
                args = record.args if isinstance(record.args, tuple) else ()
                messages.append(str(args[-1]) if args else record.getMessage())

    logger = logging.getLogger("tensorboard")
    handler, level, propagate = Collect(logging.DEBUG), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # keep the reader's debug chatter out of the user's logs
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
