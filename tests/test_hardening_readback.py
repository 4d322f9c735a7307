"""Read-back hardening: a forged or foreign QR code never files a form under another
household, and a signed scan is never replaced by an unsigned copy of the same page.

Forms are printed by the product (``fanpin fill --pdf``, ``tests/scansim.py``), forged
pages are made by pasting a QR code over the printed one, and everything is read back
through ``parse_inputs`` (one process, so the test's key is the one used).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import stat
from pathlib import Path

import pytest
from PIL import Image

from fanpin_forms.cli import cli
from fanpin_forms.errors import Code, FanpinError
from fanpin_forms.readback import run as read
from fanpin_forms.readback.assemble import assemble
from fanpin_forms.pagemark import encode_payload
from fanpin_forms.render.qr import qr_matrix, qr_png
from fanpin_forms.util.secret import installation_key, secret_path

from . import scansim
from .conftest import household, make_id, write_xlsx

pytestmark = pytest.mark.slow

CASES = ("HQ-001", "HQ-002")


@pytest.fixture(scope="module")
def key_a(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("key-a") / "secret"


@pytest.fixture(autouse=True)
def _key(monkeypatch, key_a):
    """Every test here runs with installation key A (after conftest cleared FANPIN_FORMS_*)."""
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(key_a))


#: annex 2's version in form_specs/annex2.yaml (the QR codes below must name the printed layout)
V2 = "2022.2"


def _rows() -> list[dict]:
    return [household(**{"户编号": case, "户主姓名": name, "身份证号码": make_id(seq=f"{i + 31:03d}"),
                         "联系电话": f"1390730{4321 + i:04d}"})
            for i, (case, name) in enumerate(zip(CASES, ("赵四", "钱五")))]


@pytest.fixture(scope="module")
def filled(app, tmp_path_factory, key_a) -> dict[str, Path]:
    """``fanpin fill annex2 --pdf`` under key A: one unsigned text-layer PDF per household."""
    from click.testing import CliRunner

    work = tmp_path_factory.mktemp("filled")
    data = write_xlsx(work / "台账.xlsx", _rows())
    env = {"FANPIN_FORMS_SECRET_FILE": str(key_a)}
    result = CliRunner().invoke(cli, ["fill", "annex2", "--data", str(data), "-o", str(work / "out"), "--pdf",
                                      "--name", "{case_id}", "--year", "2022", "-j", "1"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert app.form("annex2").version == V2
    pdfs = {case: work / "out" / f"{case}.pdf" for case in CASES}
    assert all(p.is_file() for p in pdfs.values()), sorted(os.listdir(work / "out"))
    return pdfs


def parse(app, *inputs):
    return read.parse_inputs(app.read_setup(), [Path(p) for p in inputs], workers=1)


def _identity_items(rec: dict) -> list[dict]:
    return [it for it in rec["needs_review"] if it["item"] == "identity"]


# --- the installation key ----------------------------------------------------------------------------


def test_key_is_made_once_readable_by_its_owner_only(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "secret"
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(path))
    assert secret_path() == path
    key = installation_key()
    assert len(key) == 32 and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert bytes.fromhex(path.read_text().strip()) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary file left


def test_default_key_place_and_home_override(tmp_path, monkeypatch):
    monkeypatch.delenv("FANPIN_FORMS_SECRET_FILE")
    monkeypatch.setenv("FANPIN_FORMS_HOME", str(tmp_path / "home"))
    assert secret_path() == tmp_path / "home" / "secret"
    monkeypatch.delenv("FANPIN_FORMS_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert secret_path() == tmp_path / "xdg" / "fanpin-forms" / "secret"


def test_key_file_others_can_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "shared-secret"
    path.write_text(secrets.token_hex(32))
    path.chmod(0o644)
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(path))
    with pytest.raises(FanpinError) as exc:
        installation_key()
    assert exc.value.problems[0].code == Code.SECRET_OPEN
    assert "chmod 600" in str(exc.value) and "0644" in str(exc.value)


def test_damaged_key_file_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "secret"
    path.write_text("not a key")
    path.chmod(0o600)
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(path))
    with pytest.raises(FanpinError) as exc:
        installation_key()
    assert exc.value.problems[0].code == Code.SECRET_UNREADABLE


# --- forged and foreign QR codes -----------------------------------------------------------------------


def _scan_with_qr(app, pdf: Path, payload: str, out: Path, dpi: int = 200) -> Path:
    """The printed page as a copier would see it, with ``payload``'s QR code pasted
    exactly over the printed one (what a forger with a sticker does)."""
    from fanpin_forms.readback.reference import reference_for

    page = scansim.rasterise(pdf, 1, dpi).convert("RGB")
    geo = reference_for(app.read_setup(), app.form("annex2")).geometry(1)
    f = dpi / 72.0
    box = tuple(round(v * f) for v in (geo.qr.x0, geo.qr.top, geo.qr.x1, geo.qr.bottom))
    modules = len(qr_matrix(payload).matrix) + 4
    code = Image.open(io.BytesIO(qr_png(payload, scale=12))).convert("RGB")
    page.paste(code.resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.NEAREST), box[:2])
    assert modules > 0
    page.save(out, dpi=(dpi, dpi))
    return out


def _legacy(body: str) -> str:
    return body + "|" + hashlib.sha1(body.encode()).hexdigest()[:4].upper()


def _random_mac_payload(case: str) -> str:
    mac = base64.b32encode(secrets.token_bytes(5)).decode()
    return f"FPF2|annex2|{V2}|C:{case}|1/1|{mac}"


@pytest.mark.parametrize("forge", ["sha1", "random-mac"])
def test_forged_qr_for_another_household_is_not_filed_under_it(app, filled, tmp_path, forge):
    payload = (_legacy(f"FPF1|annex2|{V2}|C:HQ-002|1/1") if forge == "sha1"
               else _random_mac_payload("HQ-002"))
    scan = _scan_with_qr(app, filled["HQ-001"], payload, tmp_path / "forged.png")
    result = parse(app, scan)
    [rec] = result.records
    assert rec["case_id"] == "HQ-001"  # the printed id of the real form, not the forged code's
    [item] = _identity_items(rec)
    assert Code.READ_ID_MISMATCH.format(qr="C:HQ-002 第1/1页", printed="C:HQ-001 第1/1页",
                                        used="页面上印的编号") in item["why"]
    assert ("旧版格式" if forge == "sha1" else "防伪码与本机密钥不符") in item["why"]
    assert result.pages[0]["status"] == "flagged"


def test_genuine_qr_on_another_households_form_goes_to_review(app, filled, tmp_path):
    scan = _scan_with_qr(app, filled["HQ-001"], encode_payload("annex2", V2, "C:HQ-002"),
                         tmp_path / "swapped.png")
    result = parse(app, scan)
    [rec] = result.records
    [item] = _identity_items(rec)
    assert item["why"] == Code.READ_ID_MISMATCH.format(qr="C:HQ-002 第1/1页", printed="C:HQ-001 第1/1页",
                                                       used="二维码")
    assert item["value"] == "C:HQ-002" and item["confidence"] < 0.5


def test_genuine_scan_is_trusted_without_review(app, filled, tmp_path):
    scan = _scan_with_qr(app, filled["HQ-001"], encode_payload("annex2", V2, "C:HQ-001"),
                         tmp_path / "genuine.png")
    result = parse(app, scan)
    [rec] = result.records
    assert rec["case_id"] == "HQ-001" and not _identity_items(rec)
    assert result.pages[0]["status"] == "recognised"


def test_old_fpf1_code_is_read_as_unauthenticated(app, filled, tmp_path):
    scan = _scan_with_qr(app, filled["HQ-001"], _legacy(f"FPF1|annex2|{V2}|C:HQ-001|1/1"), tmp_path / "old.png")
    result = parse(app, scan)
    [rec] = result.records
    assert rec["case_id"] == "HQ-001"
    [item] = _identity_items(rec)
    assert item["why"] == Code.READ_QR_LEGACY.format(ident="C:HQ-001")


def test_form_printed_with_another_key_goes_to_review(app, filled, tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(tmp_path / "key-b"))
    result = parse(app, filled["HQ-001"])
    [rec] = result.records
    assert rec["case_id"] == "HQ-001"
    [item] = _identity_items(rec)
    assert item["why"] == Code.READ_QR_UNVERIFIED.format(ident="C:HQ-001", printed=Code.READ_ID_PRINTED_SAME.format())
    assert "不是用本机" in item["why"]
    assert result.pages[0]["status"] == "flagged"


def test_blank_form_serial_with_another_key_goes_to_review(app, tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(tmp_path / "key-c"))
    truth = scansim.simulate_text_layer(app, tmp_path / "blank.pdf", forms=[("annex2", 1)])
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(tmp_path / "key-d"))
    result = parse(app, truth.file)
    [rec] = result.records
    assert rec["serial"] and "防伪码与本机密钥不符" in _identity_items(rec)[0]["why"]


# --- duplicate pages: the signed one wins ----------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_scan(app, filled, tmp_path_factory, key_a) -> Path:
    """The same two households' forms, printed, signed and scanned (no duplicates inside)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("FANPIN_FORMS_SECRET_FILE", str(key_a))
    try:
        work = tmp_path_factory.mktemp("signed")
        records = scansim.load_records(app, "annex2", _rows(), work)
        out = work / "signed.pdf"
        scansim.simulate(app, out, forms=[("annex2", records)], seed=808, dpi=200, rotate=False, skew_deg=0.5,
                         foreign=0, duplicate=0, shuffle=False)
    finally:
        mp.undo()
    return out


