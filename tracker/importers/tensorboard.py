"""``tracker import tensorboard``: TensorBoard logs into the tracking database.

Each run directory becomes a run (source ``tensorboard-import``), its scalars epoch metrics,
its HParams records hyperparameters. A run's key is derived from the experiment and the run
directory's absolute path, so importing again updates the same runs instead of adding new
ones. Unreadable files are reported and skipped; the rest is imported. Each run is written in
one transaction (whole or not at all); a run the database refuses is reported and skipped.
FIFOs, devices and links leading out of the log folder are skipped unless
``follow_symlinks=True``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TrackerError
from .tensorboard_reader import RunLog, find_runs, read_run

if TYPE_CHECKING:
    from ..store.repository import Repository

SOURCE = "tensorboard-import"
_NAMESPACE = uuid.UUID("6f1c2b0e-6a53-4c1e-9d8e-2b7f3c5a9e41")  # run keys of this importer


@dataclass
class ImportResult:
    """What an import did: runs and values written, and the files it could not read."""

    experiment: str
    runs: int = 0
    epochs: int = 0
    values: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what happened)
    empty: list[str] = field(default_factory=list)  # run directories without any scalar


def import_tensorboard(
    repo: Repository,
    logdir: str | Path,
    *,
    experiment: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    follow_symlinks: bool = False,
) -> ImportResult:
    """Import every run directory under ``logdir`` into ``experiment`` (default: the name of
    ``logdir``). ``progress(run_name, done, total)`` is called after each run. Needs the
    ``tensorboard`` package (the ``keras`` extra).

    >>> import_tensorboard(Repository(), "logs/fit", experiment="mnist")  # doctest: +SKIP
    ImportResult(experiment='mnist', runs=12, epochs=240, values=960, problems=[], empty=[])
    """
    root = Path(logdir).expanduser().resolve()
    if not root.is_dir():
        raise TrackerError(f"no such folder: {logdir}")
    experiment = experiment or root.name
    skipped: list[tuple[str, str]] = []
    logs = find_runs(root, follow_symlinks=follow_symlinks, skipped=skipped)
    if not logs and not skipped:
        raise TrackerError(f"no TensorBoard event files (events.out.tfevents.*) under {logdir}")
    result = ImportResult(experiment, problems=skipped)
    for log in logs:
        result.problems += [(str(path), why) for path, why in read_run(log)]
    types = _integral_names(logs)
    for done, log in enumerate(logs, 1):
        name = _run_name(log.directory, root)
        if log.metrics:
            try:
                _write(repo, experiment, log, name, types)
            except Exception as exc:  # refused by the database: this run only (rolled back)
                why = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                result.problems.append((str(log.directory), f"run not imported ({why})"))
                continue
            result.runs += 1
            result.epochs += len(log.metrics)
            result.values += sum(len(values) for values in log.metrics.values())
        else:
            result.empty.append(name)
        if progress:
            progress(name, done, len(logs))
    return result


def run_key(experiment: str, directory: Path) -> str:
    """The run key of a run directory imported into ``experiment``: the same on every import."""
    return str(uuid.uuid5(_NAMESPACE, f"{experiment}\0{directory.resolve()}"))


def _write(repo: Repository, experiment: str, log: RunLog, name: str, integral: set) -> None:
    hyperparameters = {
        k: int(v) if k in integral else v for k, v in log.hyperparameters.items()
    }
    failed = "the HParams session ended with STATUS_FAILURE" if log.failed else None
    repo.record_run(  # one transaction: the run whole, or nothing
        experiment, key=run_key(experiment, log.directory), name=name,
        status="failed" if log.failed else "completed", error=failed,
        hyperparameters=hyperparameters,
        epochs={epoch: {metric: value for metric, (_, value) in metrics.items()}
                for epoch, metrics in sorted(log.metrics.items())},
        started_at=_time(log.started), ended_at=_time(log.ended), source=SOURCE)


def _integral_names(logs: list[RunLog]) -> set[str]:
    """HParams store every number as a double: a hyperparameter whose values are whole
    numbers in every run is an int (batch_size 32, not 32.0)."""
    values: dict[str, list[Any]] = {}
    for log in logs:
        for name, value in log.hyperparameters.items():
            values.setdefault(name, []).append(value)
    return {
        name for name, found in values.items()
        if all(isinstance(v, float) and v.is_integer() for v in found)
    }


def _run_name(directory: Path, root: Path) -> str:
    relative = directory.relative_to(root).as_posix()
    return root.name if relative == "." else relative


def _time(wall_time: float | None) -> dt.datetime | None:
    if wall_time is None:
        return None
    return dt.datetime.fromtimestamp(wall_time, tz=dt.timezone.utc)
