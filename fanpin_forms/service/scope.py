"""What part of the county a user may see: one :class:`Area`, derived from the user once.

Every query helper of the service takes an ``Area`` and filters by it (``Area.where``
for any table with ``township`` / ``village`` columns, ``Area.covers`` for one row or
record); routes never filter by hand. The ledger's query layer takes the same object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, true

COUNTY, TOWNSHIP, VILLAGE = "county", "township", "village"


@dataclass(frozen=True)
class Area:
    """``level`` county: everything; township: one township; village: one village of one township."""

    level: str
    township: str | None = None
    village: str | None = None

    def __post_init__(self) -> None:
        if self.level not in (COUNTY, TOWNSHIP, VILLAGE):
            raise ValueError(f"unknown area level {self.level!r}")
        if self.level != COUNTY and not self.township:
            raise ValueError("a township or village area needs its township")
        if self.level == VILLAGE and not self.village:
            raise ValueError("a village area needs its village")

    @classmethod
    def of_user(cls, user: Any) -> Area:
        if user.village:
            return cls(VILLAGE, user.township, user.village)
        if user.township:
            return cls(TOWNSHIP, user.township)
        return cls(COUNTY)

    @property
    def label(self) -> str:
        """The area in Chinese: 全县 / 荣家湾镇 / 荣家湾镇杨林村."""
        if self.level == COUNTY:
            return "全县"
        return f"{self.township}{self.village or ''}"

    def covers(self, township: str | None, village: str | None) -> bool:
        """Whether a row placed in (township, village) lies in this area. A row without a
        place is the county's: only a county-level area covers it."""
        if self.level == COUNTY:
            return True
        if township != self.township:
            return False
        return self.level == TOWNSHIP or village == self.village

    def where(self, entity: Any):
        """A SQL condition limiting ``entity`` (a mapped class with ``township`` and
        ``village`` columns) to this area."""
        if self.level == COUNTY:
            return true()
        if self.level == TOWNSHIP:
            return entity.township == self.township
        return and_(entity.township == self.township, entity.village == self.village)

    def own(self) -> tuple[str | None, str | None]:
        """(township, village) to stamp on a row this area's user creates."""
        return self.township, self.village


def record_place(values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(township, village) of a record's values: the first address-like value (a mapping
    with ``township``), else top-level ``township`` / ``village`` fields."""
    for value in values.values():
        if isinstance(value, Mapping) and "township" in value:
            return value.get("township") or None, value.get("village") or None
    return values.get("township") or None, values.get("village") or None


def in_area(area: Area, records: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """``records`` (with ``.values``) split into (inside ``area``, outside it)."""
    inside: list[Any] = []
    outside: list[Any] = []
    for r in records:
        (inside if area.covers(*record_place(r.values)) else outside).append(r)
    return inside, outside
