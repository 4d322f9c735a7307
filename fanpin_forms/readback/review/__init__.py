"""The review queue: a page to check what the machine could not read, and applying the answers.

* :mod:`.page` — ``write_review`` writes ``review.html`` (one self-contained page,
  in Chinese, every flagged value with its crop, lowest confidence first, and a
  button that saves the corrections as a CSV file in the browser — no server);
* :mod:`.corrections` — ``read_corrections`` reads that CSV (or an XLSX, or a sheet
  typed by hand: columns 条目编号 and 更正值) through the data-file reader, and
  ``apply_corrections`` applies them all, or reports every problem and changes nothing.

The records themselves are read and written by :mod:`fanpin_forms.readback.records_io`.
"""

from ..records_io import read_records, write_records
from .corrections import apply_corrections, read_corrections
from .page import review_items, write_review

__all__ = ["apply_corrections", "read_corrections", "read_records", "review_items", "write_records", "write_review"]
