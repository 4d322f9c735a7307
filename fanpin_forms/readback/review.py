"""The review queue: a page to check what the machine could not read, and applying the answers.

``write_review`` writes ``review.html``: one self-contained page (styles, script and
the image crops inside it; Jinja2 with autoescape), in Chinese, every flagged value
with its crop, lowest confidence first, an input for the corrected value and a button
that saves the corrections as a CSV file in the browser — no server. A sensitive
value (ID number, phone) is shown masked; its crop is an image of the paper.

``apply_corrections`` reads that CSV (or an XLSX, or a sheet typed by hand: columns
条目编号 and 更正值) and writes the corrected records. Every problem is reported
at once (unknown ids, values that do not fit the item) and then nothing is written.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from ..errors import Code, Location, Problem, ReadBackError, did_you_mean
from ..privacy.masking import mask_value

ID_HEADERS = ("条目编号", "item id", "item_id", "id", "编号")
VALUE_HEADERS = ("更正值", "value", "corrected", "更正", "更正后的值")
_YES = {"是", "有", "已签", "已签字", "已盖章", "已按手印", "true", "yes", "y", "1", "√", "✓", "✔", "有签字"}
_NO = {"否", "无", "没有", "未签", "未签字", "未盖章", "false", "no", "n", "0", "×", "✗"}
_NONE = {"无", "没有", "空", "-", "—", "none", "null"}

_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>人工复核：{{ total }} 项</title>
<style>
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; }
p.note { color: #555; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 6px 8px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.conf { white-space: nowrap; }
td.conf.low { color: #b00; font-weight: bold; }
img { max-width: 560px; max-height: 220px; border: 1px solid #ddd; }
input[type=text] { width: 14em; font-size: 1em; }
button { font-size: 1em; padding: 4px 12px; }
.bar { margin: 1em 0; display: flex; gap: 1em; align-items: center; }
.hint { color: #666; font-size: 0.85em; }
</style>
</head>
<body>
<h1>扫描件人工复核（共 {{ total }} 项）</h1>
<p class="note">下列内容机器没有把握，按可信度从低到高排列。请对照图片，在“更正值”中填写正确的值（与识别值相同可点“用识别值”），
然后点“导出更正表”，再运行：<code>fanpin review apply 更正表.csv -o 结果.jsonl</code>。没有填写的条目保持原样。</p>
<div class="bar"><button type="button" id="export">导出更正表（CSV）</button><span id="status" class="hint"></span></div>
<table>
<thead><tr><th>条目编号</th><th>表 / 户</th><th>位置</th><th>说明</th><th>图片</th><th>识别值</th><th>可信度</th><th>更正值</th></tr></thead>
<tbody>
{% for it in items %}
<tr data-id="{{ it.id }}">
<td>{{ it.id }}</td>
<td>{{ it.form }}<br>{{ it.who }}<br><span class="hint">{{ it.source }}</span></td>
<td>{{ it.where }}</td>
<td>{{ it.why }}</td>
<td>{% if it.image %}<img alt="{{ it.id }}" src="{{ it.image }}">{% else %}<span class="hint">（无图片）</span>{% endif %}</td>
<td class="guess">{{ it.shown }}</td>
<td class="conf{% if it.confidence < 0.5 %} low{% endif %}">{{ "%.0f"|format(it.confidence * 100) }}%</td>
<td><input type="text" name="{{ it.id }}" data-guess="{{ it.guess }}" placeholder="{{ it.hint }}">
<br><button type="button" class="take">用识别值</button></td>
</tr>
{% endfor %}
</tbody>
</table>
<script>
(function () {
  function cell(v) { v = String(v); return /[",\\r\\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  document.querySelectorAll("button.take").forEach(function (b) {
    b.addEventListener("click", function () {
      var input = b.parentNode.querySelector("input");
      input.value = input.getAttribute("data-guess");
    });
  });
  document.getElementById("export").addEventListener("click", function () {
    var rows = [["条目编号", "更正值"]];
    document.querySelectorAll("tbody tr").forEach(function (tr) {
      var input = tr.querySelector("input");
      if (input.value.trim() !== "") rows.push([tr.getAttribute("data-id"), input.value.trim()]);
    });
    var text = "\\ufeff" + rows.map(function (r) { return r.map(cell).join(","); }).join("\\r\\n") + "\\r\\n";
    var blob = new Blob([text], {type: "text/csv;charset=utf-8"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "更正表.csv";
    document.body.appendChild(a); a.click(); document.body.removeChild(a);
    document.getElementById("status").textContent = "已导出 " + (rows.length - 1) + " 条更正。";
  });
})();
</script>
</body>
</html>
"""


