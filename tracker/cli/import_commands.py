"""``tracker import``: runs recorded by other tools, one command per source."""

from __future__ import annotations

import typer

from .keras_tuner_command import keras_tuner
from .tensorboard_command import tensorboard

app = typer.Typer(
    help="Import runs recorded by other tools (see `tracker import COMMAND --help`).",
    no_args_is_help=True,
)
app.command("keras-tuner")(keras_tuner)
app.command("tensorboard")(tensorboard)
