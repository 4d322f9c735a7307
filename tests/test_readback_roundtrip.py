"""Round trip: forms printed by the product, signed and scanned by tests/scansim.py, read
back by ``parse_inputs`` and compared with the truth record by record.

Every value is either right, or wrong and flagged for review; a wrong value that is not
flagged (a *silent error*) fails the test, with the form, stage, item and the page's
scan settings in the message so the case can be replayed (same seed, same pages).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import scansim

from fanpin_forms.readback import run as read

pytestmark = pytest.mark.slow

SEED = 4242


def parse(app, inputs):
    return read.parse_inputs(app.read_setup(), [Path(p) for p in inputs], data=None, review_dir=None, workers=None, progress=None)


def _where(truth: scansim.ScanTruth, form_label: str) -> str:
    """The scan settings of a form's page(s), for messages."""
    for f in truth.forms:
        if f"{f.form} {f.ident}" == form_label:
            return "; ".join(f"{Path(s.file).name} p{s.page}: {s.dpi} dpi, turned {s.rotation}°, skew {s.skew:+.2f}°, "
                             f"JPEG q{s.jpeg_quality}, blur {s.blur:.2f}, noise {s.noise:.1f}" for s in f.scans)
    return "?"


def _report(truth: scansim.ScanTruth, items: list[scansim.Item], seed: int) -> str:
    lines = [f"seed {seed}: {len(items)} value(s)"]
    for item in items[:40]:
        lines.append(f"  {item}\n      scanned as {_where(truth, item.form)}")
    return "\n".join(lines)


def _mixed_forms(app, rows):
    return [("annex1", scansim.load_records(app, "annex1", rows[0:2])), ("annex1", 2),
            ("annex2", scansim.load_records(app, "annex2", rows[2:4])), ("annex2", 2),
            ("annex3", scansim.load_records(app, "annex3", rows[4:6])), ("annex3", 2)]


@pytest.fixture(scope="module")
def image_run(app, tmp_path_factory):
    """12 forms across the 3 annexes (6 pre-filled, 6 blank), 150–300 dpi, some turned,
    skewed, noisy, JPEG 50–90, shuffled, with a foreign page and a page scanned twice."""
    out = tmp_path_factory.mktemp("roundtrip") / "returned.pdf"
    rows = scansim.households(6, seed=SEED)
    truth = scansim.simulate(app, out, forms=_mixed_forms(app, rows), seed=SEED)
    result = parse(app, [out])
    return truth, result, scansim.score(truth, result)


@pytest.fixture(scope="module")
def text_run(app, tmp_path_factory):
    """The printed PDF itself (text layer): filled and blank forms of every annex."""
    out = tmp_path_factory.mktemp("roundtrip-text") / "printed.pdf"
    rows = scansim.households(6, seed=SEED + 1)
    truth = scansim.simulate_text_layer(app, out, forms=_mixed_forms(app, rows))
    result = parse(app, [out])
    return truth, result, scansim.score(truth, result)


def test_image_scan_every_page_is_accounted_for(image_run):
    truth, result, score = image_run
    s = result.summary
    assert s["files"] == 1 and s["pages"] == truth.pages_total == 14
    assert s["recognised"] + s["foreign"] + s["duplicates"] + s["failed"] == s["pages"]
    assert (s["foreign"], s["duplicates"], s["failed"]) == (1, 1, 0)
    assert s["forms"] == len(truth.forms) == len(result.records) == 12
    assert not score.problems, score.problems


def test_image_scan_each_form_found_once_by_its_qr_code(image_run):
    truth, result, score = image_run
    assert not score.problems, score.problems
    wrong = [i for i in score.of("identity") if not i.right]
    assert not wrong, _report(truth, wrong, SEED)
    found = {(r["form"], r["case_id"] or r["serial"]): r for r in result.records}
    for f in truth.forms:
        rec = found[(f.form, f.case_id or f.serial)]
        assert rec["form_version"] == f.version and rec["identified_by"] == "qr"
        assert rec["source"]["pages"] == [p for _, p in f.pages] or \
            rec["source"]["pages"] == [d for (_, d), o in truth.duplicate_of.items() if o in f.pages]


