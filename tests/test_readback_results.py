"""The typed read-back results and their one serialised form (records_io)."""

from __future__ import annotations

import json

from fanpin_forms.readback.records_io import read_records, record_from_dict, record_to_dict, write_records
from fanpin_forms.readback.results import (ReadRecord, ReviewItem, ReviewKind, SignerReading, StageReading,
                                           review_item_text)


def _record() -> ReadRecord:
    signers = [SignerReading("岳阳县乡村振兴局", ["盖章"], True, True, False, 0.93),
               SignerReading.unsigned("户主", ["签字", "按手印"], 0.0)]
    stage = StageReading(signers, "2022-06-03", 0.91, {"risk_types": [6]}, 0.88)
    review = [ReviewItem("home_visit", ReviewKind.CODES, "sanbaozhang", "勾选不清", [1, 3], 0.41, b"png", "R0001",
                         "crops/R0001.png"),
              ReviewItem(None, ReviewKind.DATE, None, "日期不清", None, 0.2, id="R0002")]
    return ReadRecord("annex2", "2022.1", "T-001", None, None, "qr", {"head_name": "张三"}, {}, {"home_visit": stage},
                      {"file": "a.pdf", "pages": [1]}, review)


def test_record_serialises_as_the_records_file_shows_it():
    d = record_to_dict(_record())
    assert list(d) == ["form", "form_version", "case_id", "serial", "row", "identified_by", "fields", "codes",
                       "stages", "source", "needs_review"]
    st = d["stages"]["home_visit"]
    assert list(st) == ["signed", "confidence", "signers", "date", "date_confidence", "codes", "codes_confidence"]
    assert st["signed"] is False and st["confidence"] == 0.0  # one signer absent
    assert list(st["signers"][0]) == ["role", "marks", "present", "seal", "thumbprint", "confidence"]
    assert st["signers"][1] == {"role": "户主", "marks": ["签字", "按手印"], "present": False, "seal": False,
                                "thumbprint": False, "confidence": 0.0}
    assert d["needs_review"][0] == {"id": "R0001", "stage": "home_visit", "item": "codes:sanbaozhang", "why": "勾选不清",
                                    "value": [1, 3], "confidence": 0.41, "crop": "crops/R0001.png"}
    assert d["needs_review"][1]["item"] == "date"


def test_record_round_trips_through_the_file(tmp_path):
    rec = _record()
    rec.needs_review[0].crop_png = None  # the image is written to the review folder, not the records file
    path = tmp_path / "out.jsonl"
    write_records(path, [rec])
    [line] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == record_to_dict(rec)
    [back] = read_records(path)
    assert record_from_dict(back) == rec
    assert record_to_dict(record_from_dict(back)) == back


def test_review_kind_text():
    assert ReviewKind.split("codes:sanbaozhang") == (ReviewKind.CODES, "sanbaozhang")
    assert ReviewKind.split("field:address.village") == (ReviewKind.FIELD, "address.village")
    assert ReviewKind.split("signature:1") == (ReviewKind.SIGNATURE, "1")
    assert ReviewKind.split("duplicate") == (ReviewKind.DUPLICATE, "")
    assert ReviewKind.split("nonsense:x") == (None, "x")
    assert review_item_text(ReviewKind.SIGNATURE, 0) == "signature:0" and review_item_text(ReviewKind.PAGES) == "pages"
