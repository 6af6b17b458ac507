"""``tracker plot parallel`` on both backends: one line per run through an axis per varying
hyperparameter (log, category and "(none)" slots) and the metric's, coloured by the metric with
the best on top, readable at 1,000 runs; names checked; ``where`` and ``--axis``."""

from __future__ import annotations

import math
import random
import uuid

import numpy as np
import pytest
from cli_helpers import run_cli

from tracker import Repository
from tracker.errors import UnknownNameError
from tracker.store import db, schema

pytest.importorskip("matplotlib")

from tracker.analysis.plots import plot_parallel
from tracker.analysis.scales import dimension

RUNS = 1_000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big_sweep(request, tmp_path_factory) -> str:
    """1,000 runs: a log-uniform learning rate with a sweet spot, doubling units, an optimizer,
    a boolean, a dropout only some runs have, and a few runs without a finite value."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('parallel') / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    schema.upgrade(url)
    repo = Repository(url)
    rng = random.Random(5)
    for i in range(RUNS):
        hp = {"learning_rate": 10 ** rng.uniform(-4, -1),
              "units": rng.choice([16, 32, 64, 128, 256]),
              "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
              "batch_norm": rng.random() < 0.5, "epochs": 5}
        if hp["optimizer"] == "adam":
            hp["dropout"] = rng.uniform(0, 0.5)
        quality = 0.95 - 0.12 * (math.log10(hp["learning_rate"]) + 2.5) ** 2
        value = math.nan if i % 97 == 0 else quality + rng.gauss(0, 0.01)
        repo.record_run("big", key=str(uuid.uuid4()), status="completed", hyperparameters=hp,
                        epochs={0: {"val_accuracy": value}})
    yield url
    db.dispose_engines()


def _main_lines(figure):
    from matplotlib.collections import LineCollection

    axes = figure.axes[0]
    return [c for c in axes.collections if isinstance(c, LineCollection)]


def test_one_line_per_run_the_best_on_top(big_sweep):
    repo = Repository(big_sweep)
    figure = plot_parallel(repo, "val_accuracy", experiment="big")
    frame = repo.to_dataframe("big")
    finite = frame["val_accuracy_best"].dropna()
    lines, outlined = _main_lines(figure)
    segments = lines.get_segments()
    assert len(segments) == len(finite) == RUNS - 11  # runs 0, 97, 194, ... have NaN
    assert len(outlined.get_segments()) == 10
    # 5 varying hyperparameter axes and the metric's: each line has 6 points.
    assert {len(s) for s in segments} == {6}
    # The best run is drawn last, at the top of the metric axis; the worst first, at the bottom.
    assert segments[-1][-1][1] == pytest.approx(1.0) and segments[0][-1][1] == pytest.approx(0)
    texts = [t.get_text() for t in figure.axes[0].texts]
    for expected in ("learning_rate (log)", "units (log)", "optimizer", "batch_norm",
                     "dropout", "best val_accuracy", "adam", "sgd", "true", "false", "(none)",
                     "0.001", "0.01"):
        assert expected in texts, expected
    title = figure._suptitle.get_text()
    assert "best val_accuracy of 989 runs — experiment 'big'" in title
    notes = figure._supxlabel.get_text()
    assert "Same in every run: epochs=5" in notes and "11 run(s) without a finite" in notes


def test_readable_png_at_1000_runs(big_sweep, tmp_path):
    from matplotlib import image

    png = tmp_path / "parallel.png"
    out = run_cli("plot", "parallel", "-m", "val_accuracy", "-e", "big", "-o", str(png),
                  "--url", big_sweep)
    assert out.code == 0, out.err
    pixels = image.imread(png)[..., :3]
    height, width = pixels.shape[:2]
    assert 1200 <= width <= 4000 and 600 <= height <= 2000, (width, height)
    ink = (pixels < 0.9).any(axis=2).mean()
    assert 0.05 < ink < 0.7, f"{ink:.1%} of the pixels are not white"  # not a solid block
    colors = np.unique((pixels * 255).astype("uint8").reshape(-1, 3), axis=0)
    assert len(colors) > 500  # a colour scale, not a few flat colours


def test_axes_where_and_names(big_sweep):
    repo = Repository(big_sweep)
    figure = plot_parallel(repo, "val_accuracy", experiment="big",
                           hyperparameters=["units", "learning_rate"],
                           where="optimizer == 'adam'")
    lines, _ = _main_lines(figure)
    adam = {r.id for r in repo.runs("big", where={"optimizer": "adam"})}
    assert len(lines.get_segments()) == len(adam - _nan_runs(repo)) > 250
    headings = [t.get_text() for t in figure.axes[0].texts if t.get_fontweight() == "bold"]
    assert headings == ["units (log)", "learning_rate (log)", "best val_accuracy"]
    with pytest.raises(UnknownNameError, match="no metric 'val_acc'") as caught:
        plot_parallel(repo, "val_acc", experiment="big")
    assert caught.value.known == ("val_accuracy",)
    with pytest.raises(UnknownNameError, match="no hyperparameter 'lr' in experiment 'big'"):
        plot_parallel(repo, "val_accuracy", experiment="big", hyperparameters=["lr"])
    out = run_cli("plot", "parallel", "-m", "val_acc", "-e", "big", "--url", big_sweep)
    assert out.code == 1 and "recorded: val_accuracy" in out.err


def _nan_runs(repo: Repository) -> set[int]:
    frame = repo.to_dataframe("big")
    return set(frame.loc[frame["val_accuracy_best"].isna(), "run_id"])


def test_dimensions_of_hyperparameters():
    import pandas as pd

    lr = dimension("lr", pd.Series([1e-4, 1e-3, 1e-2, 2e-4, None]))
    assert lr.numeric and lr.log and lr.present == 4 and lr.missing.tolist()[-1]
    assert lr.value_at(lr.position[1]) == pytest.approx(1e-3)
    flag = dimension("flag", pd.Series([True, False, True], dtype="bool"))
    assert not flag.numeric and flag.categories == ("false", "true") and flag.ordered
    text = dimension("opt", pd.Series(["sgd", "adam", None], dtype="string"))
    assert text.categories == ("adam", "sgd", "(none)") and not text.ordered
    assert text.position.tolist() == [1, 0, 2]
    assert dimension("same", pd.Series([3, 3, 3])) is None
    some = dimension("some", pd.Series([3, None, 3], dtype="Int64"))
    assert some is not None and some.categories == ("3", "(none)")
    layers = dimension("layers", pd.Series([[32, 16], [8], [32, 16]], dtype=object))
    assert layers.categories == ("[32, 16]", "[8]")
