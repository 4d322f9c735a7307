"""Names of the values a template may show (the Jinja context), shared by the
template builder, the context builder and ``fanpin templates check``. The glyphs and
the names read-back also needs (``f_``/``v_`` slots, ``ident_text``, the QR picture's
alt text) are defined in :mod:`fanpin_forms.pagemark` and re-exported here.

Every tag in a template is one plain ``{{ name }}``:

=============================  ==========================================================
``f_<key>``                    a field's printed value, padded with full-width spaces to
                               the width of its blank in the spec (``f_head_name``)
``f_<key>__<part>``            one address part (``f_address__township``)
``f_<a>__and__<b>``            a blank showing two fields (annex 1's "我家因____")
``f_county__short_name``       a county value in a blank (``{county.short_name:4}``)
``f_<name>__w<width>``         the same value padded to another width, when the spec uses
                               one value in blanks of different widths
``v_<…>``                      the same values unpadded (``v_policy__baseline``)
``x_<key>_<no>``               the tick box of code ``no`` of a choice field: ☐ or ☑
``t_<key>``                    rows of a table field: ``{%tr for row in t_members %}``,
                               cells ``{{ row.c_<column> }}``
``ident_text``                 the printed page id next to the QR code
=============================  ==========================================================
"""

from __future__ import annotations

from ..forms.model import Field, FormSpec
# the names read-back needs too live in the printed-page protocol; render uses them from here
from ..pagemark import (BOX_EMPTY, BOX_FONT, BOX_TICKED, IDENT_VAR, QR_DESCR, SPECIAL_VARS,  # noqa: F401
                        slot_var, default_widths, printed_texts, ref_base, refs, stages_of)


def tick_var(field_key: str, no: int) -> str:
    return f"x_{field_key}_{no}"


def reason_var(field_key: str, no: int) -> str:
    """The written reason printed right after a code's box (⑭ 其他: "（房屋倒塌）")."""
    return f"r_{field_key}_{no}"


def table_var(field_key: str) -> str:
    return "t_" + field_key


def column_var(col_key: str) -> str:
    return "c_" + col_key


def choice_fields(form: FormSpec, names: tuple[str, ...]) -> list[Field]:
    out = []
    for name in names:
        f = form.field(name)
        if f is not None and f.type in ("choice", "multi_choice") and f.code_lists:
            out.append(f)
    return out


def shown_by(form: FormSpec, var: str) -> set[tuple[str, str | None]]:
    """Which (field key, address part) a context variable shows."""
    if var.startswith(("f_", "v_")):
        base = var[2:]
        if "__w" in base and base.rsplit("__w", 1)[1].isdigit():
            base = base.rsplit("__w", 1)[0]
        out: set[tuple[str, str | None]] = set()
        for name in base.split("__and__"):
            key, _, part = name.partition("__")
            f = form.field(key)
            if f is None:
                continue
            if f.type == "address":
                parts = [part] if part else list(f.params.get("parts", ()))
                out.update((key, p) for p in parts)
            else:
                out.add((key, None))
        return out
    if var.startswith("t_"):
        return {(var[2:], None)}
    return set()


def required_slots(form: FormSpec) -> list[tuple[Field, str | None]]:
    """(field, part) pairs a template must show: required fields, each required address part."""
    out: list[tuple[Field, str | None]] = []
    for f in form.fields:
        if not f.required:
            continue
        if f.type == "address":
            optional = set(f.params.get("optional_parts", ()))
            out.extend((f, p) for p in f.params.get("parts", ()) if p not in optional)
        else:
            out.append((f, None))
    return out
