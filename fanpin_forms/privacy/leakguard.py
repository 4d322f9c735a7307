"""Finding private data in text that is about to leave the program.

二、5：“县级公告、村级公示中不得公开农户身份证号码、手机号、银行账号、健康状况等敏感信息。”
The same holds for messages, reports, logs and file names. A clerk who types an ID
number into the wrong column rarely types it the way the ID column would: it comes
with spaces, dashes, full-width digits, or read aloud in Chinese numerals. So every
text is read the way a person would read it before it is judged:

* **digits** are ASCII, full-width or any other decimal digit, the Chinese numerals
  〇○零一二三四五六七八九, 两 and 幺 (for 2 and 1, as phone numbers are read out) and the
  capital numerals 壹贰叁肆伍陆柒捌玖 (traditional forms too);
* **separators** between digits do not break a number: whitespace of every kind
  (NBSP, ideographic space), dashes of every kind, dots, slashes, underscores,
  brackets, ``+`` and the zero-width / format characters (full-width forms are
  separators too, through NFKC);
* an ``X`` after 17 digits is the check character of an ID number.

What comes out is a list of :class:`Run` (digits with the positions they came from),
judged by :func:`shape`: ID-, phone- and bank-account-shaped numbers are found in
any text; in a *strict* context (a value that a public notice or a file name will
show) any run of :data:`STRICT_MIN` digits, or :data:`STRICT_TOTAL` digits in one
value, is too. Dates written with separators (2022-06-01, 2022/6/1) are never a
shape. :class:`Secrets` holds the sensitive values of a whole input, normalised the
same way, so that a household's own phone typed into the name column is found even
when it is written 一三五八……; health details are found through a list of terms
(:data:`DEFAULT_HEALTH_TERMS`, which a county may extend on its ``County``).

:func:`find_leaks` is the last check of files about to be written (a public notice):
every part of every file, and every file name, searched for the sensitive values of
a whole input (:func:`ledger_secrets`) and for private shapes.

This module only finds; :mod:`fanpin_forms.privacy.masking` masks what it finds.
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DEFAULT_HEALTH_TERMS", "FRAGMENT_MIN", "Hit", "KIND_LABELS", "Run", "STRICT_MIN", "STRICT_TOTAL", "Secrets",
    "TEXT_SECRET_MIN", "compact", "find", "find_leaks", "ledger_secrets", "numeric_runs", "owned_secrets", "shape",
]

#: digits of a secret that, found together in a text, count as a piece of it
FRAGMENT_MIN = 6
#: in a strict context, a run of this many digits is flagged whatever its shape
STRICT_MIN = 6
#: in a strict context, this many digits in one value are flagged even when words separate them
STRICT_TOTAL = 11

#: Chinese labels of the kinds of private data, for messages
KIND_LABELS = {"id_number": "身份证号码", "phone": "电话号码", "bank_account": "银行账号", "health": "健康状况",
               "text": "敏感信息", "digits": "一长串数字（像是身份证号、电话或账号）"}

#: Illness and disability words that a public list must not carry (二、5 “健康状况”).
#: Single characters are the ones that do not occur in names or place names.
DEFAULT_HEALTH_TERMS: tuple[str, ...] = (
    "病", "癌", "瘤", "症", "瘫", "疾", "残疾", "残障", "伤残", "透析", "白血", "精神", "智障", "智力", "痴呆", "抑郁",
    "分裂", "癫痫", "艾滋", "HIV", "结核", "肝炎", "肝硬化", "尿毒", "肾衰", "化疗", "放疗", "手术", "术后", "住院",
    "偏瘫", "截瘫", "截肢", "失明", "失聪", "聋哑", "失能", "卧床", "中风", "脑梗", "心梗", "支架", "糖尿", "高血压",
    "重病", "大病", "慢病", "患有", "患者", "诊断",
)

_CHINESE_DIGITS = {
    **dict.fromkeys("〇○零", "0"), **dict.fromkeys("一壹幺", "1"), **dict.fromkeys("二两兩貳贰", "2"),
    **dict.fromkeys("三叁參", "3"), **dict.fromkeys("四肆", "4"), **dict.fromkeys("五伍", "5"),
    **dict.fromkeys("六陆陸", "6"), **dict.fromkeys("七柒", "7"), **dict.fromkeys("八捌", "8"),
    **dict.fromkeys("九玖", "9"),
}
_SEPARATOR_CHARS = frozenset(" \t\n\r\v\f.·・‧/\\_()+[]")
_SEPARATOR_CATEGORIES = ("Zs", "Zl", "Zp", "Pd", "Cf")

_DATE = r"(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
_DATES = re.compile(rf"{_DATE}(?:[\s\-/]*{_DATE})*")
#: every private shape has at least this many digits (a landline: 0 and nine more)
_SHAPE_MIN = 10
_DIGITISH = re.compile(rf"[\d{''.join(_CHINESE_DIGITS)}]")
_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")


def _digit(c: str) -> str | None:
    """The digit ``c`` stands for, or None."""
    if c in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[c]
    value = unicodedata.decimal(c, None)
    return None if value is None else str(value)


def _is_separator(c: str) -> bool:
    n = unicodedata.normalize("NFKC", c)
    return (not n or n in _SEPARATOR_CHARS or c in _SEPARATOR_CHARS
            or unicodedata.category(c) in _SEPARATOR_CATEGORIES)


def _is_check_x(c: str) -> bool:
    return unicodedata.normalize("NFKC", c) in ("X", "x")


@dataclass(frozen=True)
class Run:
    """Digits read from ``text[start:end]`` (separators between them skipped)."""

    start: int
    end: int
    positions: tuple[int, ...]  # where each digit came from
    digits: str  # "0"–"9", and a final "X" after 17 digits
    shown: str  # the run as ASCII: digits, "-" for dashes, " " for spaces, other separators as NFKC


def numeric_runs(text: str, *, mixed: bool = False) -> list[Run]:
    """Every number in ``text``, read across separators, full-width and Chinese numerals.

    A run is written in one script (decimal digits, or Chinese numerals), so that the
    四 of 李四 does not join the phone typed after the name; ``mixed`` joins scripts,
    for numbers a hostile hand wrote half in each."""
    runs: list[Run] = []
    positions: list[int] = []
    digits: list[str] = []
    script = ""

    def flush() -> None:
        if positions:
            start, end = positions[0], positions[-1] + 1
            runs.append(Run(start, end, tuple(positions), "".join(digits), _shown(text[start:end])))
            positions.clear()
            digits.clear()

    for i, c in enumerate(text):
        d = _digit(c)
        if d is not None:
            kind = "chinese" if c in _CHINESE_DIGITS else "decimal"
            if positions and not mixed and kind != script:
                flush()
            script = kind
            positions.append(i)
            digits.append(d)
        elif positions and len(digits) == 17 and _is_check_x(c):
            positions.append(i)
            digits.append("X")
            flush()
        elif not (positions and _is_separator(c)):
            flush()
    flush()
    return runs


def _shown(piece: str) -> str:
    out = []
    for c in piece:
        d = _digit(c)
        if d is not None:
            out.append(d)
        elif unicodedata.category(c) == "Pd":
            out.append("-")
        elif unicodedata.category(c) == "Cf":
            continue
        else:
            out.append(" " if c.isspace() else unicodedata.normalize("NFKC", c))
    return "".join(out)


def _birth_like(digits: str) -> bool:
    """Does ``digits`` (8 characters, yyyymmdd) look like a birth date?"""
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    return 1900 <= year <= 2039 and 1 <= month <= 12 and 1 <= day <= 31


def _id_like(digits: str) -> bool:
    """18 characters (17 digits and a digit or X) or 15 digits, with a birth date where an ID has it."""
    if len(digits) == 18 and digits[:17].isdigit():
        return digits[17] == "X" or (digits[0] in "12345678" and _birth_like(digits[6:14]))
    if len(digits) == 15 and digits.isdigit():
        return digits[0] in "12345678" and _birth_like("19" + digits[6:12])
    return False


def shape(digits: str, *, strict: bool = False) -> str | None:
    """The kind of private number ``digits`` looks like (see :data:`KIND_LABELS`), or None.

    Always: ID numbers (18 or 15 characters with a plausible birth date, or ending in X),
    mobiles (11 digits 13…–19…, optionally after 86/0086), landlines with area code
    (0 and 9–11 digits), bank accounts (16–21 digits), and anything of 22 or more digits
    (an ID number and a phone typed together). Strict: also any :data:`STRICT_MIN` digits."""
    n = len(digits)
    if _id_like(digits):
        return "id_number"
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return "phone"
    if 16 <= n <= 21 and digits.isdigit():
        return "bank_account"
    if n >= 22 or (strict and n >= STRICT_MIN):
        if any(_id_like(digits[i:i + 18]) for i in range(n - 17)):
            return "id_number"
        return "digits"
    return None


def _is_dates(run: Run) -> bool:
    """A date, or dates, written with separators: 2022-06-01, 2022/6/1, 2022.06.01 2022.06.08."""
    return "X" not in run.digits and _DATES.fullmatch(run.shown.strip()) is not None


def compact(text: str) -> tuple[str, list[int]]:
    """``text`` without separators, NFKC, case-folded, digits as ASCII; and where each character came from."""
    out: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text):
        d = _digit(c)
        if d is None and _is_separator(c):
            continue
        piece = d if d is not None else unicodedata.normalize("NFKC", c).casefold()
        out.append(piece)
        where.extend([i] * len(piece))
    return "".join(out), where


@dataclass(frozen=True)
class Hit:
    """Private data at ``text[start:end]``: a number (its digit ``positions``) or words (no positions)."""

    start: int
    end: int
    kind: str
    positions: tuple[int, ...] = ()
    #: the ledger row whose sensitive value this is, when it is one
    owner: int | None = None


class Secrets:
    """The sensitive values of a whole input, normalised, to find any of them (or a piece) in a text.

    Numbers are matched by every :data:`FRAGMENT_MIN`-digit piece, so a birth date
    taken from an ID number is found too; words (health details) of three or more
    characters are matched whole, ignoring separators and case."""

    def __init__(self, values: Iterable[tuple[str, str, int | None]] = ()):
        self.fragments: dict[str, list[tuple[str, int | None]]] = {}
        self.words: list[tuple[str, str, int | None]] = []
        self._seen: set[str] = set()
        for kind, value, owner in values:
            self.add(kind, value, owner)

    def add(self, kind: str, value: str, owner: int | None = None) -> None:
        text = str(value).strip()
        numbers = [r.digits.rstrip("X") for r in numeric_runs(text)]
        squeezed, _ = compact(text)
        if kind not in ("health", "text") and numbers and sum(map(len, numbers)) * 2 >= len(squeezed):
            pieces = {d[i:i + FRAGMENT_MIN] for d in numbers for i in range(len(d) - FRAGMENT_MIN + 1)}
            for piece in pieces:
                self.fragments.setdefault(piece, []).append((kind, owner))
        elif len(squeezed) >= 3 and squeezed not in self._seen:
            self._seen.add(squeezed)
            self.words.append((squeezed, kind, owner))

    def __bool__(self) -> bool:
        return bool(self.fragments or self.words)


def find(text: str, *, secrets: Secrets | None = None, terms: Sequence[str] = (), strict: bool = False) -> list[Hit]:
    """Every piece of private data in ``text``, in order.

    Numbers of a private shape (:func:`shape`; dates excepted), numbers holding a
    piece of one of ``secrets``, words of ``secrets`` and ``terms`` (health words).
    Numbers are judged per script first, then with scripts joined. ``strict`` is for
    one value that will be shown to the public or put in a file name: any long
    number counts, and so do :data:`STRICT_TOTAL` digits in the whole value."""
    hits: list[Hit] = []
    fewest = STRICT_MIN if strict else FRAGMENT_MIN if secrets and secrets.fragments else _SHAPE_MIN
    runs = numeric_runs(text) if len(_DIGITISH.findall(text)) >= fewest else []
    for whole in numeric_runs(text, mixed=True) if runs else ():
        hits.extend(_judge_mixed(whole, [r for r in runs if whole.start <= r.start and r.end <= whole.end],
                                 secrets, strict))
    counted = [r for r in runs if not _is_dates(r)]
    if strict and not hits and sum(len(r.digits) for r in counted) >= STRICT_TOTAL:
        positions = tuple(p for r in counted for p in r.positions)
        hits.append(Hit(positions[0], positions[-1] + 1, "digits", positions))
    words = list(secrets.words) if secrets else []
    words += [(compact(t)[0], "health", None) for t in terms if t.strip()]
    if words:
        squeezed, where = compact(text)
        for word, kind, owner in words:
            at = squeezed.find(word)
            while at >= 0:
                hits.append(Hit(where[at], where[at + len(word) - 1] + 1, kind, (), owner))
                at = squeezed.find(word, at + 1)
    return sorted(hits, key=lambda h: (h.start, h.end))


def _judge_mixed(whole: Run, parts: list[Run], secrets: Secrets | None, strict: bool) -> list[Hit]:
    """Hits in a number written in more than one script (``parts`` in one script each).

    The parts win when they hold an ID, phone or account and leave at most two digits
    over (the 四 of 李四 before a phone); otherwise the whole is judged, so that a
    number written half in Chinese numerals is masked as one."""
    found = [h for h in (_judge(r, secrets, strict) for r in parts) if h is not None]
    if len(parts) == 1:
        return found
    left_over = len(whole.positions) - sum(len(h.positions) for h in found)
    if any(h.kind != "digits" for h in found) and left_over <= 2:
        return found
    joined = _judge(whole, secrets, strict)
    return [joined] if joined is not None else found


def _judge(run: Run, secrets: Secrets | None, strict: bool) -> Hit | None:
    """A run is private if it has a private shape or holds a piece of a secret.

    It is named as a household's own value only when it shares most of its pieces
    with it: every ID number of a county starts with the county's six-digit code."""
    kind = None if _is_dates(run) else shape(run.digits, strict=strict)
    owned = _owned(run, secrets)
    if owned is not None:
        secret_kind, owner, share = owned
        if share >= 0.5:
            return Hit(run.start, run.end, secret_kind, run.positions, owner)
        kind = kind or secret_kind
    return None if kind is None else Hit(run.start, run.end, kind, run.positions)


