"""The data dictionary of a form: what ``fanpin fields`` prints."""

from __future__ import annotations

from typing import Any

from ..forms.county import County
from ..forms.model import ADDRESS_PARTS, FormSpec
from .records import CASE_ID_HEADERS, TABLE_COLUMN_ROWS, TABLE_PREFIXES


def data_dictionary(form: FormSpec, county: County | None) -> list[dict[str, Any]]:
    """One row per column a clerk can give: fields, address parts, the case id."""
    defaults = county.default_address() if county else {}
    rows: list[dict[str, Any]] = [{
        "key": "case_id", "label": "户编号", "type": "text", "required": False, "sensitive": None,
        "headers": list(CASE_ID_HEADERS), "help": "可选；用于把回收的表与农户信息表对应", "codes": [],
    }]
    for f in form.fields:
        if f.type == "address":
            optional = set(f.params.get("optional_parts", ()))
            for part in f.params.get("parts", ()):
                label = f.part_label(part)
                headers = list(dict.fromkeys([label, ADDRESS_PARTS[part][0], *ADDRESS_PARTS[part][1]]))
                rows.append({
                    "key": f"{f.key}.{part}", "label": label, "type": "text",
                    "required": f.required and part not in optional and not defaults.get(part),
                    "sensitive": f.sensitive, "headers": headers,
                    "help": f"未填时取 {defaults[part]}" if defaults.get(part) else f.help, "codes": [],
                })
            continue
        if f.type == "table":
            rows.extend(_table_columns(f))
            continue
        codes = [f"{c.mark}{c.name}" for lid in f.code_lists for c in form.code_lists[lid].codes]
        rows.append({
            "key": f.key, "label": f.label, "type": f.type, "required": f.required, "sensitive": f.sensitive,
            "headers": list(dict.fromkeys([f.label, *f.aliases])), "help": f.help, "codes": codes,
        })
    return rows


def _table_columns(f) -> list[dict[str, Any]]:
    """A repeating table as the sheet carries it: one numbered column per row and column
    (成员1姓名, 成员1与户主关系 … 成员6劳动技能), each with the headers the intake accepts for it.
    A column marked required is required only in a row that is filled."""
    prefixes = list(dict.fromkeys((*TABLE_PREFIXES, f.label)))
    out = []
    for i in range(1, int(f.params.get("max_rows") or TABLE_COLUMN_ROWS) + 1):
        for col in f.columns:
            names = [col.label, *col.aliases]
            out.append({
                "key": f"{f.key}.{i}.{col.key}", "label": f"{prefixes[0]}{i}{col.label}", "type": col.type,
                "required": False, "sensitive": col.sensitive,
                "headers": list(dict.fromkeys(f"{p}{i}{n}" for p in prefixes for n in names)),
                "help": f"{f.label}第{i}行：{col.help or col.label}" + ("（填写该成员时必填）" if col.required else ""),
                "codes": [],
            })
    return out
