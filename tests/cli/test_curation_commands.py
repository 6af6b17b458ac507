"""``tracker tag / untag / note / rename / mv / rm / restore / purge / audit``, run as users run
them (a subprocess), on both backends, with the rows they touch counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_helpers import run_cli

from tracker import Repository


@pytest.fixture
def sweep(url) -> str:
    repo = Repository(url)
    for i in range(4):
        key = repo.start_run("cli", hyperparameters={"units": 8 * (i % 2 + 1)}, trial_id=str(i),
                             objective="val_accuracy", direction="max")
        repo.log_epochs(key, {e: {"val_accuracy": i / 10 + e / 100} for e in range(2)})
        repo.finish_run(key)
    return url


def ids(url: str, **kwargs) -> list[int]:
    return [r.id for r in Repository(url).runs(**kwargs)]


def cli(*args: str, url: str, stdin: str) -> subprocess.CompletedProcess:
    """The command with ``stdin`` as its input (the answer to its question)."""
    return subprocess.run([sys.executable, "-m", "tracker", *args, "--url", url], input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_tag_untag_note_and_see_them(sweep):
    first, second, *_ = ids(sweep)
    out = run_cli("tag", str(first), "stage=shipped", "owner=ana", "--url", sweep)
    assert out.code == 0 and "tagged 1 target with stage, owner" in out.out
    out = run_cli("tag", "--where", "units == 16", "-e", "cli", "batch=b2", "--url", sweep)
    assert out.code == 0 and "tagged 2 targets" in out.out
    assert run_cli("note", str(second), "diverged: see PR 41", "--url", sweep).code == 0
    assert run_cli("tag", "-e", "cli", "team=vision", "--url", sweep).code == 0
    assert Repository(sweep).experiment_tags("cli") == {"team": "vision"}

    listed = json.loads(run_cli("runs", "-e", "cli", "-f", "json", "--url", sweep).out)
    assert [row["tags.stage"] for row in listed] == ["shipped", None, None, None]
    assert [row["tags.batch"] for row in listed] == [None, "b2", None, "b2"]
    shown = json.loads(run_cli("show", str(second), "-f", "json", "--url", sweep).out)
    assert shown["note"] == "diverged: see PR 41" and shown["tags"] == {"batch": "b2"}
    table = run_cli("show", str(first), "--url", sweep).out
    assert "Tags" in table and "shipped" in table
    where = run_cli("runs", "--where", "tags.stage == 'shipped'", "-f", "json", "--url", sweep)
    assert [row["id"] for row in json.loads(where.out)] == [first]

    out = run_cli("untag", str(first), "-t", "owner", "--url", sweep)
    assert out.code == 0 and "removed 1 tag" in out.out
    assert Repository(sweep).run(first).tags == {"stage": "shipped"}
    bad = run_cli("tag", str(first), "oops", "--url", sweep)
    assert bad.code == 1 and "KEY=VALUE" in bad.err and "Traceback" not in bad.err


def test_rm_asks_shows_counts_and_restore_brings_back(sweep):
    every = ids(sweep)
    dry = run_cli("rm", str(every[0]), str(every[1]), "--dry-run", "--url", sweep)
    assert dry.code == 0 and "would delete 2 runs (4 epoch rows, 0 batch rows)" in dry.out
    refused = cli("rm", str(every[0]), url=sweep, stdin="n\n")
    assert refused.returncode == 0 and "nothing changed" in refused.stdout
    no_terminal = cli("rm", str(every[0]), url=sweep, stdin="")
    assert no_terminal.returncode == 1 and "--yes" in no_terminal.stderr
    assert ids(sweep) == every
    agreed = cli("rm", str(every[0]), url=sweep, stdin="y\n")
    assert agreed.returncode == 0 and "deleted 1 run (2 epoch rows" in agreed.stdout
    out = run_cli("rm", "--where", "units == 16", "-e", "cli", "--yes", "--url", sweep)
    assert out.code == 0 and "deleted 2 runs" in out.out
    assert ids(sweep) == [every[2]]
    deleted = json.loads(run_cli("runs", "--deleted", "-f", "json", "--url", sweep).out)
    assert [row["id"] for row in deleted] == [every[0], every[1], every[3]]
    assert all(row["deleted"] for row in deleted)

    out = run_cli("restore", str(every[1]), "--yes", "--url", sweep)
    assert out.code == 0 and "restored 1 run" in out.out
    assert run_cli("rm", "-e", "cli", "--yes", "--url", sweep).code == 0
    assert ids(sweep) == []
    shown = run_cli("experiments", "-f", "json", "--url", sweep)
    assert json.loads(shown.out) == []
    out = run_cli("restore", "-e", "cli", "--yes", "--url", sweep)
    assert out.code == 0 and "restored 4 runs" in out.out
    assert ids(sweep) == every
    assert run_cli("rm", "--url", sweep).code == 1  # says which runs to delete


def test_purge_says_how_to_reclaim_space_and_audit_lists_who(sweep, backend):
    every = ids(sweep)
    run_cli("rm", str(every[0]), "--yes", "--url", sweep)
    young = run_cli("purge", "--older-than", "30d", "--yes", "--url", sweep)
    assert young.code == 0 and "nothing to purge" in young.out
    dry = run_cli("purge", "--dry-run", "--url", sweep)
    assert "would purge for good 1 run (2 epoch rows, 0 batch rows)" in dry.out
    out = run_cli("purge", "--yes", "--url", sweep)
    assert out.code == 0 and "purged for good 1 run" in out.out
    assert ("VACUUM" in out.out) == (backend == "sqlite")
    assert ids(sweep, deleted=True) == [] and ids(sweep) == every[1:]
    run_cli("rm", str(every[1]), "--yes", "--url", sweep)
    out = run_cli("purge", "--yes", "--vacuum", "--url", sweep)
    assert out.code == 0 and "purged for good 1 run" in out.out
    bad = run_cli("purge", "--older-than", "soon", "--url", sweep)
    assert bad.code == 1 and "not a duration" in bad.err

    audit = json.loads(run_cli("audit", "-f", "json", "--url", sweep).out)
    assert [row["action"] for row in audit] == ["purge", "delete", "purge", "delete"]
    assert audit[2]["details"]["run_ids"] == [every[0]] and audit[0]["user"]


def test_rename_and_mv(sweep):
    every = ids(sweep)
    out = run_cli("rename", "cli", "cli-v1", "--url", sweep)
    assert out.code == 0 and "renamed experiment 'cli' to 'cli-v1'" in out.out
    gone = run_cli("runs", "-e", "cli", "--url", sweep)
    assert gone.code == 1 and "renamed to 'cli-v1'" in gone.err
    out = run_cli("mv", str(every[0]), str(every[2]), "--to", "split", "--yes", "--url", sweep)
    assert out.code == 0 and "moved 2 runs (4 epoch rows, 0 batch rows) to 'split'" in out.out
    assert ids(sweep, experiment="split") == [every[0], every[2]]
    out = run_cli("mv", "--where", "units == 16", "-e", "cli-v1", "--to", "split", "--dry-run",
                  "--url", sweep)
    assert "would move 2 runs" in out.out and ids(sweep, experiment="cli-v1") == [every[1],
                                                                                  every[3]]
    assert run_cli("mv", str(every[1]), "--url", sweep).code != 0  # --to is required


def test_every_curation_command_has_help_with_an_example():
    for command in ("tag", "untag", "note", "rename", "mv", "rm", "restore", "purge", "audit"):
        out = run_cli(command, "--help")
        assert out.code == 0 and "Example: tracker " + command in out.out, command