def _owned(run: Run, secrets: Secrets | None) -> tuple[str, int | None, float] | None:
    """(kind, owner, share of the run's pieces) of the secret sharing most pieces with ``run``, or None."""
    if not secrets or not secrets.fragments:
        return None
    digits = run.digits.rstrip("X")
    pieces = list(dict.fromkeys(digits[i:i + FRAGMENT_MIN] for i in range(len(digits) - FRAGMENT_MIN + 1)))
    votes: dict[tuple[str, int | None], int] = {}
    for piece in pieces:
        for owner in secrets.fragments.get(piece, ()):
            votes[owner] = votes.get(owner, 0) + 1
    if not votes:
        return None
    best = max(votes, key=votes.__getitem__)
    return best[0], best[1], votes[best] / len(pieces)


# --- the sensitive values of a ledger, and the last check of output files --------------------

#: free-text secrets shorter than this (e.g. 健康状况「良好」) are too common words to search for
TEXT_SECRET_MIN = 3


class _Field(Protocol):
    key: str
    sensitive: str | None


class _Form(Protocol):
    @property
    def fields(self) -> Sequence[_Field]: ...


class _Record(Protocol):
    values: Mapping[str, object]
    row: int | None


def owned_secrets(records: Iterable[_Record], form: _Form) -> list[tuple[str, str, int | None]]:
    """(kind, value, row) for every sensitive value of every record (fields marked ``sensitive``)."""
    kinds = {f.key: f.sensitive for f in form.fields if f.sensitive}
    out: list[tuple[str, str, int | None]] = []
    for r in records:
        for key, kind in kinds.items():
            value = r.values.get(key)
            if value not in (None, ""):
                out.append((str(kind), str(value), r.row))
    return out