def _hint(item: str) -> str:
    if item == "date":
        return "如 2022-06-03；没有日期填 无"
    if item.startswith("codes:"):
        return "序号，如 1,3 或 ①③；都没勾填 无"
    if item.startswith("signature:"):
        return "有 / 无"
    if item == "identity":
        return "户编号，如 C:YY-0001"
    if item in ("pages", "alignment", "duplicate"):
        return "核对后填 已核对"
    return "正确的值"


def _shown(value: Any, sensitive: str | None) -> str:
    if value is None:
        return "（未读出）"
    if isinstance(value, bool):
        return "有" if value else "无"
    if isinstance(value, list):
        from ..forms.model import circled

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


def _sensitive(app, form_id: str, item: str) -> str | None:
    if not item.startswith("field:"):
        return None
    form = app.forms.get(form_id)
    f = form.field(item[6:].split(".", 1)[0]) if form else None
    return f.sensitive if f is not None else None


def review_items(app, records: list[dict], base: Path | None = None) -> list[dict]:
    """Every review item of ``records`` with what the page shows, lowest confidence first."""
    items = []
    for rec in records:
        form = app.forms.get(rec["form"])
        who = rec.get("case_id") or rec.get("serial") or (f"第{rec['row']}行" if rec.get("row") else "（未识别）")
        src = rec.get("source") or {}
        source = f"{src.get('file', '')} 第{'、'.join(str(p) for p in src.get('pages', []))}页"
        for it in rec.get("needs_review", []):
            stage = form.stage(it["stage"]) if form is not None and it.get("stage") else None
            sens = _sensitive(app, rec["form"], it["item"])
            image = None
            if it.get("crop") and base is not None:
                path = base / it["crop"]
                if path.is_file():
                    image = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
            where = (stage.title if stage else "表头") + " · " + _item_label(form, it["item"], stage)
            items.append({"id": it["id"], "form": form.title if form else rec["form"], "who": who, "source": source,
                          "where": where, "why": it.get("why", ""), "image": image,
                          "shown": _shown(it.get("value"), sens), "guess": _guess(it.get("value"), sens),
                          "confidence": float(it.get("confidence") or 0.0), "hint": _hint(it["item"])})
    items.sort(key=lambda x: (x["confidence"], x["id"]))
    return items


def _item_label(form, item: str, stage) -> str:
    kind, _, rest = item.partition(":")
    if kind == "date":
        return "日期"
    if kind == "codes" and form is not None:
        f = form.field(rest)
        return f"勾选：{f.label if f else rest}"
    if kind == "signature":
        if stage is not None and rest.isdigit() and int(rest) < len(stage.signers):
            s = stage.signers[int(rest)]
            return f"{s.role}（{'、'.join(s.marks)}）"
        return "签字"
    if kind == "field" and form is not None:
        key, _, part = rest.partition(".")
        f = form.field(key)
        if f is None:
            return rest
        return f.part_label(part) if part and f.type == "address" else f.label
    return {"identity": "身份（哪一户）", "pages": "页数", "alignment": "页面对齐",
            "duplicate": "重复页（用了哪一份）"}.get(kind, item)


