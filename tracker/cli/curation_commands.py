"""Curation commands: tag, untag, note, rename, mv, rm, restore, purge, audit.

A run is its id or key; ``--where EXPR -e EXP`` picks many. Commands that change or remove
runs show what they will touch (counts) and ask first: ``--yes`` for scripts, ``--dry-run``
to look without changing anything.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import TrackerError
from .lazy import Repository
from .options import ExperimentName, Format, Url, Where
from .output import show

Runs = Annotated[Optional[list[str]], typer.Argument(  # noqa: UP045
    help="Run ids or keys.", show_default=False)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (for scripts).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what it would touch; change "
                                      "nothing.")]


def register(app: typer.Typer) -> None:
    for command in (tag, untag, note, rename, mv, rm, restore, purge, audit):
        app.command(name=command.__name__)(command)


def tag(
    items: Annotated[list[str], typer.Argument(help="RUN... KEY=VALUE... (runs: ids or keys).")],
    where: Where = None,
    experiment: ExperimentName = None,
    url: Url = None,
) -> None:
    """Tag runs (or, with only -e, the experiment) with KEY=VALUE text labels.

    Example: tracker tag 12 stage=shipped reviewer=ana
    Example: tracker tag --where "best.val_accuracy > 0.95" -e mnist stage=candidate
    """
    from ..store.curation_input import parse_tags

    pairs = parse_tags(i for i in items if "=" in i)
    if not pairs:
        raise TrackerError("give at least one KEY=VALUE tag, e.g. tracker tag 12 stage=shipped")
    repo = Repository(url)
    count = repo.tag(_target(repo, [i for i in items if "=" not in i], where, experiment),
                     **pairs)
    typer.echo(f"tagged {_many(count, 'target')} with {', '.join(pairs)}")


def untag(
    runs: Runs = None,
    names: Annotated[list[str], typer.Option("--tag", "-t", help="Tag key to remove "
                                             "(repeat it).")] = ...,  # type: ignore[assignment]
    where: Where = None,
    experiment: ExperimentName = None,
    url: Url = None,
) -> None:
    """Remove tags from runs (or, with only -e, from the experiment).

    Example: tracker untag 12 -t stage
    """
    repo = Repository(url)
    count = repo.untag(_target(repo, runs or [], where, experiment), *names)
    typer.echo(f"removed {_many(count, 'tag')}")


def note(
    args: Annotated[list[str], typer.Argument(help="[RUN] TEXT (\"\" clears the note).")],
    where: Where = None,
    experiment: ExperimentName = None,
    url: Url = None,
) -> None:
    """Set the note (free text) of a run, of runs or of an experiment.

    RUN is an id or a key; --where EXPR -e EXP notes many runs, -e EXP alone the experiment.

    Example: tracker note 12 "the configuration we shipped in v2"
    """
    if len(args) not in (1, 2):
        raise TrackerError('tracker note takes [RUN] TEXT, e.g. tracker note 12 "shipped"')
    repo = Repository(url)
    count = repo.note(_target(repo, args[:-1], where, experiment), args[-1] or None)
    typer.echo(f"{'noted' if args[-1] else 'cleared the note of'} {_many(count, 'target')}")


def rename(
    old: Annotated[str, typer.Argument(help="Experiment's name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    url: Url = None,
) -> None:
    """Rename an experiment in place; sweeps writing under the old name follow.

    Example: tracker rename mnist mnist-v1
    """
    found = Repository(url).rename_experiment(old, new)
    typer.echo(f"renamed experiment {old!r} to {found.name!r}")


def mv(
    runs: Runs = None,
    to: Annotated[str, typer.Option("--to", help="Experiment to move them into (created if "
                                    "needed).")] = ...,  # type: ignore[assignment]
    where: Where = None,
    experiment: ExperimentName = None,
    yes: Yes = False,
    dry_run: DryRun = False,
    url: Url = None,
) -> None:
    """Move runs to another experiment, keras-tuner attempts kept consistent.

    A moved trial becomes the next attempt of that trial id in the target, executions kept.

    Example: tracker mv 12 13 --to mnist-rerun
    Example: tracker mv --where "tags.batch == 'b2'" -e mnist --to mnist-b2 --yes
    """
    repo = Repository(url)
    _check_picked(runs, where, experiment, "move")

    def call(dry: bool):
        return repo.move_runs(runs or None, to, experiment=experiment, where=where, dry_run=dry)

    _confirmed(call, "move", yes, dry_run, f" to {to!r}")


def rm(
    runs: Runs = None,
    where: Where = None,
    experiment: ExperimentName = None,
    yes: Yes = False,
    dry_run: DryRun = False,
    url: Url = None,
) -> None:
    """Soft-delete runs, or a whole experiment (-e alone).

    Deleted runs are hidden from every read, listed by `tracker runs --deleted`, back with
    `tracker restore`, gone for good with `tracker purge`. A run whose process still trains
    stays deleted.

    Example: tracker rm 12 13
    Example: tracker rm --where "status == 'failed'" -e mnist --yes
    Example: tracker rm -e mnist-broken
    """
    repo = Repository(url)
    _check_picked(runs, where, experiment, "delete")
    if not runs and where is None:
        _confirmed(lambda dry: repo.delete_experiment(experiment, dry_run=dry),
                   f"delete experiment {experiment!r} with", yes, dry_run)
        return
    _confirmed(lambda dry: repo.delete_runs(runs or None, experiment=experiment, where=where,
                                            dry_run=dry), "delete", yes, dry_run)


def restore(
    runs: Runs = None,
    where: Where = None,
    experiment: ExperimentName = None,
    yes: Yes = False,
    dry_run: DryRun = False,
    url: Url = None,
) -> None:
    """Bring back deleted runs, or a deleted experiment with all its runs (-e alone).

    Example: tracker restore 12
    Example: tracker restore -e mnist-broken
    """
    repo = Repository(url)
    _check_picked(runs, where, experiment, "restore")
    _confirmed(lambda dry: repo.restore_runs(runs or None, experiment=experiment, where=where,
                                             dry_run=dry), "restore", yes, dry_run)


def purge(
    older_than: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--older-than", help="Only what was deleted longer ago than this: 30d, 12h, 90m, "
        "3600 (seconds). Default: everything deleted.", show_default=False)] = None,
    vacuum: Annotated[bool, typer.Option("--vacuum", help="Then give the space back to the "
                                         "file system (SQLite VACUUM).")] = False,
    yes: Yes = False,
    dry_run: DryRun = False,
    url: Url = None,
) -> None:
    """Remove deleted runs and experiments for good, epochs, batches and tags too.

    Runs still training (fresh heartbeat) wait for their end. Nothing else is touched.

    Example: tracker purge --older-than 30d --vacuum
    """
    from ..store.curation_input import parse_duration

    repo = Repository(url)
    seconds = parse_duration(older_than)
    done = _confirmed(lambda dry: repo.purge(older_than=seconds, dry_run=dry),
                      "purge for good", yes, dry_run)
    if done is None or done.dry_run or not done.runs:
        return
    if vacuum:
        repo.vacuum()
        typer.echo("space given back (VACUUM)")
    elif repo.engine.dialect.name == "sqlite":
        typer.echo("the file keeps its size: `tracker purge --vacuum` (or SQLite's VACUUM) "
                   "gives the space back")


def audit(
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, help="How many entries.")] = 50,
    url: Url = None,
    fmt: Format = "table",
) -> None:
    """Who deleted, restored, renamed, moved or purged what, and when.

    Newest first.

    Example: tracker audit -n 20
    """
    rows = [{"at": a.at, "action": a.action, "target": a.target, "user": a.user,
             "host": a.host, "details": a.details} for a in Repository(url).audit(limit)]
    show(rows, title="Audit log", fmt=fmt)


# -- helpers ------------------------------------------------------------------------------------


def _target(repo, runs: list[str], where, experiment):
    """The runs named, or those of -e passing --where, or (-e alone) the experiment."""
    if runs:
        return runs
    if where is not None:
        return repo.runs(experiment, where=where)
    if experiment is not None:  # the experiment itself (not a run with that key)
        found = [e for e in repo.experiments() if e.name == experiment]
        return found[0] if found else experiment
    raise TrackerError("say which: RUN ids or keys, --where EXPR (with -e EXP), or -e EXP")


def _check_picked(runs, where, experiment, verb: str) -> None:
    if runs and where is not None:
        raise TrackerError(f"give runs or --where, not both: which runs should {verb} apply to?")
    if not runs and where is None and experiment is None:
        raise TrackerError(f"say which runs to {verb}: RUN ids or keys, --where EXPR -e EXP, "
                           "or -e EXP")


def _confirmed(call, verb: str, yes: bool, dry_run: bool, suffix: str = ""):
    """Show what ``call(dry_run=True)`` touches, ask, then ``call(False)``; the result."""
    plan = call(True)
    touched = _counts(plan) + suffix
    if not plan.runs and not plan.experiments:
        typer.echo(f"nothing to {verb.split()[0]}")
        return None
    if dry_run:
        typer.echo(f"would {verb} {touched} (dry run: nothing changed)")
        return plan
    if not yes:
        try:
            agreed = typer.confirm(f"{verb} {touched}?", default=False)
        except typer.Abort:  # no answer (no terminal, end of input)
            raise TrackerError("not confirmed, nothing changed: pass --yes to confirm in "
                               "scripts") from None
        if not agreed:
            typer.echo("nothing changed")
            return None
    done = call(False)
    typer.echo(f"{_past(verb)} {_counts(done)}{suffix}")
    return done


def _counts(result) -> str:
    text = (f"{_many(result.runs, 'run')} ({_many(result.epochs, 'epoch row')}, "
            f"{_many(result.batches, 'batch row')})")
    if result.experiments and result.action == "purge":
        text += f" and {_many(result.experiments, 'experiment')}"
    return text


def _past(verb: str) -> str:
    first, _, rest = verb.partition(" ")
    done = {"move": "moved", "delete": "deleted", "restore": "restored", "purge": "purged"}
    return " ".join(filter(None, [done.get(first, first), rest]))


def _many(count: int, what: str) -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"
