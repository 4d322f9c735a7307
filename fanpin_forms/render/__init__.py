"""Printing the forms: DOCX templates built from the specs, filled fast, with a QR page id.

* :mod:`.template` — ``build_template(form) -> bytes`` (python-docx), the official layout;
* :mod:`.context` — ``record_context(form, record | None, county, year, ident)``, every
  value already as printed text (tags in the template are plain ``{{ name }}``);
* :mod:`.fill` — :class:`CompiledTemplate` (Jinja compiled once, sandboxed, autoescaped;
  atomic writes) and ``fill_batch`` (process pool for big batches);
* :mod:`.qr` — the page id: ``encode_payload`` / ``decode_payload`` / ``qr_png``;
* :mod:`.check` — ``check_template`` for county-edited templates;
* :mod:`.naming` — safe output file names; :mod:`.pdfout` — PDFs through LibreOffice.
"""

from .context import record_context, record_ident
from .fill import DEFAULT_PATTERN, CompiledTemplate, compile_for, fill_batch, naive_render
from .names import BOX_EMPTY, BOX_FONT, BOX_TICKED, QR_DESCR
from .qr import Payload, decode_payload, encode_payload, ident_text, parse_ident_text, qr_png
from .template import build_template

__all__ = [
    "BOX_EMPTY", "BOX_FONT", "BOX_TICKED", "DEFAULT_PATTERN", "QR_DESCR", "CompiledTemplate", "Payload",
    "build_template", "compile_for", "decode_payload", "encode_payload", "fill_batch", "ident_text",
    "naive_render", "parse_ident_text", "qr_png", "record_context", "record_ident",
]