def write_review(app, records: list[dict], review_dir: Path) -> Path:
    """``review_dir/review.html`` (crops already in ``review_dir/crops``)."""
    from jinja2 import Environment

    from ..util.atomic import ensure_dir, write_atomic

    review_dir = ensure_dir(review_dir, error=ReadBackError)
    items = review_items(app, records, review_dir)
    env = Environment(autoescape=True)
    html = env.from_string(_TEMPLATE).render(items=items, total=len(items))
    path = review_dir / "review.html"
    write_atomic(path, html.encode("utf-8"), error=ReadBackError)
    return path


# --- applying corrections --------------------------------------------------------------------


def read_records(path: Path) -> list[dict]:
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
    from ..util.atomic import ensure_dir, write_atomic

    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    ensure_dir(Path(path).parent, error=ReadBackError)
    write_atomic(Path(path), body.encode("utf-8"), error=ReadBackError)


def read_corrections(path: Path) -> list[tuple[int, str, str]]:
    """(row as the user sees it, item id, value) of every filled row of the sheet."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            rows = _xlsx_rows(path)
        else:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("gb18030")
            rows = list(csv.reader(io.StringIO(text)))
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise ReadBackError.of(Code.READ_REVIEW_FILE_UNREADABLE, path=str(path),
                               why=getattr(exc, "strerror", None) or str(exc)) from None
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise ReadBackError.of(Code.READ_REVIEW_FILE_UNREADABLE, path=str(path), why=type(exc).__name__) from None
    header_at = None
    for i, row in enumerate(rows[:10]):
        names = [_norm_header(c) for c in row]
        id_col = next((k for k, c in enumerate(names) if c in {_norm_header(h) for h in ID_HEADERS}), None)
        val_col = next((k for k, c in enumerate(names) if c in {_norm_header(h) for h in VALUE_HEADERS}), None)
        if id_col is not None and val_col is not None:
            header_at = (i, id_col, val_col)
            break
    if header_at is None:
        raise ReadBackError.of(Code.READ_REVIEW_NO_COLUMNS, path=str(path))
    start, id_col, val_col = header_at
    out = []
    for i, row in enumerate(rows[start + 1:], start=start + 2):
        ident = str(row[id_col]).strip() if id_col < len(row) and row[id_col] is not None else ""
        value = row[val_col] if val_col < len(row) else None
        value = "" if value is None else (str(int(value)) if isinstance(value, float) and value.is_integer()
                                          else str(value))
        if ident and value.strip():
            out.append((i, ident, value.strip()))
    return out


def _norm_header(cell) -> str:
    return unicodedata.normalize("NFKC", str(cell or "")).strip().lower().replace(" ", "").replace("*", "")


def _xlsx_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


class _Bad(Exception):
    pass


def apply_corrections(app, records: list[dict], corrections: list[tuple[int, str, str]],
                      *, label: str = "") -> tuple[list[dict], int]:
    """Apply every correction; returns (records, how many applied). Raises with every problem."""
    index: dict[str, tuple[dict, dict]] = {}
    for rec in records:
        for it in rec.get("needs_review", []):
            if it.get("id"):
                index[it["id"]] = (rec, it)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    done: list[tuple[dict, dict, Any]] = []
    for row, ident, value in corrections:
        key = ident.strip().upper()
        if key in seen:
            problems.append(Problem(Code.READ_REVIEW_DUPLICATE_ID, {"row": row, "id": ident, "first": seen[key]},
                                    Location(file=label or None)))
            continue
        seen[key] = row
        if key not in index:
            problems.append(Problem(Code.READ_REVIEW_UNKNOWN_ID, {"row": row, "id": ident,
                                                                  "hint": did_you_mean(key, list(index))},
                                    Location(file=label or None)))
            continue
        rec, it = index[key]
        try:
            parsed = _parse_value(app, rec, it, value)
        except _Bad as exc:
            sens = _sensitive(app, rec["form"], it["item"])
            shown = _shown(value, sens) if sens else value
            problems.append(Problem(Code.READ_REVIEW_BAD_VALUE, {"row": row, "id": key, "item": it["item"],
                                                                 "value": shown, "why": str(exc)},
                                    Location(file=label or None)))
            continue
        done.append((rec, it, parsed))
    if problems:
        raise ReadBackError(problems)
    for rec, it, parsed in done:
        _apply(rec, it, parsed)
    return records, len(done)


def _parse_value(app, rec: dict, it: dict, value: str) -> Any:
    from .dates import parse_codes, parse_date

    item = it["item"]
    kind, _, rest = item.partition(":")
    text = unicodedata.normalize("NFKC", value).strip()
    form = app.forms.get(rec["form"])
    if kind == "date":
        if text.lower() in _NONE:
            return None
        reading = parse_date(text, 1.0)
        if reading.value is None:
            raise _Bad(reading.invalid or "应写作 2022-06-03 或 2022年6月3日")
        return reading.value.isoformat()
    if kind == "codes":
        f = form.field(rest) if form else None
        allowed = {c.no for lid in (f.code_lists if f else ()) for c in form.code_lists[lid].codes} if f else set()
        if text.lower() in _NONE:
            return []
        codes, ok = parse_codes(value, allowed)
        if not ok or not codes:
            marks = "、".join(str(n) for n in sorted(allowed))
            raise _Bad(f"应填序号（可填 {marks}），多个用逗号隔开；都没有勾选填 无")
        return codes
    if kind == "signature":
        low = text.lower()
        if low in _YES:
            return True
        if low in _NO:
            return False
        raise _Bad("应填 有 或 无")
    if kind == "field":
        key, _, part = rest.partition(".")
        f = form.field(key) if form else None
        if f is not None and not part and f.type in app.field_types:
            from ..forms.fieldtypes import Invalid, ParseContext

            try:
                app.field_types[f.type].parse(text, f, ParseContext(form=form, county=app.county,
                                                                     today=dt.date.today(), types=app.field_types))
            except Invalid as exc:
                raise _Bad(str(exc)) from None
        return text
    if kind == "identity":
        m = re.fullmatch(r"([CSR])\s*[:：]\s*(.+)", text)
        if m:
            if m.group(1) == "R" and not m.group(2).isdigit():
                raise _Bad("行号应为数字，如 R:12")
            return (m.group(1), m.group(2).strip())
        if not text:
            raise _Bad("应填户编号")
        return ("C", text)
    return text  # pages, alignment, duplicate: an acknowledgement


def _apply(rec: dict, it: dict, value: Any) -> None:
    kind, _, rest = it["item"].partition(":")
    stage = rec.get("stages", {}).get(it.get("stage")) if it.get("stage") else None
    old: Any = None
    if kind == "date" and stage is not None:
        old, stage["date"], stage["date_confidence"] = stage.get("date"), value, 1.0
    elif kind == "codes":
        target = stage["codes"] if stage is not None else rec.setdefault("codes", {})
        old = target.get(rest)
        target[rest] = value
        if stage is not None:
            stage["codes_confidence"] = 1.0
    elif kind == "signature" and stage is not None:
        i = int(rest) if rest.isdigit() else 0
        signer = stage["signers"][i]
        old = signer["present"]
        signer["present"], signer["confidence"] = bool(value), 1.0
        if "盖章" in signer.get("marks", []):
            signer["seal"] = bool(value)
        stage["signed"] = bool(stage["signers"]) and all(s["present"] for s in stage["signers"])
        stage["confidence"] = round(min(s["confidence"] for s in stage["signers"]), 3)
    elif kind == "field":
        old = rec.setdefault("fields", {}).get(rest)
        rec["fields"][rest] = value
    elif kind == "identity":
        k, v = value
        old = rec.get("case_id") or rec.get("serial") or rec.get("row")
        rec["case_id"] = v if k == "C" else None
        rec["serial"] = v if k == "S" else None
        rec["row"] = int(v) if k == "R" else None
    rec["needs_review"] = [x for x in rec["needs_review"] if x is not it]
    rec.setdefault("corrections", []).append({"id": it["id"], "stage": it.get("stage"), "item": it["item"],
                                              "value": value if kind != "identity" else f"{value[0]}:{value[1]}",
                                              "was": old})
