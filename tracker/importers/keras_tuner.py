"""Import a keras-tuner project directory: ``oracle.json`` and ``trial_*/trial.json``.

One run per trial: its hyperparameters, status, error message and score, and the metrics the
file holds. keras-tuner keeps only the best epoch's values (averaged over executions), so the
run is marked ``history_complete=False`` with source ``keras-tuner-import``. Run keys derive
from the project's absolute path and the trial id, so importing again updates the same runs.

Damaged input never stops the import: a trial that cannot be read is skipped with a message
saying why, a trial with odd content (a NaN score, left RUNNING by a search that stopped) is
imported with a note, and the rest goes on. Reads JSON only: no TensorFlow needed.

The folder is untrusted: a JSON file larger than ``MAX_FILE_BYTES`` is not read; FIFOs,
devices and symbolic links leading out of the project folder are skipped unless
``follow_symlinks=True`` (``--follow-symlinks``); absurd nesting or numbers skip that trial
with a message; a trial the database refuses (a trial id too long...) is reported and the
rest imported. Each trial is written in one transaction: whole, or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TrackerError
from ..store import db
from ..store.repository import Repository
from ..store.trial_queries import mean_and_std
from .folder import TooLarge, read_bytes, refusal

SOURCE = "keras-tuner-import"
_NAMESPACE = uuid.UUID("6f1c0b52-4a57-4f35-9d0e-2a4c8f0b7e11")
_STATUSES = {"COMPLETED": "completed", "INVALID": "invalid", "FAILED": "failed"}
MAX_FILE_BYTES = 64 * 2**20  # a trial.json is kilobytes; oracle.json grows with the trials


@dataclass
class ImportReport:
    """What an import did: how many trials were found and imported, their statuses, and a
    message per trial that was skipped (``skipped``) or imported with a note (``notes``)."""

    directory: Path
    experiment: str
    found: int = 0
    imported: int = 0
    statuses: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Trial:
    trial_id: str
    values: dict[str, Any]
    status: str
    error: str | None
    score: float | None
    epochs: dict[int, dict[str, float]]
    directions: dict[str, str]
    ended_at: dt.datetime
    notes: list[str]


def import_keras_tuner(
    directory: str | Path,
    url: str | None = None,
    *,
    experiment: str | None = None,
    on_trial: Callable[[str, str | None], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    follow_symlinks: bool = False,
) -> ImportReport:
    """Import the keras-tuner project in ``directory`` into experiment ``experiment`` (default:
    the project's name). ``on_start(n)`` is called with the number of trials found, and
    ``on_trial(name, message)`` after each, with a message when it was skipped or noted.
    ``follow_symlinks`` reads files and trial folders that link out of the project folder.

    >>> report = import_keras_tuner("runs/mnist", "sqlite:///tracker.db")  # doctest: +SKIP
    >>> report.imported, report.skipped                                    # doctest: +SKIP
    (50, [])
    """
    project = find_project(Path(directory))
    report = ImportReport(project, experiment or project.name)
    repo = Repository(url)
    repo.engine  # noqa: B018 - a database that was never migrated fails before any work
    reader = _Reader(project, follow_symlinks)
    oracle, problem = reader.json(project / "oracle.json")
    if problem:
        report.notes.append(f"oracle.json: {problem}; trials imported without start times")
        if on_trial:
            on_trial("oracle.json", report.notes[-1])
        oracle = {}
    oracle = oracle if isinstance(oracle, dict) else {}
    folders = _trial_folders(project, oracle, reader, report)
    report.found = len(folders)
    if on_start:
        on_start(len(folders))
    if on_trial:
        for message in report.skipped:  # trial_* entries that are not folders to read
            on_trial(message.split(":")[0], message)
    parsed = []
    for folder in folders:
        trial, message = _parse(folder, reader)
        if trial is None:
            report.skipped.append(f"{folder.name}: {message}; skipped")
        else:
            parsed.append(trial)
            report.notes += [f"{folder.name}: {note}" for note in trial.notes]
        if trial is None and on_trial:
            on_trial(folder.name, report.skipped[-1])
    objective, direction = _objective(parsed)
    starts = _start_times(oracle)
    run_times = oracle.get("run_times") if isinstance(oracle.get("run_times"), dict) else {}
    for trial in parsed:
        try:
            _record(repo, report, project, trial, starts, run_times, objective, direction)
        except Exception as exc:  # refused by the database: this trial only (rolled back)
            why = db.mask_text(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
            report.skipped.append(f"trial_{trial.trial_id[:60]}: not imported ({why})")
            if on_trial:
                on_trial(f"trial_{trial.trial_id[:60]}", report.skipped[-1])
            continue
        report.imported += 1
        report.statuses[trial.status] += 1
        if on_trial:
            note = "; ".join(trial.notes) or None
            on_trial(f"trial_{trial.trial_id}", note and f"trial_{trial.trial_id}: {note}")
    return report


def _record(repo, report, project, trial, starts, run_times, objective, direction) -> None:
    repo.record_run(
            report.experiment,
            key=str(uuid.uuid5(_NAMESPACE, f"{project}\x00{trial.trial_id}")),
            status=trial.status,
            hyperparameters=trial.values,
            epochs=trial.epochs,
            error=trial.error,
            score=trial.score,
            started_at=starts.get(trial.trial_id),
            ended_at=trial.ended_at,
            trial_id=trial.trial_id,
            attempt=max(_int(run_times.get(trial.trial_id), 1) - 1, 0),
            objective=objective,
            direction=direction,
            source=SOURCE,
            history_complete=False,
        )


def find_project(directory: Path) -> Path:
    """The keras-tuner project folder: ``directory`` itself, or a clear error saying what
    was found instead."""
    if not directory.is_dir():
        raise TrackerError(f"{directory}: no such directory")
    directory = directory.resolve()
    if (directory / "oracle.json").exists() or any(directory.glob("trial_*")):
        return directory
    projects = sorted(
        p for p in directory.iterdir()
        if p.is_dir() and ((p / "oracle.json").exists() or any(p.glob("trial_*")))
    )
    if projects:
        names = ", ".join(str(p) for p in projects[:10])
        raise TrackerError(
            f"{directory} is a tuner's directory holding {len(projects)} project(s); "
            f"import one project folder: {names}"
        )
    raise TrackerError(f"{directory}: no keras-tuner project here (no oracle.json, no trial_*)")


# -- reading ----------------------------------------------------------------------------------


@dataclass
class _Reader:
    """Reads files of an untrusted project folder (see the module's docstring)."""

    project: Path
    follow_symlinks: bool

    def refusal(self, path: Path, *, folder: bool = False) -> str | None:
        """Why ``path`` is not read (None: read it)."""
        return refusal(path, self.project, follow_symlinks=self.follow_symlinks, folder=folder,
                       max_bytes=MAX_FILE_BYTES, where="project folder")

    def json(self, path: Path) -> tuple[Any, str | None]:
        refused = self.refusal(path)
        if refused:
            return None, refused
        try:
            text = read_bytes(path, MAX_FILE_BYTES).decode("utf-8")
        except TooLarge as exc:
            return None, str(exc)
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"unreadable ({exc})"
        if not text.strip():
            return None, "empty file"
        try:
            return json.loads(text), None  # Python's json reads NaN and Infinity literals
        except json.JSONDecodeError as exc:
            truncated = "" if text.rstrip().endswith(("}", "]")) else " (truncated?)"
            return None, (f"not valid JSON{truncated}: {exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}")
        except RecursionError:
            return None, "nested too deeply to read"
        except ValueError as exc:  # an integer of more than 4,300 digits
            return None, f"holds an absurd value ({exc})"


def _trial_folders(project: Path, oracle: dict, reader: _Reader,
                   report: ImportReport) -> list[Path]:
    """Trial folders in the order the search started them (oracle.json), then the rest."""
    folders = {}
    for path in project.glob("trial_*"):
        refused = reader.refusal(path, folder=True)
        if refused is None:
            folders[path.name] = path
        elif refused != "not a folder":
            report.skipped.append(f"{path.name}: {refused}")
    order = oracle.get("start_order") if isinstance(oracle.get("start_order"), list) else []
    ordered = [folders.pop(f"trial_{i}") for i in order if f"trial_{i}" in folders]
    return ordered + [folders[name] for name in sorted(folders)]


def _parse(folder: Path, reader: _Reader) -> tuple[_Trial | None, str | None]:
    try:
        return _parse_state(folder, reader)
    except (RecursionError, ValueError, TypeError, OverflowError, AttributeError) as exc:
        return None, f"trial.json holds values that cannot be read ({type(exc).__name__})"


def _parse_state(folder: Path, reader: _Reader) -> tuple[_Trial | None, str | None]:
    state, problem = reader.json(folder / "trial.json")
    if problem == "missing":
        return None, "no trial.json (the search stopped before writing it?)"
    if problem:
        return None, f"trial.json {problem}"
    if not isinstance(state, dict):
        return None, f"trial.json holds a {type(state).__name__}, not a trial"
    notes: list[str] = []
    trial_id = state.get("trial_id")
    if not isinstance(trial_id, (str, int)) or isinstance(trial_id, bool):
        trial_id = folder.name.removeprefix("trial_")
        notes.append(f"no trial_id in trial.json: using {trial_id!r} from the folder name")
    values = (state.get("hyperparameters") or {}).get("values") if isinstance(
        state.get("hyperparameters"), dict) else None
    if not isinstance(values, dict):
        notes.append("no hyperparameter values")
        values = {}
    status, error = _status(state, notes)
    score = _score(state.get("score"), status, notes)
    epochs, directions = _metrics(state.get("metrics"), values, notes)
    ended = dt.datetime.fromtimestamp((folder / "trial.json").stat().st_mtime, dt.timezone.utc)
    return _Trial(str(trial_id), values, status, error, score, epochs, directions, ended,
                  notes), None


def _status(state: dict, notes: list[str]) -> tuple[str, str | None]:
    raw = state.get("status")
    message = state.get("message") if isinstance(state.get("message"), str) else None
    if raw in _STATUSES:
        return _STATUSES[raw], message
    if raw == "RUNNING":
        why = "left RUNNING by a search that stopped before this trial ended"
    else:
        why = f"status {raw!r} is not one keras-tuner ends a trial with"
    notes.append(f"{why}: recorded as failed")
    return "failed", f"{why}{': ' + message if message else ''}"


def _score(raw: Any, status: str, notes: list[str]) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        notes.append(f"score {raw!r} is not a number: not recorded")
        return None
    if not math.isfinite(raw):
        notes.append(f"score is {raw} (keras-tuner marks such a trial {status}): not recorded")
        return None
    return float(raw)


def _metrics(
    raw: Any, values: dict, notes: list[str]
) -> tuple[dict[int, dict[str, float]], dict[str, str]]:
    """``{epoch: {name: value}}`` from keras-tuner's observations (each the mean over
    executions at one step, numbered from the fit's initial epoch) and each metric's direction."""
    metrics = raw.get("metrics") if isinstance(raw, dict) else None
    if not isinstance(metrics, dict):
        if raw is not None:
            notes.append("metrics unreadable: none recorded")
        return {}, {}
    offset = _int(values.get("tuner/initial_epoch"), 0)
    epochs: dict[int, dict[str, float]] = {}
    directions: dict[str, str] = {}
    for name, history in metrics.items():
        try:
            if isinstance(history.get("direction"), str):
                directions[name] = history["direction"]
            for observation in history.get("observations") or []:
                step, found = observation["step"], observation["value"]
                found = found if isinstance(found, list) else [found]
                numbers = [float(v) for v in found]
                if len(numbers) == 1 or not all(map(math.isfinite, numbers)):
                    mean = numbers[0] if len(numbers) == 1 else math.nan
                else:
                    mean = mean_and_std(numbers)[0]  # the mean over executions
                epochs.setdefault(int(step) + offset, {})[name] = mean
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as exc:
            notes.append(f"metric {name!r} unreadable ({type(exc).__name__}): skipped")
    if any(not math.isfinite(v) for row in epochs.values() for v in row.values()):
        notes.append("some metric values are NaN or infinite: stored as such")
    return epochs, directions


def _objective(trials: Iterable[_Trial]) -> tuple[str | None, str | None]:
    """keras-tuner does not write the objective down; it is the metric whose best-epoch value
    equals the score of every completed trial. None when that is not clear."""
    candidates: set[str] | None = None
    directions: dict[str, str] = {}
    for trial in trials:
        if trial.status != "completed" or trial.score is None:
            continue
        matching = {
            name for row in trial.epochs.values() for name, value in row.items()
            if value == trial.score
        }
        candidates = matching if candidates is None else candidates & matching
        directions.update(trial.directions)
    if not candidates:
        return None, None
    name = sorted(candidates, key=lambda n: (not n.startswith("val_"), n))[0]
    direction = directions.get(name)
    return name, direction if direction in ("min", "max") else None


def _start_times(oracle: dict) -> dict[str, dt.datetime]:
    """Trial start times from oracle.json (local wall-clock times, as keras-tuner writes)."""
    display = oracle.get("display") if isinstance(oracle.get("display"), dict) else {}
    starts = display.get("trial_start") if isinstance(display.get("trial_start"), dict) else {}
    times = {}
    for trial_id, text in starts.items():
        try:
            moment = dt.datetime.fromisoformat(text)
        except (TypeError, ValueError):
            continue
        times[str(trial_id)] = moment.astimezone(dt.timezone.utc)  # naive = local time
    return times


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
