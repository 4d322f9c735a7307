"""What the ledger needs from the installation, handed in by the composition root
(``App.ledger_setup()``): the ledger never imports the application object."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..forms.county import County
from ..forms.fieldtypes import FieldType
from ..forms.model import FormSpec

#: the form whose fields are the ledger's columns (the 监测对象台账 sheet)
FORM = "ledger"


@dataclass(frozen=True)
class LedgerSetup:
    form: FormSpec
    county: County
    field_types: Mapping[str, FieldType]
    #: (plugin, check) of every registered record check, run on each imported row
    record_checks: Sequence[tuple[str, Callable]]
