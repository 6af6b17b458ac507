"""One process of a distributed keras-tuner search with a ``MedianPruner``, for
tests/pruning/test_distributed_pruning.py: ``worker0`` trains models that learn, ``worker1``
models that cannot (learning rate 1e-7) and starts once worker0 has finished ``HEAD_START``
runs, so its own runs alone could never reach the pruner's ``min_runs``.

Usage: python distributed_pruning.py DIRECTORY URL
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).parent))

import keras
import keras_tuner as kt
from pruning_search import FEATURES, make_data

from tracker import Repository, track
from tracker.pruning import MedianPruner

MAX_TRIALS = 8
EPOCHS = 5
HEAD_START = 3
PRUNER = MedianPruner(min_runs=HEAD_START)


class ByWorker(kt.HyperModel):
    def build(self, hp):
        units = hp.Int("units", 4, 16)
        rate = 1e-7 if os.environ["KERASTUNER_TUNER_ID"] == "worker1" else 5e-2
        model = keras.Sequential([
            keras.Input((FEATURES,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy",
                      metrics=["accuracy"], jit_compile=False)
        return model


def main(directory: str, url: str) -> None:
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    if tuner_id == "worker1":
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            runs = Repository(url).runs("pruned-distributed", status="completed") \
                if "pruned-distributed" in {e.name for e in Repository(url).experiments()} else []
            if sum(r.worker == "worker0" for r in runs) >= HEAD_START:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("worker0 never finished its first runs")
    tuner = kt.RandomSearch(ByWorker(), objective="val_accuracy", max_trials=MAX_TRIALS, seed=5,
                            directory=directory, project_name="pruned-distributed")
    track(tuner, url, pruner=PRUNER)
    (x, y), validation = make_data()
    tuner.search(x, y, epochs=EPOCHS, validation_data=validation, batch_size=16, verbose=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