def ledger_secrets(records: Iterable[_Record], form: _Form) -> list[tuple[str, str]]:
    """(kind, value) for every sensitive value of every record (ID, phone, bank account, health…)."""
    return [(kind, value) for kind, value, _ in owned_secrets(records, form)]


def _parts(name: str, blob: bytes) -> list[tuple[str, bytes]]:
    if name.endswith(".docx"):
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            return [(f"{name} → {n}", z.read(n)) for n in z.namelist()]
    return [(name, blob)]


def _visible_text(blob: bytes) -> str:
    """The text a reader sees in an XML or HTML part: tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]*>", " ", blob.decode("utf-8", "ignore")))


def _is_text_part(where: str, blob: bytes) -> bool:
    return where.startswith("文件名") or blob.lstrip()[:1] == b"<"


def find_leaks(files: dict[str, bytes], secrets: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(where, kind) for each piece of private data found in ``files`` (name → bytes).

    Looks for each sensitive value whole in every byte of every part (a DOCX is
    opened: every zip entry is a part) and in the file names, and reads the text of
    each XML/HTML part and each file name with this module's normalisation: private
    shapes (ID, phone, bank account), and any piece of a sensitive value however it
    is written."""
    pairs = list(secrets)
    index = Secrets((kind, value, None) for kind, value in pairs)
    needles = [(kind, value.strip().encode("utf-8")) for kind, value in pairs
               if kind not in ("health", "text") or len(value.strip()) >= TEXT_SECRET_MIN]
    found: list[tuple[str, str]] = []
    for name, blob in files.items():
        for where, part in [(f"文件名 {name}", name.encode("utf-8")), *_parts(name, blob)]:
            found.extend((where, kind) for kind, needle in needles if needle and needle in part)
            if _is_text_part(where, part):
                found.extend((where, hit.kind) for hit in find(_visible_text(part), secrets=index))
    return list(dict.fromkeys(found))
