"""Every hard cap on what an input may make the program allocate, in one place.

A few hundred bytes can describe gigabytes: a PDF page 5 m wide, a sheet cell in
column XFD, a row numbered 300,000,000, a 20000×20000 PNG, a YAML alias of an
alias, a zip entry that inflates a thousandfold. Each reader checks the cap
*before* it allocates, and a hit is a Chinese message naming the file and the
cap (the values and messages are listed in ``docs/limits.md``).

Each cap can be raised (or lowered) for one run by an environment variable
``FANPIN_FORMS_MAX_<NAME>`` holding a positive integer in the cap's unit, e.g.
``FANPIN_FORMS_MAX_SHEET_ROWS=500000``. Values are read once, at import; a value
that is not a positive integer is ignored (the default stays).
"""

from __future__ import annotations

import os

__all__ = [
    "DATA_MAX_BYTES", "DATA_XLSX_MAX_BYTES", "SHEET_MAX_ROWS", "SHEET_MAX_COLUMNS", "SHEET_MAX_CELLS",
    "EXCEL_MAX_ROW", "EXCEL_MAX_COLUMN",
    "ZIP_MAX_ENTRIES", "ZIP_MAX_ENTRY_BYTES", "ZIP_MAX_TOTAL_BYTES", "ZIP_MAX_RATIO", "ZIP_RATIO_FROM_BYTES",
    "SCAN_PDF_MAX_BYTES", "SCAN_IMAGE_MAX_BYTES", "SCAN_MAX_PAGES_PER_FILE", "PAGE_MAX_PIXELS", "IMAGE_MAX_PIXELS",
    "PAGE_MIN_DPI", "EVIDENCE_MAX_BYTES",
    "SPEC_MAX_BYTES", "YAML_MAX_DEPTH",
    "RENDER_SECONDS_PER_FORM", "RENDER_MAX_BYTES_PER_FORM", "TEMPLATE_MAX_VALUE_CHARS", "TEMPLATE_MAX_RANGE",
    "TEMPLATE_MAX_ITEMS", "TEMPLATE_MAX_INT_BITS",
    "OFFICE_RESTART_AFTER",
    "human_bytes",
]

MiB = 1024 * 1024


