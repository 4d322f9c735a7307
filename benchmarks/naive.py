"""The naive way to fill a template, docxtpl's standard one: the baseline of ``bench_fill.py``.

One ``DocxTemplate`` per document (the whole package parsed again each time),
``render``, the record's QR code swapped in with ``replace_media``, ``save``. Its
output is the reference that the product's compiled path must match
(``tests/test_render_fill.py``); it is not part of the product.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from jinja2 import Environment

from fanpin_forms.render.compiled import CompiledTemplate, make_env, qr_for


def qr_placeholder(template: Path | bytes) -> bytes | None:
    """The QR placeholder picture of ``template`` (what ``replace_media`` looks for)."""
    data = bytes(template) if isinstance(template, (bytes, bytearray)) else Path(template).read_bytes()
    compiled = CompiledTemplate(data)
    return compiled.entry(compiled.qr_media) if compiled.qr_media else None


def naive_render(template: Path | bytes, context: dict[str, Any], out: Path, *, placeholder: bytes | None = None,
                 env: Environment | None = None) -> Path:
    """Fill ``template`` with ``context`` into ``out`` the naive way.

    ``placeholder``: the template's QR placeholder picture (found in the template if
    None); ``env``: the Jinja environment (the product's sandboxed one if None)."""
    from docxtpl import DocxTemplate

    if placeholder is None:
        placeholder = qr_placeholder(template)
    source = io.BytesIO(bytes(template)) if isinstance(template, (bytes, bytearray)) else template
    tpl = DocxTemplate(source)
    tpl.render(context, jinja_env=env or make_env(), autoescape=True)
    if placeholder is not None:
        tpl.replace_media(io.BytesIO(placeholder), io.BytesIO(qr_for(context)))
    tpl.save(str(out))
    return Path(out)
