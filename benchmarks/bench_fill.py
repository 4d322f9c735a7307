"""Benchmark of ``fanpin fill`` (annex 2) against the naive ways, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_fill.py [--n 1000] [--quick]`` (takes a few minutes).

Data: N made-up households of Yueyang County (invented names, phones and ID numbers with
valid GB 11643 check digits, all distinct), written to an .xlsx and read back through the
real loader ``intake.load.load_and_check``; the benchmark stops if any row is rejected.

1. Fill. Baseline (``naive.py``): for each record build the product's context
   (``record_context``), then a new docxtpl ``DocxTemplate(templates/annex2.docx)``,
   ``render(ctx, autoescape=True, jinja_env=make_env())`` (one env, the product's
   sandboxed one), swap in the record's QR code (``replace_media``), ``save()``; one
   process. Product:
   ``fill_batch`` as ``fanpin fill`` calls it (default workers = every core), building the
   template from the spec (checked equal to templates/annex2.docx) and the contexts inside
   the timing; median of 3 runs (one burst of other load would otherwise decide it); also
   shown with 1 worker. Both exclude loading the .xlsx.
2. PDF. Baseline: one ``docx_to_pdf([one])`` call per document (one LibreOffice start
   per form), measured on a sample of the first 20 filled forms. Product: the batch's
   print PDF, ``merged_pdf`` over all N records as ``fanpin fill --merge`` makes it
   (contexts built inside the timing). ``pdf_speedup_vs_per_doc`` compares the two per
   form. The merged PDF of the 20-form sample alone is shown too: with only 20 forms its
   own LibreOffice start (~1.2 s) caps the ratio near 15×.
3. Memory. In a fresh child process per N (N and 5×N): load the .xlsx, then ``fill_batch``.
   Reported: the child's peak RSS after loading and after filling (``VmHWM`` of
   /proc/self/status; not ``ru_maxrss`` of RUSAGE_SELF, which a child started by
   ``subprocess`` inherits from this parent's peak) and the largest peak RSS of any pool
   worker (``ru_maxrss`` of RUSAGE_CHILDREN in that child; forked workers count the
   pages they share with it, so the figures overlap and must not be added).

The machine is printed with the load average: other work on it lowers the ratios.
The last two lines are ``fill_speedup_vs_naive=<x>`` and ``pdf_speedup_vs_per_doc=<x>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fanpin_forms.app import App
from fanpin_forms.testing.households import households, write_xlsx
from fanpin_forms.office.libreoffice import docx_to_pdf, find_soffice
from fanpin_forms.render.context import record_context, record_ident
from fanpin_forms.render.fill import compile_for, fill_batch, make_env
from fanpin_forms.render.pdfout import merged_pdf
from fanpin_forms.render.template import build_template, document_xml
from naive import naive_render, qr_placeholder

# both bundled counties are installed: the benchmarks measure Yueyang's forms (children inherit it)
os.environ.setdefault("FANPIN_FORMS_COUNTY", "yueyang")

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "annex2.docx"
FORM, YEAR, PDF_SAMPLE = "annex2", 2022, 20
TARGET_FILL, TARGET_PDF = 15.0, 20.0


def write_households(path: Path, n: int, seed: int = 20220517) -> Path:
    """``n`` invented households (distinct valid ID numbers) as a clerk's .xlsx."""
    return write_xlsx(path, households(n, seed, prefix="YY"))


def load(app: App, xlsx: Path):
    result = app.load_and_check(app.form(FORM), xlsx)
    if result.errors or len(result.records) != result.rows_total:
        sys.exit(f"generated data rejected: {[str(p) for p in result.errors[:5]]}")
    return result.records


def contexts_for(app: App, records) -> list[dict]:
    form = app.form(FORM)
    return [record_context(form, r, app.county, YEAR, record_ident(r, i + 1), types=app.field_types)
            for i, r in enumerate(records)]


def naive_fill(app: App, records, out: Path) -> None:
    env, placeholder = make_env(), qr_placeholder(TEMPLATE)
    for i, ctx in enumerate(contexts_for(app, records)):
        naive_render(TEMPLATE, ctx, out / f"{i:05d}.docx", placeholder=placeholder, env=env)


def product_fill(app: App, records, out: Path, workers: int | None = None) -> list[Path]:
    return fill_batch(app.form(FORM), records, app.county, out, year=YEAR, types=app.field_types, workers=workers)


