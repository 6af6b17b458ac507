"""A training process for tests that need one of their own (to end it, or kill it):

    python train_script.py URL EXPERIMENT EPOCHS [--wait-at N] [--long-at N --long-s S]

Trains a tiny model with a TrackingCallback. ``--wait-at N``: after epoch N, print
``waiting`` (once the database holds everything so far) and wait for a line on stdin.
``--long-at N``: epoch N lasts ``--long-s`` seconds more (``long epoch`` is printed when it
starts). Prints ``done`` at the end of fit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, os.path.dirname(__file__))

import keras
from keras_helpers import make_data, make_model

from tracker import TrackingCallback


class Script(keras.callbacks.Callback):
    def __init__(self, tracking, wait_at, long_at, long_s):
        super().__init__()
        self.tracking = tracking
        self.wait_at, self.long_at, self.long_s = wait_at, long_at, long_s

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.long_at:
            print("long epoch", flush=True)
            time.sleep(self.long_s)

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch}", flush=True)
        if epoch == self.wait_at:
            assert self.tracking.flush(timeout=30)
            print("waiting", flush=True)
            sys.stdin.readline()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("experiment")
    parser.add_argument("epochs", type=int)
    parser.add_argument("--wait-at", type=int, default=-1)
    parser.add_argument("--long-at", type=int, default=-1)
    parser.add_argument("--long-s", type=float, default=0.0)
    args = parser.parse_args()
    x, y = make_data()
    tracking = TrackingCallback(args.url, experiment=args.experiment)
    script = Script(tracking, args.wait_at, args.long_at, args.long_s)
    make_model().fit(x, y, batch_size=64, epochs=args.epochs, verbose=0,
                     callbacks=[tracking, script])
    print("done", flush=True)


if __name__ == "__main__":
    main()
