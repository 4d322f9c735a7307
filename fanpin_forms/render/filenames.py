"""Output file names from a pattern: ``{township}_{village}_{head_name}_{case_id}``.

Names may use the form's non-sensitive fields (by key), the parts of its address
field (``township``, ``village`` …), ``case_id`` (户编号), ``row`` (the data row as
Excel shows it), ``index`` (1, 2, 3 … in batch order) and ``form``. A sensitive field
(ID number, phone, bank account, health) is refused: file names end up in folder
listings, e-mails and zip archives.

Empty parts are dropped with their separator, characters Windows does not allow are
replaced by ``_``, and duplicate names get ``_2``, ``_3`` … .

Private data typed into an allowed column (an ID number in 村, a phone after the
name, written with spaces or in Chinese numerals) is *removed* from the name and
replaced by :data:`HIDDEN`, digits and all: a mask that keeps 4 + 4 digits would
still put a piece of an ID number into every folder listing, and refusing would
stop a whole batch over a name that only needs to be unique and readable (the form
itself is the household's own). Every value except ``case_id``, ``row`` and
``index`` is read strictly (any long number goes); ``case_id`` loses only
ID-, phone- and bank-shaped numbers, so that numeric 户编号 stay.

Lengths are counted in UTF-8 bytes, the unit of file-system limits: a name is at
most :data:`MAX_NAME_BYTES` bytes, which leaves room for a temporary name beside
it within the usual 255-byte limit; it is cut at a character boundary.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from ..errors import Code, RenderError, did_you_mean
from ..forms.fieldtypes import FieldType
from ..privacy.leakguard import Secrets, find
from ..forms.model import ADDRESS_PARTS, FormSpec

SPECIAL = ("case_id", "row", "index", "form")
_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_SEPARATORS = "_-·. 　"
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
#: longest file name, in UTF-8 bytes (a temporary name adds a prefix and a suffix to it)
MAX_NAME_BYTES = 200
#: longest stem: room left for a "_12345" duplicate suffix and the longest extension (".docx")
MAX_STEM_BYTES = MAX_NAME_BYTES - len("_12345.docx")
#: what stands in a file name where private data was typed
HIDDEN = "已隐去"
#: names whose values are the program's own (row and batch numbers, the form id)
_OWN = ("row", "index", "form")


def allowed_names(form: FormSpec) -> tuple[list[str], dict[str, str]]:
    """(allowed names, sensitive name → label) for ``form``."""
    allowed = list(SPECIAL)
    sensitive: dict[str, str] = {}
    for f in form.fields:
        if f.sensitive:
            sensitive[f.key] = f.label
            continue
        if f.type == "table":
            continue
        allowed.append(f.key)
        if f.type == "address":
            allowed.extend(p for p in f.params.get("parts", ()) if p not in allowed)
    return allowed, sensitive


def parse_pattern(form: FormSpec, pattern: str) -> list[tuple[str, str | None]]:
    """(literal, name) pairs; raises RenderError for unknown or sensitive names."""
    allowed, sensitive = allowed_names(form)
    shown = "、".join(allowed)
    pattern = re.sub(r"\.docx$", "", pattern.strip(), flags=re.IGNORECASE)
    if not pattern:
        raise RenderError.of(Code.RENDER_NAME_BAD, pattern=pattern, why="不能为空")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise RenderError.of(Code.RENDER_NAME_BAD, pattern=pattern, why=f"花括号不成对（{exc}）") from None
    out: list[tuple[str, str | None]] = []
    problems = []
    for literal, name, spec, conv in parsed:
        if name is not None:
            if spec or conv:
                raise RenderError.of(Code.RENDER_NAME_BAD, pattern=pattern, why=f"「{{{name}}}」中不能有 : 或 !")
            key = name.strip()
            key = key.split(".", 1)[1] if key.startswith("address.") else key
            if key in sensitive:
                problems.append(RenderError.of(Code.RENDER_NAME_SENSITIVE, name=key, label=sensitive[key], allowed=shown))
                continue
            if key not in allowed:
                problems.append(RenderError.of(Code.RENDER_NAME_UNKNOWN, name=key, hint=did_you_mean(key, allowed),
                                               allowed=shown))
                continue
            name = key
        out.append((literal, name))
    if problems:
        raise RenderError([p for e in problems for p in e.problems])
    return out


def _value(form: FormSpec, record, key: str, index: int, types: dict[str, FieldType] | None) -> str:
    if key == "case_id":
        return str(record.case_id or "")
    if key == "row":
        return "" if record.row is None else str(record.row)
    if key == "index":
        return str(index)
    if key == "form":
        return form.id
    f = form.field(key)
    if f is not None:
        value = record.values.get(key)
        if value is None or value == () or value == {}:
            return ""
        if types and f.type in types:
            return types[f.type].display(value, f)
        if isinstance(value, dict):
            return "".join(str(v) for v in value.values() if v)
        return str(value)
    if key in ADDRESS_PARTS:
        for f in form.fields:
            if f.type == "address" and key in f.params.get("parts", ()):
                return str((record.values.get(f.key) or {}).get(key) or "")
    return ""


def fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def clean_stem(stem: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    stem = _ILLEGAL.sub("_", stem)
    stem = re.sub(r"\s+", " ", stem)
    stem = re.sub(f"([{re.escape(_SEPARATORS)}])[{re.escape(_SEPARATORS)}]+", r"\1", stem)
    stem = stem.strip(_SEPARATORS).rstrip(". ")
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    return fit_bytes(stem, max_bytes).rstrip(". ")


def hide_private(value: str, secrets: Secrets | None = None, *, strict: bool = True) -> str:
    """``value`` with every piece of private data (see :mod:`fanpin_forms.privacy.leakguard`) replaced by :data:`HIDDEN`."""
    out, end = [], 0
    for hit in find(value, secrets=secrets, strict=strict):
        if hit.start >= end:
            out.append(value[end:hit.start] + HIDDEN)
        end = max(end, hit.end)
    return "".join(out) + value[end:]


def file_names(form: FormSpec, records: Sequence, pattern: str, *, types: dict[str, FieldType] | None = None,
               suffix: str = ".docx") -> list[str]:
    """One unique, safe file name per record, in order."""
    parts = parse_pattern(form, pattern)
    taken: set[str] = set()
    out = []
    for i, record in enumerate(records, start=1):
        # a sensitive value typed into another column (an ID number in 村) is hidden too
        secrets = Secrets((str(f.sensitive), str(record.values[f.key]), None) for f in form.fields
                          if f.sensitive and record.values.get(f.key))
        stem = "".join(lit + (_shown(_value(form, record, name, i, types), name, secrets) if name else "")
                       for lit, name in parts)
        stem = clean_stem(stem) or f"{form.id}_{i}"
        candidate, n = stem, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}_{n}"
        taken.add(candidate.lower())
        out.append(candidate + suffix)
    return out


def _shown(value: str, name: str, secrets: Secrets) -> str:
    if name in _OWN:
        return value
    return hide_private(value, secrets, strict=name != "case_id")
