"""A brute-force filter in Python, to check the SQL one against.

``write_runs`` records a varied sweep through the repository and keeps, per run, what was
written (never what the database answers). ``Oracle.matches(text, experiment)`` evaluates a
filter expression on those records with Python itself: names become ``Value`` objects whose
comparisons follow the documented meaning (numbers match ints and floats, booleans only
booleans, text only text, a missing value equals only None, orders only within a kind, NaN
compares false), and Python's own parser and operators do the rest (``and``, ``or``, ``not``,
chains, ``in``). Nothing here shares code with ``tracker.store.filters``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass, field

EXPERIMENTS = ("sweep", "other")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "Ädam", "b", "adam ")
METRICS = {"val_accuracy": "max", "val_loss": "min", "custom": None}
FIELD_NAMES = ("status", "trial_id", "worker", "source", "name", "execution", "attempt", "id",
               "score")


@dataclass
class Written:
    """What one run was given."""

    id: int
    experiment: str
    hyperparameters: dict
    fields: dict
    curves: dict = field(default_factory=dict)  # metric -> {epoch: value}


def write_runs(repo, count: int = 60, seed: int = 3) -> list[Written]:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    written = []
    for i in range(count):
        experiment = EXPERIMENTS[i % 3 == 2]
        hp: dict = {}
        if rng.random() < 0.85:
            hp["learning_rate"] = rng.choice([1e-4, 1e-3, 3e-3, 0.01,
                                              round(10 ** rng.uniform(-5, -1), 6)])
        if rng.random() < 0.9:
            hp["batch_size"] = rng.choice([16, 32, 64, 32.0, 128])
        if rng.random() < 0.9:
            hp["optimizer"] = rng.choice(OPTIMIZERS)
        if rng.random() < 0.7:
            hp["use_bn"] = rng.random() < 0.5
        if rng.random() < 0.6:
            hp["tuner/epochs"] = rng.choice([1, 2, 3])
        if rng.random() < 0.5:
            hp["mixed"] = rng.choice([1, 2, "x", "y", 2.5])
        if rng.random() < 0.3:
            hp["layers"] = [rng.randrange(4), 8]
        if rng.random() < 0.3:
            hp["nothing"] = None
        if rng.random() < 0.6:
            hp["maybe"] = rng.choice([None, 3, 4.5])
        if experiment == "other" and rng.random() < 0.8:
            hp["status"] = rng.choice(["good", "bad"])  # a hyperparameter shadowing the field
        state = rng.choice(["completed", "completed", "failed", "invalid", "running", "stale"])
        started = now - dt.timedelta(days=2) if state == "stale" else now
        fields = {
            "trial_id": rng.choice([None, "00", "01", "02"]),
            "worker": rng.choice([None, "tuner0", "worker1"]),
            "source": rng.choice([None, "keras-tuner", "callback"]),
            "name": rng.choice([None, f"run-{i}"]),
            "execution": rng.choice([0, 1]),
            "attempt": rng.choice([0, 0, 1]),
        }
        key = repo.start_run(experiment, hyperparameters=hp, started_at=started,
                             objective="val_accuracy" if experiment == "sweep" else None,
                             direction="max" if experiment == "sweep" else None,
                             trial_id=fields["trial_id"], worker=fields["worker"],
                             source=fields["source"], name=fields["name"],
                             execution=fields["execution"], attempt=fields["attempt"])
        curves: dict = {}
        for metric in METRICS:
            if rng.random() < 0.85:
                epochs = rng.randrange(0, 5)
                curves[metric] = {e: rng.choice([rng.random(), 0.5, 0.25, math.nan, math.inf,
                                                 -math.inf, 0.75, 0.9]) for e in range(epochs)}
        epochs: dict = {}
        for metric, curve in curves.items():
            for epoch, value in curve.items():
                epochs.setdefault(epoch, {})[metric] = value
        if epochs:
            repo.log_epochs(key, epochs)
        score = rng.choice([None, 0.5, 0.75])
        if state in ("completed", "failed", "invalid"):
            repo.finish_run(key, state, score=score, error="boom" if state == "failed" else None)
        else:
            score = None
        fields.update(status=state, score=score, id=repo.run(key).id)
        written.append(Written(fields["id"], experiment, hp, fields,
                               {m: c for m, c in curves.items() if c}))
    return written


# -- values with the documented meaning ---------------------------------------------------------


class Value:
    """One name's value in one run: ``kind`` is number, bool, text, json, none (recorded as
    None) or missing."""

    def __init__(self, kind: str, value=None) -> None:
        self.kind, self.value = kind, value

    @classmethod
    def of(cls, value) -> Value:
        if value is None:
            return cls("none")
        if isinstance(value, bool):
            return cls("bool", value)
        if isinstance(value, (int, float)):
            return cls("number", value)
        if isinstance(value, str):
            return cls("text", value)
        return cls("json", value)

    def _same(self, other) -> bool:
        if other is None or isinstance(other, (list, tuple, dict)):
            return False
        if isinstance(other, bool):
            return self.kind == "bool"
        if isinstance(other, (int, float)):
            return self.kind == "number"
        return self.kind == "text"

    def __eq__(self, other) -> bool:
        if other is None:
            return self.kind in ("none", "missing")
        return self._same(other) and self.value == other

    def __ne__(self, other) -> bool:
        return not self == other

    def _order(self, other, compare) -> bool:
        return self._same(other) and self.kind in ("number", "text") and compare(self.value, other)

    def __lt__(self, other):
        return self._order(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._order(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._order(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._order(other, lambda a, b: a >= b)

    def __bool__(self) -> bool:  # a bare flag: ``use_bn``
        return self == True  # noqa: E712

    __hash__ = None  # type: ignore[assignment]


MISSING = Value("missing")


class Scope:
    """``best.``, ``last.``, ``max.``, ``min.``, ``run.``: attribute access to a run's values."""

    def __init__(self, values: dict, aliases: dict) -> None:
        self._values, self._aliases = values, aliases

    def __getattr__(self, name: str) -> Value:
        return self._values.get(self._aliases.get(name, name), MISSING)


