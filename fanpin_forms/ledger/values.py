"""A case's field values as the ledger stores them (JSON text) and shows them (masked)."""

from __future__ import annotations

import json
from typing import Any

from ..forms.fieldtypes import FieldType, jsonable
from ..forms.model import Field, FormSpec
from ..privacy.masking import DEFAULT, MaskPolicy, mask_value


def encode(value: Any) -> str | None:
    """The stored text of a parsed value; None for a blank value (no row is stored)."""
    if value is None or value == () or value == [] or value == "":
        return None
    if isinstance(value, dict) and not any(v not in (None, "") for v in value.values()):
        return None
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)


def decode(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def sensitive_kind(f: Field, types: dict[str, FieldType]) -> str | None:
    ftype = types.get(f.type)
    return f.sensitive or (ftype.sensitive if ftype is not None else None)


def shown(text: str | None, f: Field | None, types: dict[str, FieldType], policy: MaskPolicy = DEFAULT) -> str | None:
    """A stored value as it may appear in a listing, log or audit row: sensitive kinds masked."""
    if text is None:
        return None
    value = decode(text)
    plain = value if isinstance(value, str) else (
        "".join(str(v) for v in value.values() if v) if isinstance(value, dict) else json.dumps(value, ensure_ascii=False))
    kind = sensitive_kind(f, types) if f is not None else None
    if kind:
        try:
            return mask_value(kind, plain, policy)
        except ValueError:
            return "…"
    return plain


def field_labels(form: FormSpec) -> dict[str, str]:
    return {f.key: f.label for f in form.fields}
