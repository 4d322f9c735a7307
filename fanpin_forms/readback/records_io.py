"""The read-back records file: JSON Lines, one record a line, what ``fanpin parse`` writes and ``review apply`` reads."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import Code, ReadBackError
from ..util.atomic import ensure_dir, write_atomic


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


def write_records(path: Path, records: list[dict]) -> None:
    """Write ``records`` as JSON Lines (one record a line, UTF-8), atomically."""
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    ensure_dir(Path(path).parent, error=ReadBackError)
    write_atomic(Path(path), body.encode("utf-8"), error=ReadBackError)


__all__ = ["read_records", "write_records"]
