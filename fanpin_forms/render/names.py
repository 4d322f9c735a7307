"""Names of the values a template may show (the Jinja context), shared by the
template builder, the context builder and ``fanpin templates check``.

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

from collections.abc import Iterator

from ..forms.model import Block, Field, FormSpec, Ref, split_placeholders

#: Printed tick boxes. Both from DejaVu Sans so they have the same box geometry,
#: which the scan reader relies on.
BOX_EMPTY = "☐"
BOX_TICKED = "☑"
BOX_FONT = "DejaVu Sans"

#: alt text (``descr``) of the QR placeholder picture in every template
QR_DESCR = "fanpin-qr"

IDENT_VAR = "ident_text"
SPECIAL_VARS = (IDENT_VAR,)


def ref_base(names: tuple[str, ...]) -> str:
    return "__and__".join(n.replace(".", "__") for n in names)


def blank_var(names: tuple[str, ...], width: int | None, default_width: int | None) -> str:
    """The padded variable of a blank (``f_…``), or the plain one (``v_…``) without width."""
    base = ref_base(names)
    if width is None:
        return "v_" + base
    if width == default_width:
        return "f_" + base
    return f"f_{base}__w{width}"


def tick_var(field_key: str, no: int) -> str:
    return f"x_{field_key}_{no}"


def reason_var(field_key: str, no: int) -> str:
    """The written reason printed right after a code's box (⑭ 其他: "（房屋倒塌）")."""
    return f"r_{field_key}_{no}"


def table_var(field_key: str) -> str:
    return "t_" + field_key


def column_var(col_key: str) -> str:
    return "c_" + col_key


def printed_texts(form: FormSpec) -> Iterator[str]:
    """Every printed text that may hold blanks, in page order."""
    for block in form.layout:
        if block.kind == "text":
            yield block.value
        elif block.kind in ("stages", "signature"):
            for stage in stages_of(form, block):
                yield stage.text
                for signer in stage.signers:
                    yield signer.printed
    for note in form.notes:
        if isinstance(note, tuple) and note[0] == "codes":
            cl = form.code_lists.get(note[1])
            for code in cl.codes if cl else ():
                yield code.text or code.name
        elif isinstance(note, str):
            yield note


def stages_of(form: FormSpec, block: Block):
    if block.kind == "signature":
        keys = [block.value] if isinstance(block.value, str) else list(block.value)
    elif block.value == "all":
        return list(form.stages)
    else:
        keys = list(block.value)
    return [s for s in (form.stage(k) for k in keys) if s is not None]


def refs(form: FormSpec) -> list[Ref]:
    out: list[Ref] = []
    for text in printed_texts(form):
        for piece in split_placeholders(text or ""):
            if isinstance(piece, Ref):
                out.append(piece)
    return out


def default_widths(form: FormSpec) -> dict[tuple[str, ...], int]:
    """The first width each blank's names are printed with (it gets the plain ``f_`` name)."""
    widths: dict[tuple[str, ...], int] = {}
    for ref in refs(form):
        if ref.width is not None:
            widths.setdefault(ref.names, ref.width)
    return widths


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
