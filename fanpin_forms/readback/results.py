"""What read-back produces, typed: one page's reading, one page's result, one form's record.

* :class:`PageReading` — what one page says (stages, ticks, header values, review items);
  a worker process sends it back, so it is plain picklable data;
* :class:`PageResult` — one input page accounted for: which form and household it is,
  its status (``recognised``, ``flagged``, ``foreign``, ``duplicate``, ``failed``) and
  its reading;
* :class:`ReadRecord` — the pages of one form put together: what ``fanpin parse``
  writes, one JSON line each (serialised by :mod:`.records_io` only).

A :class:`ReviewItem` names what a person should look at by a :class:`ReviewKind`
and, for some kinds, a target (the field key, the signer's index): its serialised
``item`` text is ``"codes:sanbaozhang"``, ``"signature:0"``, ``"date"``, ...
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem


class ReviewKind(str, enum.Enum):
    """What a review item is about (the part of its ``item`` text before ``:``)."""

    FIELD = "field"  # a header value; target: the value key ("head_name", "address.village")
    CODES = "codes"  # tick boxes of a choice field; target: the field key
    SIGNATURE = "signature"  # one signer; target: the signer's index in its stage
    DATE = "date"  # a stage's date
    IDENTITY = "identity"  # which household (or blank form) the page is
    PAGES = "pages"  # pages of the form missing
    ALIGNMENT = "alignment"  # the page could not be aligned well with its blank
    DUPLICATE = "duplicate"  # a page seen twice: which copy was used
    TABLE_ROW = "table_row"  # one row of a repeating table; target: "<field key>.<row number>"

    @classmethod
    def split(cls, item: str) -> tuple[ReviewKind | None, str]:
        """``"codes:sanbaozhang"`` → (CODES, "sanbaozhang"); an unknown kind → (None, rest)."""
        kind, _, rest = str(item).partition(":")
        try:
            return cls(kind), rest
        except ValueError:
            return None, rest


def review_item_text(kind: ReviewKind, target: object = None) -> str:
    """The serialised ``item`` of a review item: ``"codes:risk_types"``, ``"date"``."""
    return kind.value if target is None else f"{kind.value}:{target}"


@dataclass
class ReviewItem:
    """One value a person should check. ``crop_png`` is the image of the paper (kept in
    memory until the review folder is written); ``crop`` is its path there, and ``id``
    its number (R0001 …), both given when the records are put together."""

    stage: str | None
    kind: ReviewKind
    target: str | None
    why: str
    value: object
    confidence: float
    crop_png: bytes | None = None
    id: str | None = None
    crop: str | None = None

    @property
    def item(self) -> str:
        return review_item_text(self.kind, self.target)


@dataclass
class SignerReading:
    """One signer of a stage: the printed role and marks asked for, and what was found."""

    role: str
    marks: list[str]
    present: bool = False
    seal: bool = False
    thumbprint: bool = False
    confidence: float = 0.0

    @classmethod
    def unsigned(cls, role: str, marks: Sequence[str], confidence: float) -> SignerReading:
        """A signer with nothing found: a born-digital page (``confidence`` 1) or a stage no page showed (0)."""
        return cls(role, list(marks), False, False, False, confidence)


@dataclass
class StageReading:
    """One stage (home visit, village review, ...): its signers, date and tick boxes."""

    signers: list[SignerReading] = field(default_factory=list)
    date: str | None = None
    date_confidence: float = 1.0
    codes: dict[str, list[int]] = field(default_factory=dict)
    codes_confidence: float = 1.0

    @property
    def signed(self) -> bool:
        """Every signer signed (a stage without signers is not signed)."""
        return bool(self.signers) and all(s.present for s in self.signers)

    @property
    def confidence(self) -> float:
        """The least sure signer's confidence (1 without signers)."""
        return round(min((s.confidence for s in self.signers), default=1.0), 3)


@dataclass
class PageReading:
    """What one page says."""

    stages: dict[str, StageReading] = field(default_factory=dict)
    codes: dict[str, list[int]] = field(default_factory=dict)  # boxes outside stages
    codes_confidence: float = 1.0
    fields: dict[str, tuple[str, float, int]] = field(default_factory=dict)  # key → (value, confidence, line)
    line_crops: list[bytes | None] = field(default_factory=list)
    unread_crops: dict[str, int] = field(default_factory=dict)  # key → line crop of a value not read
    review: list[ReviewItem] = field(default_factory=list)
    alignment: float = 1.0
    flagged: str = ""
    #: repeating tables (:mod:`.tables`): field key → one :class:`~.tables.RowReading` per printed row
    tables: dict[str, list] = field(default_factory=dict)


@dataclass
class HeaderReading:
    """The header values of a scan: key → (value, confidence, index in ``line_crops``)."""

    fields: dict[str, tuple[str, float, int]] = field(default_factory=dict)
    line_crops: list[bytes | None] = field(default_factory=list)
    #: key → index in ``line_crops`` of where a value was looked for and not read (its review crop)
    unread_crops: dict[str, int] = field(default_factory=dict)


@dataclass
class PageResult:
    """One input page accounted for."""

    file: str
    page: int | None
    status: str = "failed"  # recognised, flagged, foreign, duplicate, failed
    form: str | None = None
    version: str | None = None
    ident: str | None = None  # "C:…", "S:…", "R:…"; None when identified by the title only
    page_no: int = 1
    pages: int = 1
    identified_by: str | None = None  # qr, text, title
    why: str = ""
    problem: Problem | None = None
    reading: PageReading | None = None
    scan: bool = False  # read as an image (could carry handwriting)
    trusted: bool = False  # its QR code verifies under this installation's key

    @classmethod
    def failed(cls, file: str, page: int | None, problem: Problem) -> PageResult:
        return cls(file, page, "failed", why=problem.message, problem=problem)

    @property
    def where(self) -> str:
        """``a.pdf 第3页`` (or the file alone when the whole file failed)."""
        return f"{self.file} 第{self.page}页" if self.page else self.file


@dataclass
class ReadRecord:
    """One returned form, as ``fanpin parse`` writes it (see :mod:`.records_io`)."""

    form: str
    form_version: str | None
    case_id: str | None
    serial: str | None
    row: int | None
    identified_by: str
    fields: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, list[int]] = field(default_factory=dict)
    stages: dict[str, StageReading] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    needs_review: list[ReviewItem] = field(default_factory=list)
    corrections: list[dict] | None = None  # added by ``fanpin review apply``


__all__ = ["HeaderReading", "PageReading", "PageResult", "ReadRecord", "ReviewItem", "ReviewKind", "SignerReading",
           "StageReading", "review_item_text"]
