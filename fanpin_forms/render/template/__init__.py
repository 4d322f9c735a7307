"""Build the DOCX template of a form from its spec (python-docx).

The page reproduces the official annex: caption ("附件2") top-left, the title centred,
the ``layout`` blocks in order, then the notes (说明). Slots are underlined runs
holding one plain Jinja tag each (``{{ f_head_name }}``); slots of choice fields are
followed by their codes as tick boxes (``{{ x_sanbaozhang_1 }}①…``). Every page
carries a QR code (an anchored picture in the top margin, alt text ``fanpin-qr``,
whose image the filler replaces) and the same page id in small text
(``{{ ident_text }}``) right under it.

Layout rules that keep a form on ONE A4 page in LibreOffice and Word:

* tables use a fixed layout with ``gridCol`` widths AND every cell's width
  (LibreOffice ignores cell widths alone and splits columns evenly);
* a text line that would not fit is broken at its ideographic spaces (　) rather
  than in the middle of a slot;
* every run names its East Asian font (``w:eastAsia``), which Word and LibreOffice
  use for Chinese; ``run.font.name`` alone only sets the Latin font.

The builder by job: :mod:`.style` (type and measures), :mod:`.ooxml` (runs,
paragraphs, tables), :mod:`.blocks` (the printed parts of a form), :mod:`.document`
(the whole template) and :mod:`.zipnorm` (deterministic zip bytes).

The output is deterministic (fixed zip timestamps and document properties), so
``templates/*.docx`` only change in git when the spec or this builder changes.
"""

from .document import build_document, build_template
from .zipnorm import document_xml, normalize_zip

__all__ = ["build_document", "build_template", "document_xml", "normalize_zip"]
