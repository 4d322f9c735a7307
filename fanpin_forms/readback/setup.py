"""What reading returned paper needs, handed in by the composition root (``App.read_setup()``).

Read-back never imports the application object or the ``render`` package: it gets

* the chosen county, the field types and the forms;
* a :class:`Printer`, the three render functions it uses — to print the blank form a
  scan is compared with, and to know what a pre-filled form printed in each blank;
* ``load_records(form, path, sheet=...)``: the household sheet loaded and checked, as
  ``fanpin validate`` does (for ``--data``);
* ``rebuild``: a picklable, argument-free callable that makes the same setup in a
  worker process that did not fork (a county's tables are read-only mappings, which
  do not pickle: the worker loads the plugins again instead).

The memoised blanks and header layouts of a setup live on the setup itself, so they
go when it goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..forms.county import County
from ..forms.fieldtypes import FieldType
from ..forms.model import FormSpec


@dataclass(frozen=True)
class Printer:
    """The product's own printing path, as read-back uses it.

    ``compile(form, None)`` → the compiled template (``.data`` is its bytes);
    ``context(form, record, county, year, ident, types=...)`` → the template context;
    ``to_pdf(compiled, [context], path, workers=1, label=...)`` writes the PDF."""

    compile: Callable[..., Any]
    context: Callable[..., dict]
    to_pdf: Callable[..., Any]


@dataclass(frozen=True, eq=False)
class ReadSetup:
    county: County
    field_types: Mapping[str, FieldType]
    forms: Mapping[str, FormSpec]
    printer: Printer
    load_records: Callable[..., Any] | None = None
    rebuild: Callable[[], ReadSetup] | None = None
    #: per-setup memo of blanks and header layouts (see :mod:`.reference`)
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def county_code(self) -> str | None:
        return getattr(self.county, "code", None)

    def form_titles(self) -> dict[str, str]:
        """Form id → title of every form that is printed (not the case-ledger sheets)."""
        return {f.id: f.title for f in self.forms.values() if getattr(f, "kind", "form") == "form"}


__all__ = ["Printer", "ReadSetup"]
