"""``tracker plot``: on sweeps recorded by the tests, each command writes an image a person can
read (size, ink, colours; SVG and PDF too), and the figures show what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_fixtures import KERAS_EXPERIMENT, SYNTHETIC_EXPERIMENT
from cli_helpers import run_cli

from tracker import Repository

pytest.importorskip("matplotlib")
pytest.importorskip("keras")
pytestmark = pytest.mark.keras

from tracker.analysis.plots import log_scaled, plot_compare, plot_curves, plot_hparams  # noqa: E402

COMMANDS = {
    "curves": ["--metric", "val_loss", "--group-by", "learning_rate"],
    "hparams": ["--metric", "val_accuracy"],
    "compare": ["--group-by", "batch_size", "--metric", "val_accuracy"],
}


def assert_readable_png(path: Path, *, min_colors: int = 4) -> None:
    """A PNG of a sensible size with real content: enough non-white pixels, several colours."""
    import numpy as np
    from matplotlib import image

    assert path.stat().st_size > 20_000, f"{path} is only {path.stat().st_size} bytes"
    pixels = image.imread(path)[..., :3]
    height, width = pixels.shape[:2]
    assert 800 <= width <= 4000 and 500 <= height <= 4000, (width, height)
    ink = (pixels < 0.9).any(axis=2).mean()
    assert 0.015 < ink < 0.8, f"{path}: {ink:.1%} of the pixels are not white"
    colors = np.unique((pixels * 255).astype("uint8").reshape(-1, 3), axis=0)
    assert len(colors) >= min_colors


def in_process(*args: str):
    """The command run inside this process (fast; errors come back as exceptions)."""
    from typer.testing import CliRunner

    from tracker.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_plot_command_writes_a_readable_image(sweep_url, tmp_path, command):
    png = tmp_path / f"{command}.png"
    out = run_cli("plot", command, *COMMANDS[command], "-e", KERAS_EXPERIMENT, "-o", str(png),
                  "--url", sweep_url)
    assert out.code == 0, out.err
    assert f"Wrote {png}" in out.err
    assert_readable_png(png)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_plots_of_a_100_run_sweep_are_readable(sweep_url, tmp_path, command):
    png = tmp_path / f"{command}.png"
    result = in_process("plot", command, *COMMANDS[command], "-e", SYNTHETIC_EXPERIMENT,
                        "-o", str(png), "--url", sweep_url)
    assert result.exit_code == 0, result.output
    assert_readable_png(png, min_colors=50)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_svg_and_pdf(sweep_url, tmp_path, command):
    svg, pdf = tmp_path / f"{command}.svg", tmp_path / f"{command}.pdf"
    for path in (svg, pdf):
        result = in_process("plot", command, *COMMANDS[command], "-e", KERAS_EXPERIMENT,
                            "-o", str(path), "--url", sweep_url)
        assert result.exit_code == 0, result.output
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    metric = COMMANDS[command][COMMANDS[command].index("--metric") + 1]
    assert metric in text  # matplotlib keeps each text as a comment beside its glyphs
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


def test_curves_legend_stays_readable_for_100_runs(sweep_url):
    figure = plot_curves(sweep_url, "val_loss", group_by="learning_rate",
                         experiment=SYNTHETIC_EXPERIMENT)
    axes = figure.axes[0]
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert 3 <= len(labels) <= 12  # ranges of learning rates, not 100 runs
    assert sum(int(t.rsplit("n=", 1)[1].rstrip(")")) for t in labels if "n=" in t) == 100
    assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == "val_loss"
    assert "100 runs" in axes.get_title(loc="left")
    # One thin line per run, drawn: every run's curve is in the figure.
    drawn = sum(len(c.get_segments()) for c in axes.collections)
    assert drawn == 100
    # A few diverging runs are said so, not hidden.
    assert any("NaN or ±inf" in t.get_text() for t in axes.texts)


def test_curves_group_means_are_the_means(sweep_url):
    repo = Repository(sweep_url)
    figure = plot_curves(repo, "val_accuracy", group_by="batch_size",
                         experiment=KERAS_EXPERIMENT)
    epochs = repo.to_dataframe(KERAS_EXPERIMENT, kind="epochs", metrics=["val_accuracy"])
    runs = repo.to_dataframe(KERAS_EXPERIMENT)
    merged = epochs.merge(runs[["run_id", "batch_size"]], on="run_id")
    expected = merged[merged["batch_size"] == 16].groupby("epoch")["value"].mean()
    bold = [line for line in figure.axes[0].lines if line.get_linewidth() > 2]
    assert len(bold) == 2
    assert list(bold[0].get_ydata()) == pytest.approx(expected.tolist())


def test_hparams_axes(sweep_url):
    figure = plot_hparams(sweep_url, "val_accuracy", experiment=SYNTHETIC_EXPERIMENT)
    panels = {a.get_xlabel(): a for a in figure.axes if a.get_visible()}
    assert set(panels) == {"learning_rate", "batch_size", "optimizer"}  # epochs is constant
    assert panels["learning_rate"].get_xscale() == "log"
    assert [t.get_text() for t in panels["optimizer"].get_xticklabels()] == [
        "adam", "rmsprop", "sgd"]
    assert panels["batch_size"].get_ylabel() == "best val_accuracy"
    highlighted = panels["learning_rate"].collections[1].get_offsets()
    assert len(highlighted) == 5
    best = Repository(sweep_url).top_runs("val_accuracy", k=5, experiment=SYNTHETIC_EXPERIMENT)
    assert sorted(highlighted[:, 1]) == pytest.approx(sorted(r.value for r in best))
    assert "Same in every run: epochs=12." in figure.get_supxlabel()


def test_compare_boxes_match_best_by(sweep_url):
    figure = plot_compare(sweep_url, "batch_size", "val_accuracy",
                          experiment=SYNTHETIC_EXPERIMENT)
    axes = figure.axes[0]
    ticks = [t.get_text() for t in axes.get_xticklabels()]
    groups = Repository(sweep_url).best_by("batch_size", "val_accuracy",
                                           experiment=SYNTHETIC_EXPERIMENT)
    assert ticks == [f"{g.group}\n(n={g.runs})" for g in groups]
    star = axes.collections[-1].get_offsets()[0]
    assert star[1] == pytest.approx(max(g.value for g in groups))
    assert "higher is better" in axes.get_ylabel()


def test_log_scale_decision():
    assert log_scaled([1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
    assert log_scaled([16, 32, 64, 128, 256])
    assert not log_scaled([5, 10, 20, 30, 40, 50])  # epochs: linear
    assert not log_scaled([0.0, 0.1, 0.2, 0.5])  # dropout: zero and linear
    assert not log_scaled([32, 64, 96, 128, 160, 192, 224, 256, 288, 320])  # a linear step


@pytest.mark.parametrize(
    "args, message",
    [
        (["curves", "-m", "nope"], "no metric 'nope'"),
        (["compare", "-g", "nope", "-m", "val_accuracy"], "no hyperparameter 'nope'"),
        (["hparams", "-m", "val_accuracy", "-o", "x.gif"], "use .png, .svg or .pdf"),
        (["curves", "-m", "val_loss", "-e", "nope"], "no experiment named 'nope'"),
    ],
)
def test_plot_errors_are_clear(sweep_url, args, message):
    from tracker import TrackerError

    result = in_process("plot", *args, "--url", sweep_url)
    assert isinstance(result.exception, TrackerError) and message in str(result.exception)


def test_plot_error_is_one_line_from_the_shell(sweep_url):
    out = run_cli("plot", "curves", "-m", "nope", "--url", sweep_url)
    assert out.code == 1 and "no metric 'nope'" in out.err and "Traceback" not in out.err
    assert len(out.err.strip().splitlines()) == 1
