"""Printing the forms: DOCX templates built from the specs, filled fast, with a QR page id.

* :mod:`.template` — ``build_template(form) -> bytes`` (python-docx), the official layout;
* :mod:`.context` — ``record_context(form, record | None, county, year, ident)``, every
  value already as printed text (tags in the template are plain ``{{ name }}``);
* :mod:`.compiled` — :class:`CompiledTemplate` (Jinja compiled once, sandboxed, autoescaped;
  atomic writes); :mod:`.merge` — ``render_merged``, many copies in one DOCX;
* :mod:`.fill` — ``fill_batch`` (process pool for big batches, all or nothing);
* :mod:`.qr` — the page id: ``encode_payload`` / ``decode_payload`` / ``qr_png``;
* :mod:`.check` — ``check_template`` for county-edited templates;
* :mod:`.naming` — safe output file names; :mod:`.pdfout` — PDFs through LibreOffice.
"""

from .context import record_context, record_ident
from .compiled import CompiledTemplate
from .fill import DEFAULT_PATTERN, compile_for, fill_batch
from .merge import render_merged
from .names import BOX_EMPTY, BOX_FONT, BOX_TICKED, QR_DESCR
from .qr import Payload, decode_payload, encode_payload, ident_text, parse_ident_text, qr_png
from .template import build_template

__all__ = [
    "BOX_EMPTY", "BOX_FONT", "BOX_TICKED", "DEFAULT_PATTERN", "QR_DESCR", "CompiledTemplate", "Payload",
    "build_template", "compile_for", "decode_payload", "encode_payload", "fill_batch", "ident_text",
    "parse_ident_text", "qr_png", "record_context", "record_ident", "render_merged",
]