@pytest.mark.parametrize("order", ["unsigned-first", "signed-first"])
def test_signed_scan_wins_over_the_unsigned_pdf(app, filled, signed_scan, order):
    inputs = [filled["HQ-001"], signed_scan] if order == "unsigned-first" else [signed_scan, filled["HQ-001"]]
    alone = {r["case_id"]: r for r in parse(app, signed_scan).records}["HQ-001"]
    result = parse(app, *inputs)
    rec = {r["case_id"]: r for r in result.records}["HQ-001"]
    assert rec["stages"] == alone["stages"]  # what the signed scan says, not the unsigned copy
    assert any(st["signed"] or st["date"] for st in rec["stages"].values())
    assert rec["source"]["file"] == str(signed_scan)
    dup = [it for it in rec["needs_review"] if it["item"] == "duplicate"]
    assert len(dup) == 1
    assert f"未采用 {filled['HQ-001']} 第1页" in dup[0]["why"] and f"采用 {signed_scan} 第1页" in dup[0]["why"]
    assert result.summary["duplicates"] == 1
    [gone] = result.summary["duplicate_pages"]
    assert (gone["file"], gone["page"], gone["kept_file"]) == (str(filled["HQ-001"]), 1, str(signed_scan))
    assert "签字、盖章、手印、日期多" in gone["why"]
    statuses = {(p["file"], p["page"]): p["status"] for p in result.pages}
    assert statuses[(str(filled["HQ-001"]), 1)] == "duplicate"
    assert statuses[(str(signed_scan), 1)] in ("recognised", "flagged")


