"""The page id: QR payload format, MAC, printed text, and the QR image itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import random
import string

import pytest
import segno
import zxingcpp
from PIL import Image

from fanpin_forms.errors import Code, ReadBackError
from fanpin_forms.render import _qrmask
from fanpin_forms.pagemark import (
    AUTH_BAD, AUTH_LEGACY, AUTH_OK, Payload, decode_payload, encode_payload, ident_text, inspect_payload,
    parse_ident_text,
)
from fanpin_forms.render.qr import qr_matrix, qr_png
from fanpin_forms.util.secret import installation_key


def _legacy(body: str) -> str:
    return body + "|" + hashlib.sha1(body.encode()).hexdigest()[:4].upper()


def test_payload_format_and_mac():
    text = encode_payload("annex2", "2022.1", "C:YY-0001", 1, 1)
    body = "FPF2|annex2|2022.1|C:YY-0001|1/1"
    mac = base64.b32encode(hmac.new(installation_key(), body.encode(), hashlib.sha256).digest()).decode()[:8]
    assert text == body + "|" + mac
    assert text.isascii()
    assert decode_payload(text) == Payload("annex2", "2022.1", "C", "YY-0001", 1, 1)
    assert decode_payload(text).case_id == "YY-0001" and decode_payload(text).serial is None
    assert decode_payload(text).auth == AUTH_OK and decode_payload(text).trusted


def test_qr_stays_the_size_of_the_old_checksum_code():
    old = _legacy("FPF1|annex2|2022.1|C:YY-0001|1/1")
    new = encode_payload("annex2", "2022.1", "C:YY-0001", 1, 1)
    assert len(new) == len(old) + 4
    assert qr_matrix(new).version == qr_matrix(old).version == 3
    serial_old = _legacy("FPF1|annex2|2022.1|S:annex2-20220601-3|1/1")
    assert qr_matrix(encode_payload("annex2", "2022.1", "S:annex2-20220601-3")).version == qr_matrix(serial_old).version


def test_old_fpf1_code_is_read_but_not_trusted():
    p = decode_payload(_legacy("FPF1|annex2|2022.1|C:YY-0001|1/1"))
    assert p.ident == "C:YY-0001" and p.auth == AUTH_LEGACY and not p.trusted
    with pytest.raises(ReadBackError) as exc:  # a misread old code is still caught by its checksum
        decode_payload(_legacy("FPF1|annex2|2022.1|C:YY-0001|1/1").replace("YY-0001", "YY-0002"))
    assert exc.value.problems[0].code == Code.RENDER_QR_CHECKSUM


def test_code_made_with_another_key_or_forged_does_not_verify(tmp_path, monkeypatch):
    monkeypatch.setenv("FANPIN_FORMS_SECRET_FILE", str(tmp_path / "other-key"))
    elsewhere = encode_payload("annex2", "2022.1", "C:YY-0001")
    monkeypatch.undo()
    forged = [elsewhere, "FPF2|annex2|2022.1|C:YY-0002|1/1|ABCDEFGH",
              _legacy("FPF2|annex2|2022.1|C:YY-0002|1/1")]
    for text in forged:
        assert inspect_payload(text).auth == AUTH_BAD
        with pytest.raises(ReadBackError) as exc:
            decode_payload(text)
        assert exc.value.problems[0].code == Code.RENDER_QR_MAC
        assert "防伪码不符" in str(exc.value)


@pytest.mark.parametrize("ident", ["C:岳阳-001", "C:a|b c", "S:annex2-20220601-3", "R:17", "C:100%"])
def test_roundtrip_and_percent_encoding(ident):
    text = encode_payload("annex3", "2022.1", ident, 2, 3)
    assert text.isascii() and text.count("|") == 5
    p = decode_payload(text)
    assert p.ident == ident and (p.page, p.pages) == (2, 3)
    assert p.encode() == text


def test_edited_payload_is_a_clear_error():
    text = encode_payload("annex2", "2022.1", "C:YY-0001")
    broken = text.replace("YY-0001", "YY-0002")
    with pytest.raises(ReadBackError) as exc:
        decode_payload(broken)
    assert exc.value.problems[0].code == Code.RENDER_QR_MAC


@pytest.mark.parametrize("text, why", [
    ("http://example.com", "应以 FPF2| 开头"),
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
    for body, why in (("annex2|2022.1|Q:1|1/1", "第 4 段"), ("annex2|2022.1|C:1|3/2", "页码")):
        with pytest.raises(ReadBackError, match=why):
            decode_payload(_legacy("FPF1|" + body))
        with pytest.raises(ReadBackError, match=why):
            inspect_payload("FPF2|" + body + "|AAAAAAAA")
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
