"""The synthetic sweep every benchmark uses: ``runs`` runs x ``epochs`` epochs x 4 metrics, with
5 typed hyperparameters per run, a few diverged (NaN) runs, deterministic for a seed.

The rows are plain tuples so that the raw-driver baselines and the library see the same data.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
BATCH_SIZES = (16, 32, 64, 128)
OPTIMIZERS = ("adam", "sgd", "rmsprop")


@dataclass(frozen=True)
class Sweep:
    runs: int
    epochs: int
    seed: int = 0

    @property
    def metric_rows(self) -> int:
        return self.runs * self.epochs * len(METRICS)

    def hyperparameters(self, index: int) -> dict:
        rng = random.Random(self.seed * 1_000_003 + index)
        return {
            "batch_size": rng.choice(BATCH_SIZES),
            "learning_rate": round(10 ** rng.uniform(-4, -1), 6),
            "units": rng.choice((32, 64, 128, 256, 512)),
            "optimizer": rng.choice(OPTIMIZERS),
            "dropout": round(rng.uniform(0, 0.5), 3),
        }

    def curve(self, index: int) -> Iterator[tuple[int, dict[str, float]]]:
        """(epoch, {metric: value}) for run ``index``; about 1 run in 50 diverges to NaN."""
        rng = random.Random(self.seed * 7_919 + index)
        ceiling = rng.uniform(0.6, 0.99)
        speed = rng.uniform(0.05, 0.5)
        diverges_at = rng.randrange(self.epochs) if rng.random() < 0.02 else None
        for epoch in range(self.epochs):
            progress = 1 - math.exp(-speed * (epoch + 1))
            acc = ceiling * progress + rng.uniform(-0.01, 0.01)
            val = acc - rng.uniform(0, 0.05)
            if diverges_at is not None and epoch >= diverges_at:
                yield epoch, dict.fromkeys(METRICS, math.nan)
                continue
            yield epoch, {
                "loss": 1.5 * (1 - progress) + 0.05,
                "accuracy": acc,
                "val_loss": 1.6 * (1 - progress) + 0.08,
                "val_accuracy": val,
            }

    def keys(self) -> list[str]:
        return [str(uuid.UUID(int=random.Random(self.seed + i).getrandbits(128))) for i in
                range(self.runs)]


@dataclass(frozen=True)
class WideSweep:
    """``runs`` runs x ``epochs`` epochs x ``metrics`` metrics (the 4 of ``Sweep`` then
    ``aux00_accuracy``, ``aux01_loss``... whose direction their names tell), with the
    hyperparameters of ``Sweep``; every metric's curve depends on the learning rate, so that
    importance has something to find. Generated with NumPy: 40 M rows in about a minute."""

    runs: int
    epochs: int
    metrics: int = 40
    seed: int = 0

    @property
    def metric_rows(self) -> int:
        return self.runs * self.epochs * self.metrics

    @property
    def names(self) -> tuple[str, ...]:
        extra = [f"aux{i:02d}_{'accuracy' if i % 2 == 0 else 'loss'}"
                 for i in range(self.metrics - len(METRICS))]
        return (*METRICS, *extra)[: self.metrics]

    def keys(self) -> list[str]:
        return Sweep(self.runs, self.epochs, self.seed).keys()

    def hyperparameters(self, index: int) -> dict:
        return Sweep(self.runs, self.epochs, self.seed).hyperparameters(index)

    def rows(self, keys: list[str], start: int, stop: int) -> Iterator[tuple]:
        """``(key, epoch, name, value)`` of runs ``start``..``stop``; about 1 run in 50
        diverges to NaN halfway."""
        import numpy as np

        names = self.names
        epochs = np.arange(self.epochs, dtype="float64")
        for index in range(start, stop):
            rng = np.random.default_rng(self.seed * 1_000_003 + index)
            learning_rate = self.hyperparameters(index)["learning_rate"]
            ceiling = 0.95 - 0.1 * abs(math.log10(learning_rate) + 2.5) + rng.uniform(-0.05, 0.05)
            speed = rng.uniform(0.05, 0.5)
            progress = 1 - np.exp(-speed * (epochs + 1))
            noise = rng.uniform(-0.01, 0.01, size=(len(names), self.epochs))
            diverged = rng.random() < 0.02
            key = keys[index]
            for m, name in enumerate(names):
                if name.endswith("accuracy"):
                    curve = ceiling * progress + noise[m]
                else:
                    curve = (1.6 - ceiling) * (1 - progress) + 0.05 + noise[m]
                if diverged:
                    curve[self.epochs // 2:] = np.nan
                for epoch, value in enumerate(curve.tolist()):
                    yield key, epoch, name, value
