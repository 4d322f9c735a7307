"""Write signed returns as an office copier scans them (``make demo`` reads them back).

Six forms of the sample households, printed through the real
pipeline, then ticked, signed, stamped and dated by the project's scan simulator
(``tests/scansim.py``), scanned at 150 dpi, some pages turned or skewed, shuffled,
with one foreign page and one page scanned twice. The households are chosen so their
case timelines (samples/ledger.xlsx) show the link: the application and the approval
form of YY-RJW-010 (in publicity) and YY-RJW-011 (overdue, not yet approved), and the
risk-elimination form of YY-RJW-014 and YY-RJW-015.

The QR codes carry this installation's key (:mod:`fanpin_forms.util.secret`), so scans
made on one machine are "not printed here" on another: ``make demo`` therefore makes
its own and reads them back with ``fanpin parse``.
Run: .venv/bin/python samples/make_scans.py OUT.pdf
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpin_forms.app import App  # noqa: E402
from tests.scansim import simulate  # noqa: E402


def main(out: Path) -> Path:
    app = App()
    forms = []
    for form_id, first in (("annex1", 9), ("annex2", 9), ("annex3", 13)):
        records = app.load_and_check(app.form(form_id), Path(__file__).with_name("households.xlsx")).records
        forms.append((form_id, records[first:first + 2]))
    simulate(app, out, forms=forms, seed=20221129, dpi=150, jpeg_quality=(55, 70))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("用法：samples/make_scans.py 输出.pdf")
    print(main(Path(sys.argv[1])))
