"""One process of a distributed keras-tuner search, tracked: run as the chief or as a worker
(``KERASTUNER_TUNER_ID`` and friends in the environment) by tests/test_tuner_distributed.py.

Usage: python distributed_search.py DIRECTORY URL WORKERS
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).parent))

import keras_tuner as kt
from keras_helpers import make_data
from tuner_helpers import TinyHyperModel

from tracker import track

MAX_TRIALS = 3
EXECUTIONS = 3  # a mean of three float32 values rarely is one: the score needs full precision


class Logged(kt.RandomSearch):
    """Writes down which trials this process ran: the test's independent evidence."""

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        with open(Path(sys.argv[1]) / f"ran-{self.tuner_id}.txt", "a") as file:
            file.write(f"{trial.trial_id}\n")


def main(directory: str, url: str, workers: int) -> None:
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    if tuner_id != "chief":  # start together, so that every worker gets trials
        Path(directory, f"ready-{tuner_id}").touch()
        deadline = time.monotonic() + 120
        while len(list(Path(directory).glob("ready-*"))) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("the other workers never came")
            time.sleep(0.05)
    tuner = Logged(
        TinyHyperModel(), objective="val_accuracy", max_trials=MAX_TRIALS,
        executions_per_trial=EXECUTIONS, seed=11, directory=directory,
        project_name="distributed",
    )
    track(tuner, url)
    x, y = make_data()
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