def timed(fn, *args, repeat: int = 1):
    """Median wall time of ``repeat`` runs, and the result."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def peak_rss_kib() -> int:
    """This process's peak RSS (VmHWM, KiB)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def mem_child(xlsx: str, out: str) -> None:
    """Run in a fresh process: load + fill, print peak RSS figures (KiB) as JSON."""
    app = App()
    records = load(app, Path(xlsx))
    after_load = peak_rss_kib()
    product_fill(app, records, Path(out))
    print(json.dumps({"load": after_load, "fill": peak_rss_kib(),
                      "worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))


def memory(n: int, tmp: Path) -> dict:
    xlsx = write_households(tmp / f"mem{n}.xlsx", n)
    out = subprocess.run([sys.executable, __file__, "--mem-child", str(xlsx), str(tmp / f"mem{n}")],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="forms to fill (default 1000; 200 with --quick)")
    ap.add_argument("--quick", action="store_true", help="N=200")
    ap.add_argument("--mem-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mem_child:
        return mem_child(*args.mem_child)
    n = args.n or (200 if args.quick else 1000)
    load_start = os.getloadavg()[0]
    app = App()
    with tempfile.TemporaryDirectory(prefix="fanpin-bench-") as tmp_name:
        tmp, rows = Path(tmp_name), []
        records = load(app, write_households(tmp / "households.xlsx", n))
        assert document_xml(build_template(app.form(FORM))) == document_xml(TEMPLATE.read_bytes()), "stale template"
        (tmp / "naive").mkdir()
        t_naive, _ = timed(naive_fill, app, records, tmp / "naive")
        t_fill, paths = timed(product_fill, app, records, tmp / "fill", repeat=3)
        assert len(paths) == n and all(p.is_file() for p in paths)
        fill_x = t_naive / t_fill
        rows.append((f"fill {n} forms (DOCX)", t_fill / n, t_naive / n, fill_x, TARGET_FILL))
        t_one, _ = timed(product_fill, app, records, tmp / "fill1", 1, repeat=3)
        rows.append(("  same, 1 worker", t_one / n, t_naive / n, t_naive / t_one, None))

        sample = records[:PDF_SAMPLE]
        (tmp / "per_doc").mkdir()
        t_per, _ = timed(lambda: [docx_to_pdf([p], tmp / "per_doc") for p in paths[:PDF_SAMPLE]])
        compiled = compile_for(app.form(FORM), None)
        t_merge, _ = timed(lambda: merged_pdf(compiled, contexts_for(app, sample), tmp / "m20.pdf", label=FORM),
                           repeat=3)
        per_form = t_per / PDF_SAMPLE
        rows.append((f"merged PDF of {PDF_SAMPLE} only", t_merge / PDF_SAMPLE, per_form, t_per / t_merge, None))
        # the print job: the batch's merged PDF, per form, against one conversion per document
        t_all, _ = timed(lambda: merged_pdf(compiled, contexts_for(app, records), tmp / "all.pdf", label=FORM))
        pdf_x = per_form * n / t_all
        rows.append((f"merged PDF of all {n}*", t_all / n, per_form, pdf_x, TARGET_PDF))

        mems = {k: memory(k, tmp) for k in (n, 5 * n)}

    print(f"\n{'measure':<24}{'fanpin ms/form':>16}{'baseline ms/form':>18}{'speedup':>9}{'target':>8}")
    for label, ms, base, x, target in rows:
        base, x = (f"{base * 1000:.2f}", f"{x:.1f}x") if base else ("-", "-")
        target = f">={target:.0f}x" if target else "-"
        print(f"{label:<24}{ms * 1000:>16.2f}{base:>18}{x:>9}{target:>8}")
    print("baselines: fill = new DocxTemplate + render + save per form, 1 process; "
          f"PDF = one soffice call per form\n* baseline ms/form taken from the {PDF_SAMPLE}-form sample")
    print("\npeak RSS of the fill path, fresh process per N (MiB):")
    print(f"{'N':>7}{'after load':>12}{'after fill':>12}{'largest worker':>16}")
    for k, m in mems.items():
        print(f"{k:>7}{m['load'] / 1024:>12.1f}{m['fill'] / 1024:>12.1f}{m['worker'] / 1024:>16.1f}")
    (a, b), dn = mems.values(), 4 * n
    print(f"growth per extra form: {(b['fill'] - a['fill']) / dn:.1f} KiB (process), "
          f"{(b['worker'] - a['worker']) / dn:.1f} KiB (largest worker)")
    lo = subprocess.run([find_soffice(), "--version"], capture_output=True, text=True).stdout.strip()
    print(f"\nmachine: {os.cpu_count()} cores, Python {platform.python_version()}, {lo}, {platform.platform()}")
    print(f"load average (1 min) before / after: {load_start:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"fill_speedup_vs_naive={fill_x:.1f}")
    print(f"pdf_speedup_vs_per_doc={pdf_x:.1f}")


if __name__ == "__main__":
    main()
