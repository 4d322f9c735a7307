"""The Jinja context of one printed page: every value already as the text to print.

All logic lives here, none in the template: the template only has plain
``{{ name }}`` tags (see :mod:`fanpin_forms.render.names`). A blank form is
``record=None``: every field slot is empty (full-width spaces of its width), every
tick box ☐; county and policy values (``{county.short_name}``, the baseline in
note ①) are printed on blank forms too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..forms.county import County
from ..forms.fieldtypes import FieldType
from ..forms.model import Field, FormSpec, Ref, split_placeholders
from ..intake.records import Record
from . import names as N
from .layout import printed_widths, text_width
from ..pagemark import encode_payload, ident_text

FULL_SPACE = "\u3000"
HALF_SPACE = "\u2002"  # en space
#: suffixes a printed address label may already carry ("____县（市区）")
_ADDRESS_SUFFIXES = ("自治州", "自治县", "自治旗", "街道", "社区", "市", "州", "县", "区", "乡", "镇", "村", "组", "省", "旗")
_LABEL_END = re.compile(r"[，。：；\u3000 ,.:;\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SPACES = re.compile(r"[\t\r\n\x0b\x0c]+")
DEFAULT_TABLE_ROWS = 5


def default_types() -> dict[str, FieldType]:
    from ..forms.fieldtypes import BUILTIN_TYPES

    return {t.name: t() for t in BUILTIN_TYPES}


def clean(text: str) -> str:
    """Printable one-line text: tabs/newlines become a space, control characters go."""
    return _CONTROL.sub("", _SPACES.sub(" ", text))


def pad(text: str, width: int | None) -> str:
    """Centre ``text`` in a slot of ``width`` full-width characters (never wider)."""
    if width is None:
        return text
    if not text:
        return FULL_SPACE * width
    halves = int((width - text_width(text)) * 2)  # free room in half-width steps, rounded down
    if halves <= 0:
        return text
    left, right = halves // 2, halves - halves // 2
    return (FULL_SPACE * (left // 2) + HALF_SPACE * (left % 2) + text
            + HALF_SPACE * (right % 2) + FULL_SPACE * (right // 2))


def strip_address_suffix(value: str, following: str) -> str:
    """``岳阳县`` before ``县（市区）`` prints as ``岳阳`` (the form already says 县)."""
    head = _LABEL_END.split(following, 1)[0]
    for suffix in _ADDRESS_SUFFIXES:
        if value.endswith(suffix) and len(value) > len(suffix):
            return value[: -len(suffix)] if suffix in head else value
    return value


@dataclass(frozen=True)
class _Slot:
    var: str
    names: tuple[str, ...]
    width: int | None  # printed width (after narrowing), None = not a slot
    following: str  # literal text right after the slot
    address_part: bool


_PLANS: dict[int, tuple[FormSpec, list[_Slot]]] = {}


def _plan(form: FormSpec) -> list[_Slot]:
    """The slots of ``form`` with their variables and printed widths (computed once per form)."""
    cached = _PLANS.get(id(form))
    if cached is not None and cached[0] is form:
        return cached[1]
    widths = N.default_widths(form)
    printed = printed_widths(form)
    seen: set[str] = set()
    out: list[_Slot] = []
    for text in N.printed_texts(form):
        pieces = split_placeholders(text or "")
        for i, piece in enumerate(pieces):
            if not isinstance(piece, Ref):
                continue
            var = N.slot_var(piece.names, piece.width, widths.get(piece.names))
            if var in seen:
                continue
            seen.add(var)
            following = pieces[i + 1] if i + 1 < len(pieces) and isinstance(pieces[i + 1], str) else ""
            width = None if piece.width is None else printed.get(var, piece.width)
            out.append(_Slot(var, piece.names, width, following, _is_address_part(form, piece.names)))
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[id(form)] = (form, out)
    return out


def _all_choices(form: FormSpec, names: tuple[str, ...]) -> bool:
    fields = [form.field(Ref.root_of(n)) for n in names]
    return all(f is not None and f.type in ("choice", "multi_choice") for f in fields)


def _is_address_part(form: FormSpec, names: tuple[str, ...]) -> bool:
    if len(names) != 1 or Ref.part_of(names[0]) is None:
        return False
    f = form.field(Ref.root_of(names[0]))
    return f is not None and f.type == "address"


class _Values:
    """Printed text of each name (``head_name``, ``address.township``, ``county.name`` …)."""

    def __init__(self, form: FormSpec, record: Record | None, placeholders: dict[str, str],
                 types: dict[str, FieldType]):
        self.form, self.types, self.placeholders = form, types, placeholders
        self.values = record.values if record is not None else {}

    def field_text(self, f: Field) -> str:
        value = self.values.get(f.key)
        if value is None or value == () or value == [] or value == {}:
            return ""
        ftype = self.types.get(f.type)
        text = ftype.display(value, f) if ftype else str(value)
        return clean(text)

    def reason_text(self, f: Field, no: int) -> str:
        """"（reason）" after the box of a chosen code that needs one (⑭ 其他), else ""."""
        value = self.values.get(f.key)
        chosen = value if isinstance(value, (tuple, list)) else (value,)
        reason = self.values.get(f.params.get("reason_field") or "")
        return f"（{clean(str(reason))}）" if reason and no in chosen else ""

    def name_text(self, name: str) -> str:
        root, part = Ref.root_of(name), Ref.part_of(name)
        if root in ("county", "policy"):
            return clean(self.placeholders.get(name, ""))
        f = self.form.field(root)
        if f is None:
            return ""
        if f.type == "address":
            parts = self.values.get(f.key) or {}
            if part:
                return clean(str(parts.get(part) or ""))
            return self.field_text(f)
        return self.field_text(f)

    def names_text(self, names: tuple[str, ...]) -> str:
        return "、".join(t for t in (self.name_text(n) for n in names) if t)


def record_context(form: FormSpec, record: Record | None, county: County, year: int | None, ident: str, *,
                   types: dict[str, FieldType] | None = None, page: int = 1, pages: int = 1) -> dict[str, Any]:
    """The context for one page of ``form``: ``record`` pre-filled, or a blank form if None.

    ``ident`` is ``C:<case id>``, ``S:<serial>`` or ``R:<row>`` (see :mod:`.qr`). Raises
    POLICY_NO_BASELINE (from ``county.baseline``) if the county has no baseline for ``year``.
    """
    types = types or default_types()
    placeholders = county.placeholders(year)
    vals = _Values(form, record, placeholders, types)
    ctx: dict[str, Any] = {}

    # every field, address part and county value, unpadded (v_) and as default f_
    for f in form.fields:
        if f.type == "table":
            continue
        ctx["v_" + f.key] = vals.field_text(f)
        if f.type == "address":
            for part in f.params.get("parts", ()):
                ctx[f"v_{f.key}__{part}"] = vals.name_text(f"{f.key}.{part}")
    for name, value in placeholders.items():
        ctx["v_" + name.replace(".", "__")] = clean(value)
    for key in list(ctx):
        ctx["f" + key[1:]] = ctx[key]

    # the slots as printed by the spec: padded to their width
    for slot in _plan(form):
        value = vals.names_text(slot.names)
        if slot.width is None:
            ctx[slot.var] = value
            continue
        if slot.address_part:
            value = strip_address_suffix(value, slot.following)
        elif text_width(value) > slot.width and _all_choices(form, slot.names):
            value = value.replace("、", "")  # ①②③④⑤: the tick boxes after the slot must not move
        ctx[slot.var] = pad(value, slot.width)

    # tick boxes of every choice field
    for f in form.fields:
        if f.type not in ("choice", "multi_choice") or not f.code_lists:
            continue
        value = vals.values.get(f.key)
        chosen = set(value) if isinstance(value, (tuple, list)) else ({value} if value is not None else set())
        for lid in f.code_lists:
            cl = form.code_lists.get(lid)
            for code in cl.codes if cl else ():
                ctx[N.tick_var(f.key, code.no)] = N.BOX_TICKED if code.no in chosen else N.BOX_EMPTY
                if code.needs_reason and f.params.get("reason_field"):
                    ctx[N.reason_var(f.key, code.no)] = vals.reason_text(f, code.no)

    # table fields: rows of printed cells, padded with empty rows to the printed size
    for f in form.fields:
        if f.type != "table":
            continue
        rows = vals.values.get(f.key) or []
        size = max(len(rows), int(f.params.get("max_rows") or f.params.get("min_rows") or DEFAULT_TABLE_ROWS))
        table_rows = []
        for row in rows:
            cells = {}
            for col in f.columns:
                v = row.get(col.key)
                ftype = types.get(col.type)
                cells[N.column_var(col.key)] = "" if v is None else clean(ftype.display(v, col) if ftype else str(v))
            table_rows.append(cells)
        empty = {N.column_var(col.key): "" for col in f.columns}
        table_rows.extend(dict(empty) for _ in range(size - len(rows)))
        ctx[N.table_var(f.key)] = table_rows

    ctx[N.IDENT_VAR] = ident_text(form.id, form.version, ident, page, pages)
    ctx["qr_payload"] = encode_payload(form.id, form.version, ident, page, pages)
    return ctx


def known_names(form: FormSpec, county: County, year: int | None) -> set[str]:
    """Every name a template for ``form`` may use."""
    return set(record_context(form, None, county, year, "S:check"))


def record_ident(record: Record, index: int | None = None) -> str:
    """``C:<case id>``, else ``R:<row>`` (the row as Excel shows it), else ``R:<index>``."""
    if record.case_id:
        return "C:" + str(record.case_id)
    return f"R:{record.row if record.row is not None else (index or 0)}"
