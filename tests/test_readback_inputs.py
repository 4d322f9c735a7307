"""Whatever is handed in, every page is accounted for and nothing ends in a traceback:
corrupt, encrypted and empty files, photos, blank sheets, unknown form versions, a
500-page PDF, multi-page TIFFs; the command's exit code and its atomic output."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fanpin_forms.cli import cli
from fanpin_forms.errors import Code

from .test_readback_common import geometry, households, only_record, parse, print_forms, save_pdf, scan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def printed(app, tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    pdf, _ = print_forms(app, "annex2", folder / "printed.pdf", households(1), blanks=1)
    return pdf


def encrypted_pdf(path: Path, user_password: bytes = b"secret") -> Path:
    """A one-page PDF locked with the standard security handler (RC4, 40 bit, R2)."""
    pad = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")

    def rc4(key: bytes, data: bytes) -> bytes:
        s, j = list(range(256)), 0
        for i in range(256):
            j = (j + s[i] + key[i % len(key)]) % 256
            s[i], s[j] = s[j], s[i]
        out, i, j = bytearray(), 0, 0
        for byte in data:
            i = (i + 1) % 256
            j = (j + s[i]) % 256
            s[i], s[j] = s[j], s[i]
            out.append(byte ^ s[(s[i] + s[j]) % 256])
        return bytes(out)

    padded = (user_password + pad)[:32]
    owner = rc4(hashlib.md5(padded).digest()[:5], padded)
    file_id = hashlib.md5(b"fanpin").digest()
    p = (-44).to_bytes(4, "little", signed=True)
    key = hashlib.md5(padded + owner + p + file_id).digest()[:5]
    user = rc4(key, pad)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
               b"<< /Filter /Standard /V 1 /R 2 /O <" + owner.hex().encode() + b"> /U <" + user.hex().encode()
               + b"> /P -44 >>"]
    body, offsets = b"%PDF-1.4\n", []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Encrypt 4 0 R /ID [<{file_id.hex()}> "
             f"<{file_id.hex()}>] >>\nstartxref\n{xref}\n%%EOF\n").encode()
    path.write_bytes(body)
    return path


def test_broken_files_are_reported_and_the_others_read(app, printed, tmp_path):
    good = save_pdf([scan(printed, 1)], tmp_path / "good.pdf")
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog" + bytes(range(256)) * 4)
    locked = encrypted_pdf(tmp_path / "locked.pdf")
    empty_pdf = tmp_path / "empty.pdf"
    empty_pdf.write_bytes(b"")
    empty_png = tmp_path / "empty.png"
    empty_png.write_bytes(b"")
    bad_png = tmp_path / "truncated.png"
    bad_png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a scan")
    missing = tmp_path / "missing.pdf"
    paths = [corrupt, locked, good, empty_pdf, empty_png, bad_png, notes, missing]
    result = parse(app, paths)
    s = result.summary
    assert (s["files"], s["pages"], s["recognised"], s["failed"], s["forms"]) == (8, 8, 1, 7, 1)
    assert s["pages"] == s["recognised"] + s["foreign"] + s["duplicates"] + s["failed"]
    assert only_record(result)["case_id"] == "T-001"
    messages = {Path(p.location.file.split(" ")[0]).name: p.message for p in result.failures}
    assert messages["locked.pdf"] == Code.READ_PDF_ENCRYPTED.format()
    assert messages["empty.pdf"] == messages["empty.png"] == Code.READ_FILE_EMPTY.format()
    assert "损坏" in messages["corrupt.pdf"] and "图片" in messages["truncated.png"]
    assert messages["notes.txt"] == Code.READ_FILE_TYPE.format(suffix=".txt")
    assert messages["missing.pdf"] == Code.READ_FILE_MISSING.format(path=str(missing))


def test_photos_blank_sheets_and_unknown_versions_are_not_our_forms(app, printed, tmp_path):
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:1400, 0:1000]
    photo = np.stack([(xx * 0.2 + yy * 0.1) % 255, (yy * 0.15) % 255, (xx * 0.1 + 60) % 255], axis=-1)
    photo = Image.fromarray(np.clip(photo + rng.normal(0, 25, photo.shape), 0, 255).astype(np.uint8))
    blank = Image.new("RGB", (1240, 1754), "white")
    # a form of ours from a version this program does not know (its QR code over the real one)
    from fanpin_forms.pagemark import encode_payload
    from fanpin_forms.render.qr import qr_png

    qr = geometry(app, printed, "annex2").qr
    s = 200 / 72
    code = Image.open(io.BytesIO(qr_png(encode_payload("annex2", "2031.9", "C:X-1"), scale=5))).convert("RGB")
    future = scan(printed, 1, draw=lambda pen: pen.image.paste(
        code.resize((int(qr.width * s), int(qr.height * s))), (int(qr.x0 * s), int(qr.top * s))))
    tiff = tmp_path / "pile.tif"
    photo.save(tiff, save_all=True, append_images=[blank, scan(printed, 2), future])
    result = parse(app, [tiff])
    assert [p["status"] for p in result.pages] == ["foreign", "foreign", "recognised", "failed"]
    assert Code.READ_EMPTY_PAGE.format() in result.pages[1]["why"]
    assert "2031.9" in result.pages[3]["why"] and "不是本程序认识的表单" in result.pages[3]["why"]
    assert only_record(result)["serial"] == "annex2-20220601-1"


def test_a_500_page_pdf(app, printed, tmp_path):
    """Read at text-layer speed, page by page; the same page 500 times is one form and 499 duplicates."""
    import time

    import pypdfium2 as pdfium

    big = pdfium.PdfDocument.new()
    src = pdfium.PdfDocument(str(printed))
    for _ in range(500):
        big.import_pages(src, [0])
    path = tmp_path / "big.pdf"
    big.save(str(path))
    big.close()
    src.close()
    start = time.perf_counter()
    result = parse(app, [path], workers=2)
    took = time.perf_counter() - start
    s = result.summary
    assert (s["pages"], s["recognised"], s["duplicates"], s["forms"], s["failed"]) == (500, 1, 499, 1, 0)
    assert took < 60, took


def test_the_command_writes_its_output_and_says_what_failed(app, printed, tmp_path, runner):
    good = save_pdf([scan(printed, 1), scan(printed, 2, turn=90)], tmp_path / "scans.pdf")
    out = tmp_path / "out" / "records.jsonl"
    res = runner.invoke(cli, ["parse", str(good), "-o", str(out), "-j", "1"], obj=app)
    assert res.exit_code == 0, res.output
    assert "读取了 1 个文件、2 页：识别 2 页" in res.output and "失败 0 页" in res.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["case_id"] or r["serial"] for r in records] == ["T-001", "annex2-20220601-1"]
    assert not list(out.parent.glob(".*tmp*"))  # written through a temporary file, nothing left over

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 garbage")
    res = runner.invoke(cli, ["parse", str(good), str(broken), "-o", str(out), "-j", "1"], obj=app)
    assert res.exit_code == 1
    assert "Traceback" not in res.output and "broken.pdf" in res.output and "失败 1 页" in res.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2  # the good file is still read and written

    res = runner.invoke(cli, ["parse", str(tmp_path / "nothing-here"), "-o", str(out)], obj=app)
    assert res.exit_code == 1 and "Traceback" not in res.output


@pytest.mark.parametrize("dither", [True, False])
def test_a_1_bit_scan_pdf_stays_1_bit(tmp_path, dither):
    """A black-and-white copier's PDF (1-bit image) is rendered without smoothing, so the
    reader sees it as the 1-bit scan it is (dithered or thresholded), not as a grey one."""
    from fanpin_forms.readback.images import scan_kind
    from fanpin_forms.readback.inputs import iter_pages

    from . import papersim

    rng = np.random.default_rng(3)
    grey = np.full((2339, 1654), 235, np.uint8)  # A4 at 200 dpi: light paper, a dark band, text-like strokes
    grey[400:700, 200:1400] = 120
    grey[1000:1020, 100:1500] = 20
    img = Image.fromarray(np.clip(grey + rng.normal(0, 12, grey.shape), 0, 255).astype(np.uint8))
    bw = img.convert("1") if dither else img.point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE)
    import zlib

    shot = papersim.Scanned(zlib.compress(bw.tobytes()), bw.width, bw.height, 200, "DeviceGray", 1, "FlateDecode",
                            papersim.ScanInfo("bw", 200))
    pdf = papersim.write_image_pdf(tmp_path / "bw.pdf", [shot])
    page = next(iter_pages(pdf))
    arr = np.asarray(page.image.convert("L"))
    assert float(((arr > 40) & (arr < 215)).mean()) == 0.0  # no grey a smoothing would make
    assert scan_kind(arr) == ("dither" if dither else "binary")
