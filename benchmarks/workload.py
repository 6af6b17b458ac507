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