def test_image_scan_no_silent_errors(image_run):
    """Ticks per stage, signer presence and dates equal the truth unless the item is in
    needs_review; nothing wrong goes unflagged."""
    truth, _, score = image_run
    assert not score.silent, _report(truth, score.silent, SEED)


def test_image_scan_reads_most_values_rather_than_flagging_them(image_run):
    """Flagging everything would avoid silent errors too: most values must be read right
    without review."""
    truth, _, score = image_run
    for kind, least in (("tick", 0.97), ("signature", 0.95), ("date", 0.8)):
        items = score.of(kind)
        right_unflagged = [i for i in items if i.right and not i.flagged]
        not_plain = [i for i in items if not i.right or i.flagged]
        assert len(right_unflagged) >= least * len(items), _report(truth, not_plain, SEED)


def test_image_scan_seals_and_thumbprints(image_run):
    """A 盖章 signer is present exactly when the seal is there; thumbprints are told apart."""
    truth, result, score = image_run
    assert not [i for i in score.of("thumbprint") if i.silent], _report(truth, score.of("thumbprint"), SEED)
    found = {(r["form"], r["case_id"] or r["serial"]): r for r in result.records}
    for f in truth.forms:
        rec = found.get((f.form, f.case_id or f.serial))
        if rec is None:
            continue  # reported by the identity test
        flags = {(n.get("stage"), n.get("item")) for n in rec.get("needs_review") or []}
        for key, st in f.stages.items():
            for i, s in enumerate(st.signers):
                if "盖章" in s.marks and (key, f"signature:{i}") not in flags:
                    assert rec["stages"][key]["signers"][i]["seal"] == s.seal, (f.form, f.ident, key, i)


def test_image_scan_review_items_are_well_formed(image_run):
    _, result, _ = image_run
    items = {"date", "identity", "duplicate"}
    for rec in result.records:
        assert rec["source"]["file"].endswith("returned.pdf")
        for note in rec["needs_review"]:
            assert {"id", "stage", "item", "why", "value", "confidence", "crop"} <= set(note)
            assert note["item"] in items or note["item"].split(":", 1)[0] in ("codes", "signature", "field"), note
            assert note["why"] and 0.0 <= note["confidence"] <= 1.0
    assert result.summary["review"] == sum(bool(r["needs_review"]) for r in result.records) or \
        result.summary["review"] == sum(len(r["needs_review"]) for r in result.records)


def test_text_layer_round_trip_is_exact(text_run):
    """A PDF straight from the pipeline: identity, printed ☑ per stage, no signatures, no
    dates — all exact, nothing sent to review."""
    truth, result, score = text_run
    s = result.summary
    assert s["pages"] == truth.pages_total == 12 and s["recognised"] == 12
    assert (s["foreign"], s["duplicates"], s["failed"]) == (0, 0, 0)
    assert not score.problems, score.problems
    assert not score.wrong, _report(truth, score.wrong, SEED + 1)
    assert not [i for i in score.items if i.flagged], _report(truth, [i for i in score.items if i.flagged], SEED + 1)
    found = {(r["form"], r["case_id"] or r["serial"]): r for r in result.records}
    for f in truth.forms:
        rec = found[(f.form, f.case_id or f.serial)]
        assert rec["identified_by"] in ("qr", "text")
        if f.filled:
            assert rec["fields"].get("head_name") == f.values["head_name"], (f.form, f.ident)


def test_a_folder_of_jpeg_scans(app, tmp_path):
    """Scanners that save one JPEG per page: the folder is read like the PDF."""
    rows = scansim.households(3, seed=SEED + 2)
    folder = tmp_path / "scans"
    truth = scansim.simulate(app, folder, seed=SEED + 2, foreign=1, duplicate=1,
                             forms=[("annex2", scansim.load_records(app, "annex2", rows)), ("annex3", 1)])
    result = parse(app, [folder])
    score = scansim.score(truth, result)
    assert result.summary["pages"] == truth.pages_total == 6 and result.summary["files"] == 6
    assert (result.summary["foreign"], result.summary["duplicates"]) == (1, 1)
    assert not score.problems, score.problems
    assert not score.silent, _report(truth, score.silent, SEED + 2)