def metric_values(curve: dict | None, direction: str | None) -> dict[str, Value]:
    if not curve:
        return {}
    finite = [v for v in curve.values() if math.isfinite(v)]
    found = {"last": Value("number", curve[max(curve)])}
    if finite:
        found["max"] = Value("number", max(finite))
        found["min"] = Value("number", min(finite))
        if direction is not None:
            found["best"] = found[direction]
    return found


class Oracle:
    def __init__(self, runs: list[Written]) -> None:
        self.runs = runs

    def scope(self, experiment: str | None) -> list[Written]:
        return [r for r in self.runs if experiment in (None, r.experiment)]

    def hyperparameter_names(self, experiment: str | None) -> set[str]:
        return {name for r in self.scope(experiment) for name in r.hyperparameters}

    def matches(self, text: str, experiment: str | None = None) -> list[int]:
        """Ids of the runs of ``experiment`` (None: all) that ``text`` keeps."""
        aliases: dict[str, str] = {}

        def alias(match) -> str:
            name = f"q{len(aliases)}_"
            aliases[name] = match.group(1)
            return name

        source = re.sub(r"`([^`]+)`", alias, text)
        recorded = self.hyperparameter_names(experiment)
        chosen = []
        for run in self.scope(experiment):
            fields = {n: Value.of(run.fields[n]) for n in FIELD_NAMES}
            names = dict(fields)
            names.update({n: Value.of(v) for n, v in run.hyperparameters.items()})
            for name in recorded - set(run.hyperparameters):
                names[name] = MISSING  # recorded by other runs: this one lacks it
            namespace = {quoted: names.get(real, MISSING) for quoted, real in aliases.items()}
            namespace.update({n: v for n, v in names.items() if n.isidentifier()})
            per_scope = {s: {} for s in ("best", "last", "max", "min")}
            for metric, direction in METRICS.items():
                for scope, value in metric_values(run.curves.get(metric), direction).items():
                    per_scope[scope][metric] = value
            for scope, values in per_scope.items():
                namespace[scope] = Scope(values, aliases)
            namespace["run"] = Scope(fields, aliases)
            if eval(source, {"__builtins__": {}}, namespace):  # the oracle; never the product
                chosen.append(run.id)
        return chosen
