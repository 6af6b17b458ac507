"""The ``tracker`` command: a thin shell over the library, one module per group of commands.

Every command turns a library error into a one-line message and a non-zero exit; no
traceback reaches the user, and URLs are printed with their password masked. May import
everything else, but loads the library only when a command runs (``lazy``), so that
``tracker --help`` starts without SQLAlchemy.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ..errors import TrackerError

app = typer.Typer(
    name="tracker",
    help="Record Keras / keras-tuner hyperparameter searches in SQL, and query them.\n\n"
    "The database is --url, else $TRACKER_DATABASE_URL, else sqlite:///tracker.db. "
    "Prefer the environment variable to a password on the command line.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from .._version import __version__

        typer.echo(f"sweep-tracker {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", is_eager=True,
                     callback=_print_version),
    ] = False,
) -> None:
    """Options before the command: ``tracker --version``."""


def _register() -> None:
    from . import (
        analysis_commands,
        curation_commands,
        db_commands,
        demo_command,
        import_commands,
        importance_command,
        plot_commands,
        pruning_command,
        query_commands,
        reliability_commands,
        trial_commands,
        ui_command,
    )

    query_commands.register(app)
    app.command()(trial_commands.trials)
    app.command()(importance_command.importance)
    app.command("prune-stats")(pruning_command.prune_stats)
    analysis_commands.register(app)
    reliability_commands.register(app)
    curation_commands.register(app)
    app.command()(demo_command.demo)
    app.command()(ui_command.ui)
    app.add_typer(db_commands.app, name="db")
    app.add_typer(plot_commands.app, name="plot")
    app.add_typer(import_commands.app, name="import")


_register()


def main() -> None:
    """Entry point of the ``tracker`` console script."""
    try:
        app()
    except TrackerError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except Exception as exc:  # a bug of ours: still one line, still no password
        if os.environ.get("TRACKER_DEBUG"):
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (set TRACKER_DEBUG=1 for a traceback)")


def _fail(message: str, code: int = 1) -> None:
    from ..store.db import mask_text
    from .output import literal

    print(f"error: {literal(mask_text(message), lines=True)}", file=sys.stderr)
    raise SystemExit(code)
