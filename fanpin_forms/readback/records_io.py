"""The read-back records file: JSON Lines, one record a line, what ``fanpin parse`` writes and ``review apply`` reads.

The one place where the typed results (:mod:`.results`) become plain dicts and back.
One record a line::

    {"form", "form_version", "case_id", "serial", "row", "identified_by", "fields", "codes",
     "stages": {key: {"signed", "confidence", "signers": [{"role", "marks", "present", "seal",
                "thumbprint", "confidence"}], "date", "date_confidence", "codes", "codes_confidence"}},
     "source", "needs_review": [{"id", "stage", "item", "why", "value", "confidence", "crop"}],
     "corrections" (after ``review apply``)}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import Code, ReadBackError
from ..util.atomic import ensure_dir, write_atomic
from .results import ReadRecord, ReviewItem, ReviewKind, SignerReading, StageReading


def signer_to_dict(s: SignerReading) -> dict:
    return {"role": s.role, "marks": list(s.marks), "present": s.present, "seal": s.seal,
            "thumbprint": s.thumbprint, "confidence": s.confidence}


def stage_to_dict(st: StageReading) -> dict:
    return {"signed": st.signed, "confidence": st.confidence, "signers": [signer_to_dict(s) for s in st.signers],
            "date": st.date, "date_confidence": st.date_confidence,
            "codes": st.codes, "codes_confidence": st.codes_confidence}


def review_to_dict(it: ReviewItem) -> dict:
    return {"id": it.id, "stage": it.stage, "item": it.item, "why": it.why, "value": it.value,
            "confidence": it.confidence, "crop": it.crop}


def record_to_dict(rec: ReadRecord) -> dict:
    """A record as one line of the records file shows it."""
    out = {"form": rec.form, "form_version": rec.form_version, "case_id": rec.case_id, "serial": rec.serial,
           "row": rec.row, "identified_by": rec.identified_by, "fields": rec.fields, "codes": rec.codes,
           "stages": {k: stage_to_dict(st) for k, st in rec.stages.items()}, "source": rec.source,
           "needs_review": [review_to_dict(it) for it in rec.needs_review]}
    if rec.corrections is not None:
        out["corrections"] = rec.corrections
    return out


def record_from_dict(d: dict) -> ReadRecord:
    """A line of the records file back to a :class:`ReadRecord` (an unknown review kind is kept as ``field``)."""
    def stage(sd: dict) -> StageReading:
        signers = [SignerReading(s.get("role", ""), list(s.get("marks", [])), bool(s.get("present")),
                                 bool(s.get("seal")), bool(s.get("thumbprint")), s.get("confidence", 0.0))
                   for s in sd.get("signers", [])]
        return StageReading(signers, sd.get("date"), sd.get("date_confidence", 1.0), dict(sd.get("codes", {})),
                            sd.get("codes_confidence", 1.0))

    def item(it: dict) -> ReviewItem:
        kind, target = ReviewKind.split(it.get("item", ""))
        return ReviewItem(it.get("stage"), kind or ReviewKind.FIELD, target or None, it.get("why", ""),
                          it.get("value"), it.get("confidence", 0.0), id=it.get("id"), crop=it.get("crop"))

    return ReadRecord(form=d["form"], form_version=d.get("form_version"), case_id=d.get("case_id"),
                      serial=d.get("serial"), row=d.get("row"), identified_by=d.get("identified_by", "title"),
                      fields=dict(d.get("fields", {})), codes=dict(d.get("codes", {})),
                      stages={k: stage(v) for k, v in d.get("stages", {}).items()}, source=dict(d.get("source", {})),
                      needs_review=[item(it) for it in d.get("needs_review", [])], corrections=d.get("corrections"))


def read_records(path: Path) -> list[dict]:
    """The records of a ``fanpin parse`` result file (JSON Lines), or a ReadBackError naming the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadBackError.of(Code.READ_REVIEW_RECORDS_UNREADABLE, path=str(path),
                               why=getattr(exc, "strerror", None) or str(exc)) from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadBackError.of(Code.READ_REVIEW_RECORDS_UNREADABLE, path=str(path),
                                   why=f"第 {n} 行不是有效的 JSON（{exc.msg}）") from None
        if not isinstance(rec, dict) or "form" not in rec:
            raise ReadBackError.of(Code.READ_REVIEW_RECORDS_UNREADABLE, path=str(path),
                                   why=f"第 {n} 行不是 fanpin parse 的识别结果")
        out.append(rec)
    return out


def write_records(path: Path, records: Iterable[dict | ReadRecord]) -> None:
    """Write ``records`` (typed, or as :func:`read_records` gives them) as JSON Lines
    (one record a line, UTF-8), atomically."""
    body = "".join(json.dumps(record_to_dict(r) if isinstance(r, ReadRecord) else r, ensure_ascii=False) + "\n"
                   for r in records)
    ensure_dir(Path(path).parent, error=ReadBackError)
    write_atomic(Path(path), body.encode("utf-8", "backslashreplace"), error=ReadBackError)


__all__ = ["read_records", "record_from_dict", "record_to_dict", "write_records"]
