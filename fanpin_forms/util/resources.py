"""Where the bundled form specs and templates are.

In a source checkout (and an editable install) they are the top-level
``form_specs/`` and ``templates/`` folders; a wheel carries copies under
``fanpin_forms/_bundled/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # fanpin_forms/


def bundled(name: str) -> Path:
    """The folder ``form_specs`` or ``templates`` shipped with fanpin-forms."""
    inside = _PACKAGE / "_bundled" / name
    return inside if inside.is_dir() else _PACKAGE.parent / name
