"""The page id: QR payload format, checksum, printed text, and the QR image itself."""

from __future__ import annotations

import hashlib
import io
import random
import string

import pytest
import segno
import zxingcpp
from PIL import Image

from fanpin_forms.errors import Code, ReadBackError
from fanpin_forms.render import _qrmask
from fanpin_forms.render.qr import (
    Payload, decode_payload, encode_payload, ident_text, parse_ident_text, qr_matrix, qr_png,
)


def test_payload_format_and_checksum():
    text = encode_payload("annex2", "2022.1", "C:YY-0001", 1, 1)
    body = "FPF1|annex2|2022.1|C:YY-0001|1/1"
    assert text == body + "|" + hashlib.sha1(body.encode()).hexdigest()[:4].upper()
    assert text.isascii()
    assert decode_payload(text) == Payload("annex2", "2022.1", "C", "YY-0001", 1, 1)
    assert decode_payload(text).case_id == "YY-0001" and decode_payload(text).serial is None


@pytest.mark.parametrize("ident", ["C:岳阳-001", "C:a|b c", "S:annex2-20220601-3", "R:17", "C:100%"])
def test_roundtrip_and_percent_encoding(ident):
    text = encode_payload("annex3", "2022.1", ident, 2, 3)
    assert text.isascii() and text.count("|") == 5
    p = decode_payload(text)
    assert p.ident == ident and (p.page, p.pages) == (2, 3)
    assert p.encode() == text


def test_bad_checksum_is_a_clear_error():
    text = encode_payload("annex2", "2022.1", "C:YY-0001")
    broken = text.replace("YY-0001", "YY-0002")
    with pytest.raises(ReadBackError) as exc:
        decode_payload(broken)
    assert exc.value.problems[0].code == Code.RENDER_QR_CHECKSUM
    assert "校验码错误" in str(exc.value)


@pytest.mark.parametrize("text, why", [
    ("http://example.com", "应以 FPF1| 开头"),
    ("FPF1|annex2|2022.1|C:1|1/1", "应有 6 段"),
    ("FPF1|annex2|2022.1|X:1|1/1|0000", None),
    ("FPF1|张三|2022.1|C:1|1/1|0000", "非 ASCII"),
])
def test_bad_format(text, why):
    with pytest.raises(ReadBackError) as exc:
        decode_payload(text)
    assert exc.value.problems[0].code in (Code.RENDER_QR_FORMAT, Code.RENDER_QR_CHECKSUM)
    if why:
        assert why in str(exc.value)


def test_page_and_kind_are_validated():
    body = "FPF1|annex2|2022.1|Q:1|1/1"
    with pytest.raises(ReadBackError, match="第 4 段"):
        decode_payload(body + "|" + hashlib.sha1(body.encode()).hexdigest()[:4].upper())
    body = "FPF1|annex2|2022.1|C:1|3/2"
    with pytest.raises(ReadBackError, match="页码"):
        decode_payload(body + "|" + hashlib.sha1(body.encode()).hexdigest()[:4].upper())
    with pytest.raises(ValueError):
        encode_payload("annex2", "2022.1", "YY-0001")


def test_ident_text_roundtrip():
    text = ident_text("annex2", "2022.1", "C:岳阳-001", 1, 1)
    assert text == "annex2 · 2022.1 · 第1/1页 · C:岳阳-001"
    assert parse_ident_text(text) == Payload("annex2", "2022.1", "C", "岳阳-001", 1, 1)
    assert parse_ident_text("annex2 ・ 2022.1 ・ 第 1 / 1 页 ・ S：annex2-20220601-3").serial == "annex2-20220601-3"
    assert parse_ident_text("随便什么") is None


def test_fast_mask_selection_equals_segno():
    """The numpy mask choice gives exactly segno's QR code (same mask, same modules)."""
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-_|岳阳%"
    for i in range(300):
        ident = "CS"[i % 2] + ":" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        payload = encode_payload("annex%d" % rng.randint(1, 3), "2022.1", ident)
        ours = qr_matrix(payload)
        ref = segno.make_qr(payload, error="m", boost_error=True)
        assert (ours.matrix, ours.mask, ours.version, ours.error) == (ref.matrix, ref.mask, ref.version, ref.error)
    assert segno.encoder.find_and_apply_best_mask is _qrmask._ORIGINAL  # patched only inside qr_matrix


def test_png_decodes_with_zxing():
    for ident in ("C:YY-0001", "S:annex1-20220601-12", "C:岳阳县新墙镇-0001"):
        payload = encode_payload("annex1", "2022.1", ident)
        image = Image.open(io.BytesIO(qr_png(payload)))
        assert image.mode == "1" and image.size[0] == image.size[1]
        found = zxingcpp.read_barcodes(image)
        assert [r.text for r in found] == [payload]


def test_payload_carries_no_personal_data():
    # the encoder only takes form, version, ident and page: nothing else can get in
    import inspect

    assert list(inspect.signature(encode_payload).parameters) == ["form_id", "version", "ident", "page", "pages"]