def _cap(name: str, default: int) -> int:
    """``default``, or the positive integer in ``FANPIN_FORMS_MAX_<name>``."""
    raw = os.environ.get(f"FANPIN_FORMS_MAX_{name}", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


# --- clerks' data files (intake/tabular/) -----------------------------------------------------

#: bytes, a .csv/.json/.jsonl data file: it is read whole; 100 MiB is ~1 million CSV rows
DATA_MAX_BYTES = _cap("DATA_BYTES", 100 * MiB)
#: bytes, a .xlsx/.xlsm data file (compressed): 200,000 filled rows take ~25 MiB
DATA_XLSX_MAX_BYTES = _cap("XLSX_BYTES", 100 * MiB)
#: rows with content per sheet/CSV/JSON file: every row becomes a record held in memory
SHEET_MAX_ROWS = _cap("SHEET_ROWS", 300_000)
#: columns per sheet (the last column with content): a form has well under 100 fields
SHEET_MAX_COLUMNS = _cap("SHEET_COLUMNS", 256)
#: non-empty cells per sheet: bounds the memory of the records (200,000 rows × 30 fields)
SHEET_MAX_CELLS = _cap("SHEET_CELLS", 6_000_000)
#: Excel's own last row and column (XFD): a file naming a cell beyond them is corrupt or forged
EXCEL_MAX_ROW, EXCEL_MAX_COLUMN = 1_048_576, 16_384

# --- zip containers: .xlsx data, .docx templates (zipguard.py) ------------------------------

#: entries per zip: a workbook or a Word document has tens, a few hundred with pictures
ZIP_MAX_ENTRIES = _cap("ZIP_ENTRIES", 5_000)
#: bytes, one entry uncompressed: a sheet of 300,000 rows is ~300 MiB of XML
ZIP_MAX_ENTRY_BYTES = _cap("ZIP_ENTRY_BYTES", 512 * MiB)
#: bytes, all entries uncompressed together
ZIP_MAX_TOTAL_BYTES = _cap("ZIP_TOTAL_BYTES", 1024 * MiB)
#: uncompressed / compressed size of one entry: real XML packs 5-50×, a zip bomb thousands×
ZIP_MAX_RATIO = _cap("ZIP_RATIO", 200)
#: bytes uncompressed from which the ratio is checked (tiny entries may pack very well)
ZIP_RATIO_FROM_BYTES = _cap("ZIP_RATIO_FROM_BYTES", 4 * MiB)

# --- returned scans (readback/inputs.py) ----------------------------------------------------

#: bytes, one PDF of returned scans (a 500-page 300 dpi scan is ~300 MiB)
SCAN_PDF_MAX_BYTES = _cap("SCAN_PDF_BYTES", 2048 * MiB)
#: bytes, one image file (PNG/JPEG/TIFF)
SCAN_IMAGE_MAX_BYTES = _cap("SCAN_IMAGE_BYTES", 512 * MiB)
#: pages (or TIFF frames) per file: each page is a job and a result held in memory
SCAN_MAX_PAGES_PER_FILE = _cap("SCAN_PAGES", 5_000)
#: pixels of one rendered PDF page: A3 at 300 dpi is 17.4 Mpx; an RGB page costs 3 bytes/px
PAGE_MAX_PIXELS = _cap("PAGE_PIXELS", 40_000_000)
#: dpi, the lowest resolution a page is rendered at to fit PAGE_MAX_PIXELS (QR and ticks need it)
PAGE_MIN_DPI = 100
#: pixels of one image file: a 600 dpi A3 scan is ~70 Mpx; also Pillow's MAX_IMAGE_PIXELS
IMAGE_MAX_PIXELS = _cap("IMAGE_PIXELS", 80_000_000)

# --- evidence of disputed households (ledger/evidence.py) ------------------------------------

#: bytes, one evidence file (minutes, photos, PDFs) copied into the ledger's file store
EVIDENCE_MAX_BYTES = _cap("EVIDENCE_BYTES", 50 * MiB)

# --- form specs (yamlpos.py) -----------------------------------------------------------------

#: bytes, one spec YAML file: the shipped specs are 5-8 KiB
SPEC_MAX_BYTES = _cap("SPEC_BYTES", 1 * MiB)
#: nesting levels of mappings and lists in a spec: the DSL needs 6; deeper input would exhaust the stack
YAML_MAX_DEPTH = _cap("YAML_DEPTH", 50)

# --- filling templates (render/compiled.py) ----------------------------------------------------

#: seconds of template rendering per form: a real form renders in a few milliseconds
RENDER_SECONDS_PER_FORM = _cap("RENDER_SECONDS", 2)
#: bytes (UTF-8) of filled document XML per form, and of what its expressions make: a filled form is ~100 KiB
RENDER_MAX_BYTES_PER_FORM = _cap("RENDER_BYTES", 16_000_000)
#: characters one template expression may make (a string, or a container's summed item sizes)
TEMPLATE_MAX_VALUE_CHARS = _cap("TEMPLATE_VALUE_CHARS", 2_000_000)
#: numbers one ``range()`` in a template may give
TEMPLATE_MAX_RANGE = _cap("TEMPLATE_RANGE", 10_000)
#: items a list in a template may grow to through ``append``/``extend``/``insert``
TEMPLATE_MAX_ITEMS = _cap("TEMPLATE_ITEMS", 100_000)
#: bits of the largest integer ``*`` and ``**`` may make in a template
TEMPLATE_MAX_INT_BITS = _cap("TEMPLATE_INT_BITS", 4096)

# --- LibreOffice (office/libreoffice.py) ---------------------------------------------------------

#: conversions (soffice calls) one private LibreOffice profile serves before a fresh one replaces
#: it, as Gotenberg restarts its LibreOffice every ``LIBREOFFICE_RESTART_AFTER`` (10) conversions
OFFICE_RESTART_AFTER = _cap("OFFICE_RESTART_AFTER", 10)


def human_bytes(n: int) -> str:
    """A size as a clerk reads it: ``"1.5 MB"``, ``"300 KB"``, ``"12 字节"``."""
    if n < 1024:
        return f"{n} 字节"
    value = float(n)
    for unit in ("KB", "MB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
    return f"{value / 1024:.1f}".removesuffix(".0") + " GB"
