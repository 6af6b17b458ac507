"""``tracker report``: one self-contained HTML file that opens in headless Chromium without
errors, offline, with every image decoding, and the numbers of the repository's queries."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from analysis_fixtures import KERAS_EXPERIMENT, SYNTHETIC_EXPERIMENT
from cli_helpers import run_cli

from tracker import Repository
from tracker.analysis.report import build_report

pytest.importorskip("matplotlib")
pytest.importorskip("keras")
pytestmark = pytest.mark.keras

# Injected into a copy of the report: records script errors, and once everything has loaded,
# how many images there are and how many decoded.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || e.type)), true);
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const decoded = images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  document.body.setAttribute("data-images", images.length + "/" + decoded.length);
  document.body.setAttribute("data-errors", window.__errors.join(" | "));
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("chromium is not installed (.ci/run installs it): the report must be "
                    "checked in a real browser under CI", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium)")


def open_in_chromium(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no host resolves
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
        *extra, page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path)})


def console_errors(stderr: str) -> list[str]:
    """Page errors Chromium logs: console messages, uncaught exceptions, failed loads."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line
            or "net::ERR_" in line]


@pytest.mark.parametrize("experiment", [KERAS_EXPERIMENT, SYNTHETIC_EXPERIMENT])
def test_report_opens_in_chromium_without_errors(sweep_url, tmp_path, experiment):
    report = tmp_path / "report.html"
    out = run_cli("report", "-e", experiment, "-o", str(report), "--url", sweep_url)
    assert out.code == 0, out.err
    text = report.read_text()
    # Self-contained: no reference to anything outside the file.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", text)
    assert "url(" not in text.replace("url(#", "")
    images = len(re.findall(r'<img [^>]*src="data:image/png;base64,', text))
    varying = 3  # batch_size, learning_rate, units (keras) / batch_size, learning_rate, optimizer
    # curves, hparams, parallel coordinates, one box plot per hyperparameter
    assert images == 3 + varying

    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1))
    done = open_in_chromium(probed, tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, done.stdout[:500]
    attributes = dict(re.findall(r'(data-[a-z]+)="([^"]*)"', body.group(1)))
    assert attributes.get("data-images") == f"{images}/{images}", attributes
    assert attributes.get("data-errors") == "", attributes
    assert console_errors(done.stderr) == []

    # And it shows something: a screenshot with ink on it.
    shot = tmp_path / "shot.png"
    done = open_in_chromium(report, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    from matplotlib import image

    pixels = image.imread(shot)[..., :3]
    assert (pixels < 0.9).any(axis=2).mean() > 0.02  # a page with content, not a blank one


def test_report_numbers_are_the_queries(sweep_url):
    repo = Repository(sweep_url)
    text = html.unescape(build_report(repo, experiment=SYNTHETIC_EXPERIMENT))
    top = repo.top_runs("val_accuracy", k=10, experiment=SYNTHETIC_EXPERIMENT)
    for rank, ranked in enumerate(top, 1):
        assert re.search(rf"<td class=\"num\">{rank}</td><td class=\"num\">{ranked.run.id}</td>"
                         rf"<td class=\"num\">{format(ranked.value, '.6g')}</td>", text)
    for group in repo.best_by("batch_size", "val_accuracy", experiment=SYNTHETIC_EXPERIMENT):
        assert (f"<td>{group.group}</td><td class=\"num\">{format(group.value, '.6g')}</td>"
                f"<td class=\"num\">{group.run_id}</td>") in text
    assert "Top 10 runs by val_accuracy" in text and "100 runs" in text
    assert "Same in every run: epochs = 12" in text


def test_report_escapes_names_from_the_database(url, tmp_path):
    repo = Repository(url)
    nasty = "<script>alert('x')</script>"
    for value in (1, 2):
        key = repo.start_run(nasty, hyperparameters={"<b>bold</b>": value, "opt": nasty})
        repo.log_epochs(key, {0: {"val_accuracy": 0.5 + value / 10}})
        repo.finish_run(key)
    text = build_report(repo, experiment=nasty)
    assert "<script>" not in text and "<b>bold</b>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text


def test_report_of_an_empty_database_and_bad_arguments(url, tmp_path):
    report = tmp_path / "empty.html"
    out = run_cli("report", "-o", str(report), "--url", url)
    assert out.code == 0, out.err
    assert "No runs recorded yet" in report.read_text()
    out = run_cli("report", "-o", str(tmp_path / "no" / "r.html"), "--url", url)
    assert out.code == 1 and "there is no folder" in out.err


def test_report_shows_which_hyperparameters_matter(sweep_url):
    repo = Repository(sweep_url)
    text = html.unescape(build_report(repo, experiment=SYNTHETIC_EXPERIMENT))
    rows = repo.importance("val_accuracy", SYNTHETIC_EXPERIMENT)
    assert rows[0].name == "learning_rate"
    for rank, row in enumerate(rows, 1):
        assert (f'<td class="num">{rank}</td><td>{row.name}</td>'
                f'<td class="num">{row.importance:.3f}</td>') in text
    assert "Which hyperparameters matter" in text and "Parallel coordinates" in text
    small = html.unescape(build_report(repo, experiment=KERAS_EXPERIMENT))
    assert "Not computed: hyperparameter importance needs at least 5 completed runs" in small
