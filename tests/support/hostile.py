"""A sweep whose names and values were written by someone hostile (or careless): Rich markup,
math text, escape sequences, carriage returns, spreadsheet formulas, an int beyond float
range. Shared by the CLI and analysis tests of "everything shown is literal"."""

from __future__ import annotations

from tracker import Repository

EXPERIMENT = "cost $^$ [/] \x1b[2J"  # math text that does not parse, a closing tag, a clear
TEXTS = ["[/]", "a\rb", "=1+2", "-2+3", "@SUM(A1)", 'q"uote', "line\nbreak", "\x1b[31mred"]
HUGE = 10**400


def record_hostile(url: str) -> Repository:
    """One run per text of ``TEXTS`` (hyperparameter ``=cmd``), alternating ``huge`` between
    ``HUGE`` and a small int, with two epochs of ``val_accuracy`` and ``loss``."""
    repo = Repository(url)
    for i, text in enumerate(TEXTS):
        key = repo.start_run(EXPERIMENT, hyperparameters={
            "=cmd": text, "huge": HUGE if i % 2 else i, "$\\frac$": 0.1 * (i + 1)})
        for epoch in range(2):
            repo.log_epoch(key, epoch, {"val_accuracy": 0.5 + 0.05 * i + 0.01 * epoch,
                                        "loss": 1.0 - 0.05 * i})
        repo.finish_run(key)
    return repo
