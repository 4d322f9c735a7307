"""JSON (an array of objects) and JSON Lines files."""


from __future__ import annotations

import json
from pathlib import Path


from ...errors import Code, DataError, Location, Problem
from ...util import limits
from .common import (_STRIP, SourceRow, SourceTable, _header_text, _json_value, _read_bytes, _too_many_rows,
                     _unreadable)
from .delimited import _decode


# ----------------------------------------------------------------------------- json


class _JsonObject(dict):
    """A decoded JSON object that remembers keys it saw twice."""

    __slots__ = ("duplicates",)


class _JsonDecoder:
    """json.loads with header-style keys, duplicate-key detection, NaN as text."""

    def __init__(self) -> None:
        self.saw_duplicates = False

    def _hook(self, pairs: list[tuple[str, object]]) -> _JsonObject:
        obj = _JsonObject()
        duplicates: list[str] = []
        for key, value in pairs:
            name = _header_text(key) or ""
            if name in obj:
                duplicates.append(name)
            else:
                obj[name] = value
        obj.duplicates = duplicates
        if duplicates:
            self.saw_duplicates = True
        return obj

    def loads(self, text: str) -> object:
        # NaN/Infinity are not JSON; keep them as text so validation shows them.
        return json.loads(text, object_pairs_hook=self._hook, parse_constant=str)


def _duplicates_in(value: object) -> list[str]:
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _JsonObject):
            found.extend(item.duplicates)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


_JSON_WHY = [
    ("Expecting value", "此处缺少值（可能多了逗号，或值没有加引号）"),
    ("Expecting ',' delimiter", "缺少逗号"),
    ("Expecting ':' delimiter", "缺少冒号"),
    ("Expecting property name", "键名必须用英文双引号括起来（或最后一项后面多了逗号）"),
    ("Unterminated string", "字符串缺少结尾的英文双引号"),
    ("Invalid control character", "字符串中有未转义的换行或控制字符"),
    ("Invalid \\uXXXX escape", "无效的 \\u 转义"),
    ("Invalid \\escape", "无效的反斜杠转义（路径中的 \\ 要写成 \\\\）"),
    ("Extra data", "JSON 数据结束后还有多余内容；如果每行是一条记录，请把文件后缀改为 .jsonl"),
    ("Illegal trailing comma", "最后一项后面多了逗号"),
]
_FULLWIDTH_PUNCT = "，：“”‘’｛｝【】［］"


def _json_why(exc: json.JSONDecodeError) -> str:
    why = next((zh for en, zh in _JSON_WHY if exc.msg.startswith(en)), exc.msg)
    rest = exc.doc[exc.pos :].lstrip(" \t\r\n")
    if rest and rest[0] in _FULLWIDTH_PUNCT:
        why += f"（这里是中文标点「{rest[0]}」，JSON 只能用英文标点）"
    return why


def _json_syntax(shown: str, exc: json.JSONDecodeError, line: int | None = None) -> Problem:
    return Problem(
        Code.DATA_JSON_SYNTAX,
        {"line": line if line is not None else exc.lineno, "col": exc.colno, "why": _json_why(exc)},
        Location(file=shown),
    )


#: objects and arrays allowed per record at the row cap (a record, its member tables and their rows)
_JSON_CONTAINERS_PER_ROW = 10


def _json_text(p: Path, shown: str) -> str:
    """The file's text, refused before decoding if it opens more objects and arrays than
    the row cap allows: ``[{},{},…]`` costs ~3 bytes a record on disk, 100+ in memory."""
    text = _decode(_read_bytes(p, shown))
    if text is None:
        raise _unreadable(shown, "无法识别文件编码，JSON 文件应当是 UTF-8 编码")
    cap = _JSON_CONTAINERS_PER_ROW * limits.SHEET_MAX_ROWS
    if text.count("{") + text.count("[") > cap:  # braces inside strings count too: an upper bound
        raise DataError.of(Code.DATA_JSON_TOO_MANY_VALUES, Location(file=shown), max=cap)
    return text


_JSON_KIND = {str: "文字", int: "数字", float: "数字", bool: "真/假值", type(None): "null"}


def _read_json(p: Path, shown: str) -> SourceTable:
    text = _json_text(p, shown)
    if not text.strip(_STRIP):
        raise DataError.of(Code.DATA_FILE_EMPTY, Location(file=shown))
    decoder = _JsonDecoder()
    try:
        data = decoder.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(_json_syntax(shown, exc)) from None
    except RecursionError:
        raise _unreadable(shown, "JSON 嵌套层数过多") from None

    if isinstance(data, dict) and isinstance(data.get("records"), list):
        records = data["records"]
    elif isinstance(data, list):
        records = data
    else:
        actual = "没有「records」数组的对象" if isinstance(data, dict) else _JSON_KIND.get(type(data), "其他值")
        raise DataError.of(Code.DATA_JSON_NO_RECORDS, Location(file=shown), actual=actual)
    return _json_table(p, shown, list(enumerate(records, start=1)), decoder.saw_duplicates)


def _read_jsonl(p: Path, shown: str) -> SourceTable:
    text = _json_text(p, shown)
    decoder = _JsonDecoder()
    items: list[tuple[int, object]] = []
    problems: list[Problem] = []
    # Split on "\n" only: U+2028 and friends may legally sit inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(_STRIP):
            continue
        try:
            items.append((number, decoder.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(_json_syntax(shown, exc, line=number))
        except RecursionError:
            raise _unreadable(shown, f"第 {number} 行 JSON 嵌套层数过多", row=number) from None
    return _json_table(p, shown, items, decoder.saw_duplicates, problems)


def _json_table(
    p: Path,
    shown: str,
    items: list[tuple[int, object]],
    check_duplicates: bool,
    problems: list[Problem] | None = None,
) -> SourceTable:
    problems = list(problems or [])
    headers: dict[str, None] = {}  # ordered set, first appearance wins
    records: list[tuple[int, dict[str, object]]] = []
    for number, item in items:
        where = Location(file=shown, row=number)
        if not isinstance(item, dict):
            problems.append(Problem(Code.DATA_JSON_NOT_OBJECT, {}, where))
            continue
        if check_duplicates:
            for key in _duplicates_in(item):
                problems.append(Problem(Code.DATA_JSON_DUPLICATE_KEY, {"key": key}, where))
        headers.update(dict.fromkeys(item))
        record = {k: _json_value(v) for k, v in item.items()}
        if any(v is not None and v != [] and v != {} for v in record.values()):
            records.append((number, record))
    problems.sort(key=lambda pr: (pr.location.row or pr.context.get("line") or 0))
    if problems:
        raise DataError(problems)
    if not records:
        raise DataError.of(Code.DATA_FILE_EMPTY, Location(file=shown))
    if len(records) > limits.SHEET_MAX_ROWS:
        raise _too_many_rows(shown, None)
    if len(headers) > limits.SHEET_MAX_COLUMNS:
        # every record gets every key: a thousand records of a thousand new keys each is a million cells each
        raise DataError.of(Code.DATA_JSON_TOO_MANY_KEYS, Location(file=shown), count=len(headers),
                           max=limits.SHEET_MAX_COLUMNS)
    names = list(headers)
    rows = [SourceRow(number, {h: record.get(h) for h in names}) for number, record in records]
    return SourceTable(path=p, sheet=None, headers=names, header_row=0, rows=rows)
