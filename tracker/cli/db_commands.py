"""``tracker db``: create and migrate the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from .lazy import db, schema
from .options import Url

app = typer.Typer(
    help="Create or migrate the database schema (run `tracker db upgrade` before a sweep).",
    no_args_is_help=True,
)


@app.command()
def upgrade(
    url: Url = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create the tables, or migrate them to the newest schema.

    Safe to run from many processes at once, and again and again.

    Example: tracker db upgrade --url postgresql://me@db/sweeps
    """
    where = db.mask_url(db.resolve_url(url))
    before, after = schema.upgrade(url, revision)
    if before == after:
        typer.echo(f"{where}: already at revision {after}")
    else:
        typer.echo(f"{where}: upgraded from {before or 'an empty database'} to revision {after}")


@app.command()
def current(url: Url = None) -> None:
    """Print the database's schema revision and whether it is the newest.

    Example: tracker db current
    """
    where = db.mask_url(db.resolve_url(url))
    found = schema.current_revision(url)
    head = schema.head_revision()
    missing = schema.missing_database(url)
    if missing is not None:
        typer.echo(f"{where}: not migrated: there is no database at {missing} "
                   "(`tracker db upgrade` creates it)")
    elif found is None:
        typer.echo(f"{where}: not migrated (run `tracker db upgrade`)")
    elif found == head:
        typer.echo(f"{where}: revision {found} (head)")
    else:
        typer.echo(f"{where}: revision {found}, newest is {head} (run `tracker db upgrade`)")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' drops every table.")],
    url: Url = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Migrate the schema down to REVISION. Data in dropped tables or columns is lost.

    Example: tracker db downgrade base --yes
    """
    where = db.mask_url(db.resolve_url(url))
    if not yes:
        typer.confirm(f"Downgrade {where} to {revision}? Data may be lost", abort=True)
    before, after = schema.downgrade(url, revision)
    typer.echo(f"{where}: downgraded from {before} to {after or 'base (no tables)'}")