def test_two_signed_copies_that_disagree_go_to_review(app, signed_scan, tmp_path):
    from fanpin_forms.readback.page import read_page
    from fanpin_forms.readback.inputs import load_page

    first = read_page(app.read_setup(), load_page(signed_scan, 1, source="a.pdf"))
    second = read_page(app.read_setup(), load_page(signed_scan, 1, source="b.pdf"))
    st = next(iter(second.reading.stages.values()))
    st.date = None if st.date else "2022-06-03"  # the second copy says something else
    result = assemble(app.read_setup(), [first, second])
    [rec] = result.records
    [item] = [it for it in rec["needs_review"] if it["item"] == "duplicate"]
    assert "读出的不一致" in item["why"] and "日期" in item["why"] and item["confidence"] < 0.5
    assert result.summary["duplicate_pages"][0]["file"] in ("a.pdf", "b.pdf")


def test_cli_names_the_page_it_did_not_use(app, filled, signed_scan, tmp_path, runner, key_a):
    out = tmp_path / "records.jsonl"
    res = runner.invoke(cli, ["parse", str(filled["HQ-001"]), str(signed_scan), "-o", str(out), "-j", "1"],
                        env={"FANPIN_FORMS_SECRET_FILE": str(key_a)}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert f"重复页：未采用 {filled['HQ-001']} 第1页，采用 {signed_scan} 第1页" in res.output


def test_ocr_losing_letters_is_not_a_mismatch_but_another_digit_is():
    from fanpin_forms.readback.identify import Identity, cross_check
    from fanpin_forms.pagemark import decode_payload

    p = decode_payload(encode_payload("annex2", "2022.1", "C:YY-RJW-002"))
    qr = Identity(p, "qr", 0, "annex2")
    assert cross_check(qr, ("C", "Y-RJ-002", 1, 1)).trusted
    other = cross_check(qr, ("C", "YY-RJW-003", 1, 1))
    assert not other.trusted and "不一致" in other.note and other.payload.value == "YY-RJW-002"
    assert cross_check(qr, ("C", "yY-RJW-0O2", 1, 1)).trusted  # case and O/0 are OCR's, not the forger's


def test_a_file_name_that_is_not_utf8_is_read_and_written_safely(app, filled, tmp_path, runner, key_a):
    """A scan copied from an old USB stick can carry a GBK file name that is not UTF-8 on Linux:
    the records and the review page are still written (valid UTF-8, the name escaped), no traceback."""
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/scan-\xb1\xed.pdf"))  # 扫描 in GBK would be like this
    odd.write_bytes(filled["HQ-001"].read_bytes())
    out = tmp_path / "records.jsonl"
    res = runner.invoke(cli, ["parse", str(odd), "-o", str(out), "-j", "1", "--review", str(tmp_path / "复核")],
                        env={"FANPIN_FORMS_SECRET_FILE": str(key_a)})
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output and res.exception is None
    import json

    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records and records[0]["source"]["file"] == str(odd)
    (tmp_path / "复核" / "review.html").read_text(encoding="utf-8")
