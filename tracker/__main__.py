"""``python -m tracker`` runs the ``tracker`` command."""

from .cli import main

main()
