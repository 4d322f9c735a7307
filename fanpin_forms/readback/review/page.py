"""``review.html``: one self-contained page to check what the machine could not read.

The page (``review.html`` beside this module; Jinja2 with autoescape) carries its
styles, script and the image crops inside it; in Chinese, every flagged value with
its crop, lowest confidence first, an input for the corrected value and a button
that saves the corrections as a CSV file in the browser — no server. A sensitive
value (ID number, phone) is shown masked; its crop is an image of the paper.
"""

from __future__ import annotations

import base64
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import DictLoader, Environment

from ...errors import ReadBackError
from ...privacy.masking import mask_value
from ...util.atomic import ensure_dir, write_atomic
from ..results import ReviewKind
from ..setup import ReadSetup

_PAGE = "review.html"
_ENV = Environment(loader=DictLoader({_PAGE: files(__package__).joinpath(_PAGE).read_text("utf-8")}),
                   autoescape=True)


def _hint(item: str) -> str:
    kind, _ = ReviewKind.split(item)
    if kind is ReviewKind.DATE:
        return "如 2022-06-03；没有日期填 无"
    if kind is ReviewKind.CODES:
        return "序号，如 1,3 或 ①③；都没勾填 无"
    if kind is ReviewKind.SIGNATURE:
        return "有 / 无"
    if kind is ReviewKind.IDENTITY:
        return "户编号，如 C:YY-0001"
    if kind in (ReviewKind.PAGES, ReviewKind.ALIGNMENT, ReviewKind.DUPLICATE):
        return "核对后填 已核对"
    return "正确的值"


def shown_value(value: Any, sensitive: str | None) -> str:
    if value is None:
        return "（未读出）"
    if isinstance(value, bool):
        return "有" if value else "无"
    if isinstance(value, list):
        from ...forms.model import circled

        return "".join(circled(int(v)) for v in value) if value else "（都没有勾选）"
    text = str(value)
    if sensitive:
        try:
            return mask_value(sensitive, text)
        except ValueError:
            return mask_value("text", text)
    return text


def _guess(value: Any, sensitive: str | None) -> str:
    """What "用识别值" puts in the input (never a sensitive value in full)."""
    if value is None or sensitive:
        return ""
    if isinstance(value, bool):
        return "有" if value else "无"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) if value else "无"
    return str(value)


def sensitive_kind(setup: ReadSetup, form_id: str, item: str) -> str | None:
    kind, key = ReviewKind.split(item)
    if kind is not ReviewKind.FIELD:
        return None
    form = setup.forms.get(form_id)
    f = form.field(key.split(".", 1)[0]) if form else None
    return f.sensitive if f is not None else None


def review_items(setup: ReadSetup, records: list[dict], base: Path | None = None) -> list[dict]:
    """Every review item of ``records`` with what the page shows, lowest confidence first."""
    items = []
    for rec in records:
        form = setup.forms.get(rec["form"])
        who = rec.get("case_id") or rec.get("serial") or (f"第{rec['row']}行" if rec.get("row") else "（未识别）")
        src = rec.get("source") or {}
        source = f"{src.get('file', '')} 第{'、'.join(str(p) for p in src.get('pages', []))}页"
        for it in rec.get("needs_review", []):
            stage = form.stage(it["stage"]) if form is not None and it.get("stage") else None
            sens = sensitive_kind(setup, rec["form"], it["item"])
            image = None
            if it.get("crop") and base is not None:
                path = base / it["crop"]
                if path.is_file():
                    image = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
            where = (stage.title if stage else "表头") + " · " + _item_label(form, it["item"], stage)
            items.append({"id": it["id"], "form": form.title if form else rec["form"], "who": who, "source": source,
                          "where": where, "why": it.get("why", ""), "image": image,
                          "shown": shown_value(it.get("value"), sens), "guess": _guess(it.get("value"), sens),
                          "confidence": float(it.get("confidence") or 0.0), "hint": _hint(it["item"])})
    items.sort(key=lambda x: (x["confidence"], x["id"]))
    return items


def _item_label(form, item: str, stage) -> str:
    kind, rest = ReviewKind.split(item)
    if kind is ReviewKind.DATE:
        return "日期"
    if kind is ReviewKind.CODES and form is not None:
        f = form.field(rest)
        return f"勾选：{f.label if f else rest}"
    if kind is ReviewKind.SIGNATURE:
        if stage is not None and rest.isdigit() and int(rest) < len(stage.signers):
            s = stage.signers[int(rest)]
            return f"{s.role}（{'、'.join(s.marks)}）"
        return "签字"
    if kind is ReviewKind.FIELD and form is not None:
        key, _, part = rest.partition(".")
        f = form.field(key)
        if f is None:
            return rest
        return f.part_label(part) if part and f.type == "address" else f.label
    return {ReviewKind.IDENTITY: "身份（哪一户）", ReviewKind.PAGES: "页数", ReviewKind.ALIGNMENT: "页面对齐",
            ReviewKind.DUPLICATE: "重复页（用了哪一份）"}.get(kind, item)


def write_review(setup: ReadSetup, records: list[dict], review_dir: Path) -> Path:
    """``review_dir/review.html`` (crops already in ``review_dir/crops``)."""
    review_dir = ensure_dir(review_dir, error=ReadBackError)
    items = review_items(setup, records, review_dir)
    html = _ENV.get_template(_PAGE).render(items=items, total=len(items))
    path = review_dir / "review.html"
    write_atomic(path, html.encode("utf-8", "backslashreplace"), error=ReadBackError)
    return path


__all__ = ["review_items", "sensitive_kind", "shown_value", "write_review"]
