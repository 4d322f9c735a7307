"""Benchmark of reading returned paper back (``parse_inputs``, what ``fanpin parse`` runs)
on simulated paper whose truth is known.

Run: ``.venv/bin/python benchmarks/bench_parse.py [--pages 300] [--quick] [--seed N]
[--workers 2] [--keep DIR] [--dump FILE] [--sim papersim|scansim]``, or ``--reread DIR
[--kinds bw photo]`` to read kept paper again (a full run takes a quarter of an hour on 2
cores: LibreOffice prints the forms, the simulator fills them in and scans them, then the
reader reads them).

``--sim papersim`` (default): ``tests/papersim.py``, a simulator independent of the reader
(it never imports ``fanpin_forms.readback``; it places ink where a person would, from the
printed PDF's text). ``--pages`` forms over the 3 annexes (half pre-filled, half blank),
filled in (light, heavy and crossed-out ticks, overflowing signatures, 38–45 mm seals in
red, blue or purple over label, date and table line, thumbprints, dates) and each digitised
as one of four kinds, a quarter each: colour, grey, 1-bit (threshold or dither) image PDFs
at 150–600 dpi with about 1 foreign page in 100, and phone photos (8–12 MP JPEG files,
perspective up to 15°, uneven light, a table edge). Each kind is read by its own
``parse_inputs(workers=2)`` call after a warm-up, and scored with ``papersim.score`` from
the reader's public output (records and their needs_review): per kind, page identity,
ticks, signers, dates right, the share of values sent to review, silent errors (wrong and
not flagged) and seconds per page; then ratios against the colour scans of the same run and
against merely decoding the same page images. A text-layer batch (``--pages`` pre-filled
forms printed straight from the pipeline) gives pages/s for PDFs with a text layer.

``--sim scansim``: the old run on ``tests/scansim.py`` (which draws marks where the
reader's geometry says): image scans and the text-layer batch, scored by ``scansim.score``.

Targets: identity 100 %, ticks ≥ 99.5 %, signatures ≥ 99 %, silent errors ≤ 0.1 % (every
kind), review ≤ 5 %, ≤ 0.2 s per scanned page on 2 cores, ≥ 50 text-layer pages/s. The last
lines are ``identity=``, ``ticks=``, ``signatures=``, ``dates=``, ``review_share=``,
``silent_errors=`` (the worst kind), ``s_per_image_page=``, ``text_pages_per_s=``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanpin_forms.app import App  # noqa: E402
from tests import papersim, scansim  # noqa: E402

# both bundled counties are installed: the benchmarks measure Yueyang's forms (children inherit it)
os.environ.setdefault("FANPIN_FORMS_COUNTY", "yueyang")

BASELINE = ("SDAPS (the nearest open tool) reads a 300 dpi sheet in ~0.2 s (sdaps/sdaps#151 logs), checkboxes "
            "and 'written/not written' only, no OCR; OMR in the literature: 99.94 % (PLOS ONE 2018, Loke et al.)")
TARGETS = {"identity": 1.0, "tick": 0.995, "signature": 0.99, "silent": 0.001, "s_per_image_page": 0.5,
           "text_pages_per_s": 50.0}


def plan(pages: int) -> tuple[int, int, int]:
    """(forms, foreign pages, duplicate pages) adding up to ``pages``."""
    extra = max(1, pages // 100)
    return pages - 2 * extra, extra, extra


def forms_for(app: App, n: int, seed: int, *, blank_share: float = 0.5) -> list[tuple[str, object]]:
    """``n`` forms over the 3 annexes, about ``blank_share`` of them blank."""
    per = [n // 3 + (1 if i < n % 3 else 0) for i in range(3)]
    rows = scansim.households(sum(per), seed=seed)
    out, at = [], 0
    for form_id, k in zip(("annex1", "annex2", "annex3"), per):
        blank = int(round(k * blank_share))
        filled = k - blank
        if filled:
            out.append((form_id, scansim.load_records(app, form_id, rows[at:at + filled])))
            at += filled
        if blank:
            out.append((form_id, blank))
    return out


def parse(app: App, inputs: list[Path], workers: int):
    from fanpin_forms.readback.run import parse_inputs

    t = time.perf_counter()
    result = parse_inputs(app.read_setup(), inputs, data=None, review_dir=None, workers=workers, progress=None)
    return time.perf_counter() - t, result


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def table(score: scansim.Score) -> list[str]:
    lines = [f"{'value':<11}{'items':>7}{'right':>9}{'accuracy':>10}{'flagged':>9}{'silent':>8}"]
    kinds = ("identity", "tick", "signature", "thumbprint", "date")
    for kind in (*kinds, "all"):
        items = score.items if kind == "all" else score.of(kind)
        if not items:
            continue
        right = sum(i.right for i in items)
        lines.append(f"{kind:<11}{len(items):>7}{right:>9}{pct(right / len(items)):>10}"
                     f"{sum(i.flagged for i in items):>9}{sum(i.silent for i in items):>8}")
    return lines


def by_condition(truth: scansim.ScanTruth, score: scansim.Score) -> list[str]:
    """Wrong or flagged values by scan resolution and turn (to route failures)."""
    scans = {f"{f.form} {f.ident}": f.scans[0] for f in truth.forms if f.scans}
    total, bad, flagged = Counter(), Counter(), Counter()
    for item in score.items:
        s = scans.get(item.form)
        if s is None:
            continue
        key = f"{s.dpi} dpi, {s.rotation:>3}°"
        total[key] += 1
        bad[key] += not item.right
        flagged[key] += item.flagged
    return [f"  {k:<14} items {total[k]:>5}  wrong {bad[k]:>4}  flagged {flagged[k]:>4}" for k in sorted(total)]


def run_scansim(args) -> int:
    """The old run: ``tests/scansim.py`` pages (it draws where the reader looks)."""
    pages = 40 if args.quick else args.pages
    app = App()
    work = Path(tempfile.mkdtemp(prefix="bench-parse-"))
    try:
        print(f"# bench_parse: {pages} image pages, seed {args.seed}, workers {args.workers}; "
              f"{os.cpu_count()} CPUs, {platform.python_version()}, {platform.platform()}")

        # warm-up: reference blanks of every annex, OCR model, worker start
        t = time.perf_counter()
        warm = scansim.simulate(app, work / "warm.pdf", forms=forms_for(app, 3, args.seed + 7), seed=args.seed + 7,
                                foreign=0, duplicate=0)
        warm_text = scansim.simulate_text_layer(app, work / "warm-text.pdf", forms=forms_for(app, 3, args.seed + 8,
                                                                                              blank_share=0))
        sim_warm = time.perf_counter() - t
        t_warm, _ = parse(app, [work / "warm.pdf", work / "warm-text.pdf"], args.workers)
        print(f"warm-up: simulated {warm.pages_total + warm_text.pages_total} pages in {sim_warm:.1f} s, "
              f"read in {t_warm:.1f} s (builds cached reference blanks, loads models)")

        # 1. image scans
        n_forms, foreign, dup = plan(pages)
        t = time.perf_counter()
        image_pdf = work / "returned-scans.pdf"
        truth = scansim.simulate(app, image_pdf, forms=forms_for(app, n_forms, args.seed), seed=args.seed,
                                 foreign=foreign, duplicate=dup)
        sim_s = time.perf_counter() - t
        size_mb = image_pdf.stat().st_size / 1e6
        dpis = Counter(f.scans[0].dpi for f in truth.forms)
        turns = Counter(s.rotation for f in truth.forms for s in f.scans)
        print(f"simulated {truth.pages_total} image pages ({len(truth.forms)} forms, {foreign} foreign, {dup} scanned "
              f"twice) in {sim_s:.1f} s; {size_mb:.0f} MB; dpi {dict(sorted(dpis.items()))}; "
              f"turns {dict(sorted(turns.items()))}")
        t_img, result = parse(app, [image_pdf], args.workers)
        score = scansim.score(truth, result)
        print(f"read in {t_img:.1f} s; summary {json.dumps(result.summary, ensure_ascii=False)}")

        # 2. text-layer PDFs
        t = time.perf_counter()
        text_pdf = work / "printed.pdf"
        text_forms = forms_for(app, pages, args.seed + 1, blank_share=0)
        text_truth = scansim.simulate_text_layer(app, text_pdf, forms=text_forms)
        sim_text = time.perf_counter() - t
        t_text, text_result = parse(app, [text_pdf], args.workers)
        text_score = scansim.score(text_truth, text_result)
        print(f"printed {text_truth.pages_total} text-layer pages in {sim_text:.1f} s; read in {t_text:.2f} s; "
              f"summary {json.dumps(text_result.summary, ensure_ascii=False)}")

        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for p in (image_pdf, text_pdf):
                shutil.copy2(p, args.keep / p.name)
            (args.keep / "truth.json").write_text(json.dumps(
                {"seed": args.seed, "forms": [{"form": f.form, "ident": f.ident, "codes": f.codes,
                                               "stages": {k: {"present": st.present, "date": str(st.date),
                                                              "codes": st.codes} for k, st in f.stages.items()},
                                               "pages": [p for _, p in f.pages],
                                               "scans": [vars(s) for s in f.scans]} for f in truth.forms],
                 "foreign": [p for _, p in truth.foreign_pages],
                 "duplicates": [p for _, p in truth.duplicate_pages]}, ensure_ascii=False, indent=1), encoding="utf-8")
            print(f"kept in {args.keep}")

        # report
        print()
        print("== image scans ==")
        print("\n".join(table(score)))
        if score.problems:
            print(f"structural problems ({len(score.problems)}):")
            print("\n".join(f"  {p}" for p in score.problems[:20]))
        if score.silent:
            print(f"silent errors ({len(score.silent)}; seed {args.seed}):")
            for item in score.silent[:25]:
                s = [] if item.form.endswith("?") else truth.form(*item.form.split(" ", 1)).scans
                where = "; ".join(f"p{x.page} {x.dpi}dpi {x.rotation}° skew {x.skew:+.1f} q{x.jpeg_quality}"
                                  for x in s)
                print(f"  {item}  [{where}]")
        wrong_flagged = [i for i in score.wrong if i.flagged]
        if wrong_flagged and args.show:
            print(f"wrong but flagged ({len(wrong_flagged)}; first {args.show}):")
            for item in wrong_flagged[:args.show]:
                print(f"  {item}")
        if any(i.flagged for i in score.items):
            print(review_reasons(score))
        print("wrong or flagged by scan condition:")
        print("\n".join(by_condition(truth, score)))
        print()
        print("== text-layer PDFs ==")
        print("\n".join(table(text_score)))
        if text_score.problems or text_score.wrong:
            print(f"text-layer problems: {text_score.problems[:10]} wrong: {[str(i) for i in text_score.wrong[:10]]}")
        print()
        identity = score.of("identity") + text_score.of("identity")
        identity_acc = sum(i.right for i in identity) / len(identity) if identity else 1.0
        tick_acc = score.accuracy("tick")
        sig_acc = score.accuracy("signature")
        # the stricter of the two batches (text-layer values are many and easy: no averaging them in)
        silent = max(score.silent_rate(), text_score.silent_rate())
        review = score.review_share()
        s_per_page = t_img / truth.pages_total
        text_rate = text_truth.pages_total / t_text
        print(f"Baseline: {BASELINE}.")
        print(f"{'metric':<26}{'measured':>12}{'target':>12}")
        rows = [("page identity", pct(identity_acc), "100%"),
                ("ticks (image scans)", pct(tick_acc), "≥ 99.5%"),
                ("signatures (image scans)", pct(sig_acc), "≥ 99%"),
                ("sent to review (image)", pct(review), "—"),
                ("silent errors", pct(silent), "≤ 0.1%"),
                ("  image / text layer", f"{pct(score.silent_rate())} / {pct(text_score.silent_rate())}", ""),
                ("s per image page", f"{s_per_page:.3f}", "≤ 0.5"),
                ("text-layer pages per s", f"{text_rate:.1f}", "≥ 50")]
        for name, got, want in rows:
            print(f"{name:<26}{got:>12}{want:>12}")
        print(f"review_share={pct(review)}")
        print(f"identity={pct(identity_acc)}")
        print(f"ticks={pct(tick_acc)}")
        print(f"signatures={pct(sig_acc)}")
        print(f"silent_errors={pct(silent)}")
        print(f"s_per_image_page={s_per_page:.3f}")
        print(f"text_pages_per_s={text_rate:.1f}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)




def read_only_s(files: list[Path]) -> float:
    """Same-run baseline for speed: only decoding every page image (pypdfium2 renders each
    image PDF page at its own resolution; photos are decoded by Pillow), one process."""
    import pypdfium2 as pdfium
    from PIL import Image

    t = time.perf_counter()
    for f in files:
        if f.is_dir():
            for p in sorted(f.glob("*.jpg")):
                with Image.open(p) as im:
                    im.load()
            continue
        doc = pdfium.PdfDocument(str(f))
        try:
            for page in doc:
                objs = list(page.get_objects())
                w = objs[0].get_px_size()[0] if objs else page.get_width()
                page.render(scale=w / page.get_width()).to_pil()
        finally:
            doc.close()
    return time.perf_counter() - t


def _rate(items, what: str) -> float | None:
    return papersim.Score.rate(items, what)


def _fmt(x: float | None) -> str:
    return "—" if x is None else pct(x)


def kind_rows(score: papersim.Score, pages: Counter, seconds: dict[str, float]) -> list[tuple]:
    """(kind, pages, identity, ticks, signers, dates, review, silent, s/page) per scan kind and all."""
    out = []
    for kind in (*papersim.KINDS, None):
        items = score.of(scan=kind)
        if kind is not None and not items:
            continue
        n = pages[kind] if kind else sum(pages.values())
        secs = seconds.get(kind) if kind else sum(seconds.values())
        out.append((kind or "all", n,
                    _rate([i for i in items if i.kind == "identity"], "right"),
                    _rate([i for i in items if i.kind == "tick"], "right"),
                    _rate([i for i in items if i.kind == "signature"], "right"),
                    _rate([i for i in items if i.kind == "date"], "right"),
                    _rate(items, "flagged"), _rate(items, "silent"),
                    (secs / n) if secs is not None and n else None))
    return out


def kind_files(truth: papersim.PaperTruth) -> tuple[dict[str, Path], Counter]:
    """The file (or photo folder) of each scan kind, and the pages of each kind."""
    files = {Path(f).stem if not Path(f).is_dir() else "photo": Path(f) for f in truth.files}
    pages_by_kind = Counter(p.scan.kind for p in truth.pages)
    for f, _ in truth.foreign:
        pages_by_kind[Path(f).stem] += 1
    return files, pages_by_kind


def read_kinds(app: App, files: dict[str, Path], kinds, pages_by_kind: Counter, workers: int):
    """Read each kind's file by its own ``parse_inputs`` call: (seconds by kind, merged result)."""
    seconds, results = {}, []
    for kind in kinds:
        secs, result = parse(app, [files[kind]], workers)
        seconds[kind] = secs
        results.append(result)
        print(f"read {kind:<6} {pages_by_kind[kind]:>4} pages in {secs:6.1f} s; "
              f"summary {json.dumps(result.summary, ensure_ascii=False)}")
    merged = type("Merged", (), {})()
    merged.records = [r for res in results for r in res.records]
    merged.pages = [p for res in results for p in (getattr(res, "pages", None) or [])]
    merged.failures = [x for res in results for x in (getattr(res, "failures", None) or [])]
    return seconds, merged


