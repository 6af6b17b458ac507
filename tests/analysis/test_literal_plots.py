"""Plots, the report and exports show names and values as text, on both backends: a ``$`` is a
dollar sign (math text once broke every plot and the report), LaTeX is never run, an int
beyond float range is drawn as its text, CSV reads back exactly, and a CSV meant for a
spreadsheet never runs a formula (OWASP)."""

from __future__ import annotations

import csv

import pytest
from cli_helpers import run_cli
from hostile import EXPERIMENT, HUGE, TEXTS, record_hostile

from tracker.analysis.exports import export
from tracker.analysis.plots import plot_curves, plot_hparams, save_figure
from tracker.analysis.plots.compare import plot_compare
from tracker.analysis.plots.parallel import plot_parallel
from tracker.analysis.report import build_report

pd = pytest.importorskip("pandas")
matplotlib = pytest.importorskip("matplotlib")


@pytest.mark.parametrize("usetex", [False, True])  # True: the user's rcParams ask for LaTeX
def test_every_plot_draws_hostile_names_as_text(url, tmp_path, usetex):
    record_hostile(url)
    plots = {
        "curves": lambda: plot_curves(url, "val_accuracy", experiment=EXPERIMENT,
                                      group_by="=cmd"),
        "hparams": lambda: plot_hparams(url, "val_accuracy", experiment=EXPERIMENT),
        "compare": lambda: plot_compare(url, "huge", "val_accuracy", experiment=EXPERIMENT),
        "parallel": lambda: plot_parallel(url, "val_accuracy", experiment=EXPERIMENT),
        "compare-text": lambda: plot_compare(url, "$\\frac$", "loss", experiment=EXPERIMENT),
    }
    with matplotlib.rc_context({"text.usetex": usetex}):
        for name, draw in plots.items():
            figure = draw()
            for fmt in ("png", "svg"):
                assert save_figure(figure, tmp_path / f"{name}.{fmt}").stat().st_size > 0
            texts = " ".join(t.get_text() for t in figure.findobj(matplotlib.text.Text))
            assert "\x1b" not in texts, name
    svg = (tmp_path / "curves.svg").read_text()
    assert "$^$" in svg and "[/]" in svg  # drawn as typed (SVG text keeps the characters)


def test_the_report_escapes_and_draws_everything(url):
    record_hostile(url)
    html = build_report(url_repo(url), experiment=EXPERIMENT)
    assert "Not drawn" not in html and "Not computed" not in html
    assert "\x1b" not in html.replace("\\x1b", "")
    assert "cost $^$ [/]" in html and "&quot;uote" in html
    assert str(HUGE)[:15] in html


def url_repo(url):
    from tracker import Repository

    return Repository(url)


def test_csv_export_reads_back_exactly(url, tmp_path):
    repo = record_hostile(url)
    path = tmp_path / "runs.csv"
    assert export(repo, path, experiment=EXPERIMENT) == len(TEXTS)
    frame = pd.read_csv(path, keep_default_na=False)
    assert frame["=cmd"].tolist() == TEXTS
    assert frame["experiment"].tolist() == [EXPERIMENT] * len(TEXTS)
    assert [int(v) for v in frame["huge"]] == [HUGE if i % 2 else i for i in range(len(TEXTS))]
    epochs = tmp_path / "epochs.csv"
    export(repo, epochs, kind="epochs", experiment=EXPERIMENT)
    assert len(pd.read_csv(epochs)) == len(TEXTS) * 2 * 2


def test_for_spreadsheet_quotes_formulas_and_leaves_numbers(url, tmp_path):
    record_hostile(url)
    path = tmp_path / "sheet.csv"
    out = run_cli("export", "--for-spreadsheet", "-e", EXPERIMENT, "-o", str(path),
                  "--url", url)
    assert out.code == 0, out.err
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["'=cmd"] for row in rows] == [
        "'" + t if t[0] in "=+-@\t\r" else t for t in TEXTS]
    assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r"))
               for row in rows for value in row.values())
    assert float(rows[0]["$\\frac$"]) == 0.1
    out = run_cli("export", "--for-spreadsheet", "-o", str(tmp_path / "r.jsonl"), "--url", url)
    assert out.code != 0 and "CSV files only" in out.err
