"""Importers treat a folder as untrusted, on both backends: files too large, FIFOs, links out
of the folder, absurd nesting and numbers are reported per trial (or per run), one bad trial
never aborts the import, and a trial the database refuses leaves nothing behind."""

from __future__ import annotations

import json
import os

import pytest
from cli_helpers import run_cli
from test_import_keras_tuner import trial_json, write

from tracker import Repository
from tracker.importers import keras_tuner as kt_import
from tracker.importers.keras_tuner import import_keras_tuner


@pytest.fixture
def hostile(tmp_path):
    project = tmp_path / "tuning" / "hostile"
    for i in range(4):
        write(project, f"trial_{i}", trial_json(str(i), {"units": 8 * (i + 1)}, score=0.5 + i / 10))
    # A trial id the schema cannot hold (it once aborted the import midway on PostgreSQL).
    write(project, "trial_long", trial_json("x" * 300, {"units": 3}, score=0.1))
    write(project, "trial_deep", '{"trial_id": "deep", "a": ' + "[" * 100_000 + "]" * 100_000
          + "}")
    write(project, "trial_digits", '{"trial_id": "digits", "score": ' + "9" * 5000 + "}")
    write(project, "trial_step", json.dumps(trial_json("step", {"units": 5}, step=10**30)))
    fifo = project / "trial_fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "trial.json")  # reading it would block the import for ever
    outside = tmp_path / "secret"
    write(outside, "trial_x", trial_json("outside", {"units": 1}))
    (project / "trial_link").symlink_to(outside / "trial_x")  # a folder out of the project
    write(project, "trial_file", trial_json("file", {"units": 2}))
    (project / "trial_file" / "trial.json").unlink()
    (project / "trial_file" / "trial.json").symlink_to(outside / "trial_x" / "trial.json")
    big = project / "trial_big"
    big.mkdir()
    with open(big / "trial.json", "w") as file:
        file.truncate(kt_import.MAX_FILE_BYTES + 1)  # sparse: no disk used
    return project


def test_one_bad_trial_never_aborts_the_import(url, hostile):
    out = run_cli("import", "keras-tuner", str(hostile), "--url", url, timeout=60)
    assert out.code == 0, out.err
    assert "Imported 4 of" in out.out
    err = " ".join(out.err.split())
    for expected in ("trial id 'xxxx", "nested too deeply", "absurd value", "not a regular file",
                     "symbolic link out of the project folder", "over the limit of"):
        assert expected in err, expected
    assert "trial_step" in err  # an epoch beyond the database's integers: that trial only
    repo = Repository(url)
    runs = repo.runs("hostile")
    assert sorted(r.trial_id for r in runs) == ["0", "1", "2", "3"]
    assert all(len(repo.history(r.id)) == 2 for r in runs)  # whole trials


def test_follow_symlinks_reads_links_out_of_the_folder(url, hostile):
    report = import_keras_tuner(hostile, url, follow_symlinks=True)
    assert report.imported == 6  # the linked folder and the linked trial.json too
    ids = {r.trial_id for r in Repository(url).runs("hostile")}
    assert {"outside", "0"} <= ids


def test_a_refused_trial_leaves_nothing_behind(url, tmp_path):
    project = tmp_path / "p" / "refused"
    write(project, "trial_0", trial_json("0", {"units": 4}))
    write(project, "trial_1", trial_json("1", {"units": 4, "y" * 300: 1}))  # a name too long
    write(project, "trial_2", trial_json("2", {"units": 4}, metrics={"v" * 300: 0.5}))
    report = import_keras_tuner(project, url)
    assert report.imported == 3  # the names too long are skipped with a warning, not the trial
    write(project, "trial_3", trial_json("t" * 256, {"units": 4}))
    report = import_keras_tuner(project, url)
    assert report.imported == 3 and "trial id" in report.skipped[0]
    repo = Repository(url)
    assert sorted(r.trial_id for r in repo.runs("refused")) == ["0", "1", "2"]


def test_a_fifo_swapped_in_after_the_check_never_blocks(tmp_path):
    from tracker.importers.folder import read_bytes

    os.mkfifo(tmp_path / "trial.json")
    with pytest.raises(OSError, match="not a regular file"):
        read_bytes(tmp_path / "trial.json", 100)