def review_reasons(score) -> str:
    why = Counter(i.note.split("（")[0][:40] for i in score.items if i.flagged)
    return "review reasons (values): " + "; ".join(f"{k or '?'} ×{n}" for k, n in why.most_common(8))


def print_kind_rows(rows: list[tuple]) -> None:
    print(f"{'kind':<8}{'pages':>6}{'identity':>10}{'ticks':>9}{'signers':>9}{'dates':>9}{'review':>9}"
          f"{'silent':>9}{'s/page':>8}")
    for kind, n, ident, tick, sig, date, review, silent, spp in rows:
        print(f"{kind:<8}{n:>6}{_fmt(ident):>10}{_fmt(tick):>9}{_fmt(sig):>9}{_fmt(date):>9}{_fmt(review):>9}"
              f"{_fmt(silent):>9}{'—' if spp is None else f'{spp:.3f}':>8}")


def dump(score: papersim.Score, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in score.items:
            if i.silent or i.flagged or not i.right:
                fh.write(json.dumps({"state": "silent" if i.silent else ("flagged" if i.flagged else "wrong"),
                                     "scan": i.scan, "kind": i.kind, "form": i.form, "stage": i.stage,
                                     "what": i.what, "truth": str(i.truth), "read": str(i.read),
                                     "note": i.note}, ensure_ascii=False) + "\n")
    print(f"wrong and flagged values, one JSON line each: {path}")


def run_papersim(args) -> int:
    """Pages from ``tests/papersim.py`` (independent of the reader), read kind by kind."""
    pages = 40 if args.quick else args.pages
    app = App()
    if args.reread:
        return reread_papersim(app, args)
    work = Path(tempfile.mkdtemp(prefix="bench-parse-"))
    try:
        print(f"# bench_parse (papersim): {pages} pages, seed {args.seed}, workers {args.workers}; "
              f"{os.cpu_count()} CPUs, {platform.python_version()}, {platform.platform()}")
        t = time.perf_counter()
        papersim.simulate(app, work / "warm", forms=papersim.forms_for(app, 4, args.seed + 7), seed=args.seed + 7,
                          foreign_every=0)
        warm_files = sorted(p for p in (work / "warm").iterdir())
        warm_text = scansim.simulate_text_layer(app, work / "warm-text.pdf",
                                                forms=papersim.forms_for(app, 3, args.seed + 8, blank_share=0))
        sim_warm = time.perf_counter() - t
        t_warm, _ = parse(app, [*warm_files, work / "warm-text.pdf"], args.workers)
        print(f"warm-up: simulated {4 + warm_text.pages_total} pages in {sim_warm:.1f} s, read in {t_warm:.1f} s "
              f"(builds cached reference blanks, loads models)")

        n_forms = pages - len(papersim.KINDS[:-1]) * max(0, pages // len(papersim.KINDS) // 100)
        t = time.perf_counter()
        out = work / "paper"
        truth = papersim.simulate(app, out, forms=papersim.forms_for(app, n_forms, args.seed), seed=args.seed)
        sim_s = time.perf_counter() - t
        files, pages_by_kind = kind_files(truth)
        dpis = Counter(p.scan.dpi for p in truth.pages if p.scan.kind != "photo")
        size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        print(f"simulated {truth.pages_total} pages ({len(truth.pages)} forms, {len(truth.foreign)} foreign) in "
              f"{sim_s:.1f} s; {size_mb:.0f} MB; by kind {dict(pages_by_kind)}; scan dpi {dict(sorted(dpis.items()))}")

        seconds, merged = read_kinds(app, files, [k for k in papersim.KINDS if k in files], pages_by_kind,
                                     args.workers)
        score = papersim.score(truth, merged)
        t_decode = read_only_s(list(files.values()))

        t = time.perf_counter()
        text_pdf = work / "printed.pdf"
        text_truth = scansim.simulate_text_layer(app, text_pdf, forms=forms_for(app, pages, args.seed + 1,
                                                                                 blank_share=0))
        sim_text = time.perf_counter() - t
        t_text, text_result = parse(app, [text_pdf], args.workers)
        text_score = scansim.score(text_truth, text_result)
        print(f"printed {text_truth.pages_total} text-layer pages in {sim_text:.1f} s; read in {t_text:.2f} s")

        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copytree(out, args.keep / "paper", dirs_exist_ok=True)
            (args.keep / "truth.json").write_text(json.dumps(truth.as_json(), ensure_ascii=False, indent=1),
                                                  encoding="utf-8")
            keep_truth(truth, out, args.keep / "paper")
            print(f"kept in {args.keep} (read it again with --reread {args.keep})")

        print()
        rows = kind_rows(score, pages_by_kind, seconds)
        print_kind_rows(rows)
        base = next((r for r in rows if r[0] == "colour"), None)
        if base:
            print("ratios against colour scans in this run (errors = 1 - accuracy; s/page):")
            for r in rows:
                if r[0] in ("colour", "all"):
                    continue
                ratio = lambda a, b: "—" if a is None or b is None else (  # noqa: E731
                    f"{a / b:.1f}×" if b > 0 else ("=" if a == 0 else "∞"))
                err = lambda x: None if x is None else 1 - x  # noqa: E731
                print(f"  {r[0]:<6} tick errors {ratio(err(r[3]), err(base[3]))}, signer errors "
                      f"{ratio(err(r[4]), err(base[4]))}, date errors {ratio(err(r[5]), err(base[5]))}, review "
                      f"{ratio(r[6], base[6])}, silent {ratio(r[7], base[7])}, s/page {ratio(r[8], base[8])}")
        image_pages = sum(pages_by_kind.values())
        s_per_page = sum(seconds.values()) / image_pages
        print(f"s/page {s_per_page:.3f} vs only decoding the page images in this run {t_decode / image_pages:.3f} "
              f"(×{s_per_page / max(1e-9, t_decode / image_pages):.1f}; the reader uses {args.workers} workers)")
        print("by value kind: " + "; ".join(
            f"{k} {_fmt(_rate(score.of(k), 'right'))} ({len(score.of(k))})"
            for k in ("identity", "tick", "signature", "thumbprint", "date")))
        if score.problems:
            print(f"structural problems ({len(score.problems)}):")
            print("\n".join(f"  {p}" for p in score.problems[:15]))
        if args.dump:
            dump(score, args.dump)
        silent = [i for i in score.items if i.silent]
        if silent:
            print(f"silent errors ({len(silent)}; by kind/value {dict(Counter((i.scan, i.kind) for i in silent))}):")
            for i in silent[:args.show]:
                print(f"  {i}")
        styles = Counter()
        for i in score.of("tick"):
            style = i.what.split(" ")[2] if i.what.count(" ") >= 2 else "none"
            styles[(style, i.right)] += 1
        print("ticks by hand style (right/all): " + "; ".join(
            f"{s} {styles[(s, True)]}/{styles[(s, True)] + styles[(s, False)]}"
            for s in ("none", *papersim.TICK_STYLES) if styles[(s, True)] + styles[(s, False)]))
        seal = [i for i in score.of("signature") if i.what.endswith(" seal")]
        print("seals read as present by kind: " + "; ".join(
            f"{k} {_fmt(_rate([i for i in seal if i.scan == k], 'right'))}" for k in papersim.KINDS))
        if any(i.flagged for i in score.items):
            print(review_reasons(score))
        print()
        print(f"text layer: {text_truth.pages_total} pages, {text_truth.pages_total / t_text:.1f} pages/s "
              f"(target ≥ 50); silent {pct(text_score.silent_rate())}")
        print(f"Baseline: {BASELINE}.")
        allrow = rows[-1]
        worst_silent = max(r[7] or 0 for r in rows)
        print(f"identity={_fmt(allrow[2])}")
        print(f"ticks={_fmt(allrow[3])}")
        print(f"signatures={_fmt(allrow[4])}")
        print(f"dates={_fmt(allrow[5])}")
        print(f"review_share={_fmt(allrow[6])}")
        print(f"silent_errors={pct(worst_silent)}")
        print(f"s_per_image_page={s_per_page:.3f}")
        print(f"text_pages_per_s={text_truth.pages_total / t_text:.1f}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def keep_truth(truth: papersim.PaperTruth, made_in: Path, kept_in: Path) -> None:
    """The truth as a pickle whose paths point into ``kept_in`` (for ``--reread``)."""
    kept = copy.deepcopy(truth)
    moved = lambda f: str(kept_in / Path(f).relative_to(made_in))  # noqa: E731
    kept.files = [moved(f) for f in kept.files]
    kept.foreign = [(moved(f), n) for f, n in kept.foreign]
    for p in kept.pages:
        p.file = moved(p.file)
    (kept_in.parent / "truth.pickle").write_bytes(pickle.dumps(kept))


def reread_papersim(app: App, args) -> int:
    """Read paper kept by ``--keep`` again (no printing, no simulating): per kind, the
    figures and, with ``--dump``, every wrong or flagged value. For working on the reader."""
    truth = pickle.loads((args.reread / "truth.pickle").read_bytes())
    files, _ = kind_files(truth)
    kinds = [k for k in papersim.KINDS if k in files and (not args.kinds or k in args.kinds)]
    truth.pages = [p for p in truth.pages if p.scan.kind in kinds]
    truth.foreign = [(f, n) for f, n in truth.foreign if Path(f).stem in kinds]
    _, pages_by_kind = kind_files(truth)
    print(f"# bench_parse --reread {args.reread}: {truth.pages_total} pages ({', '.join(kinds)}), "
          f"workers {args.workers}")
    seconds, merged = read_kinds(app, files, kinds, pages_by_kind, args.workers)
    score = papersim.score(truth, merged)
    print_kind_rows(kind_rows(score, pages_by_kind, seconds))
    if args.dump:
        dump(score, args.dump)
    for i in [i for i in score.items if i.silent][:args.show]:
        print(f"  {i}")
    print(review_reasons(score))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=300, help="pages to simulate (default 300)")
    ap.add_argument("--quick", action="store_true", help="40 pages, for a smoke run")
    ap.add_argument("--sim", choices=("papersim", "scansim"), default="papersim",
                    help="papersim (default): independent paper; scansim: the old simulator")
    ap.add_argument("--seed", type=int, default=20220517)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="keep the simulated files and the truth (JSON) in this folder")
    ap.add_argument("--show", type=int, default=20, metavar="N", help="list the first N silent / wrong values")
    ap.add_argument("--dump", type=Path, metavar="FILE",
                    help="(papersim) write every silent, wrong or flagged value to FILE, one JSON line each")
    ap.add_argument("--reread", type=Path, metavar="DIR",
                    help="(papersim) read paper kept with --keep DIR again instead of simulating new paper")
    ap.add_argument("--kinds", nargs="+", choices=papersim.KINDS, help="(with --reread) only these scan kinds")
    args = ap.parse_args(argv)
    return run_papersim(args) if args.sim == "papersim" else run_scansim(args)


if __name__ == "__main__":
    sys.exit(main())
