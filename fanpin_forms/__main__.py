"""``python -m fanpin_forms`` runs the ``fanpin`` command."""

from .cli import main

main()
