"""What part of the county a query may see: one :class:`Scope` (a township, a village of it,
or the whole county), applied once here to every listing of the ledger.

The ledger's listing functions (``status``, ``iter_states``, ``unreturned``,
``outstanding_forms``, ``iter_cases``, ``load_ledger``, ``report.monthly``, the review
queue and the case lookup) take ``scope=``; the CLI's ``--township`` / ``--village``
keep working beside it (both apply: a township outside the scope gives nothing). The
web service passes the user's area (``Scope.of(area)``), so no route filters by hand.
Every scoped query goes through :meth:`Scope.where` on :class:`Household`, the only
table that holds a place; everything else reaches its place through its case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from .models import Case, Household


@dataclass(frozen=True)
class Scope:
    """``township`` None: the whole county; ``village`` None: the whole township."""

    township: str | None = None
    village: str | None = None

    def __post_init__(self) -> None:
        if self.village and not self.township:
            raise ValueError("a village scope needs its township")

    @classmethod
    def of(cls, area: Any) -> Scope:
        """The scope of anything with ``township`` and ``village`` (the service's ``Area``)."""
        if area is None:
            return ALL
        return cls(getattr(area, "township", None) or None, getattr(area, "village", None) or None)

    @property
    def everything(self) -> bool:
        return not self.township

    def where(self, entity: Any = Household):
        """A SQL condition limiting ``entity`` (``Household`` or anything with ``township`` and
        ``village`` columns) to this scope."""
        if not self.township:
            return true()
        if not self.village:
            return entity.township == self.township
        return and_(entity.township == self.township, entity.village == self.village)

    def covers(self, township: str | None, village: str | None) -> bool:
        """Whether a place lies in this scope (a place without a township is the county's)."""
        if not self.township:
            return True
        return township == self.township and (not self.village or village == self.village)


ALL = Scope()


def narrow(query, *, township: str | None = None, village: str | None = None, scope: Scope | None = None,
           entity: Any = Household):
    """``query`` limited by the CLI's filters and by ``scope`` (both apply)."""
    if township:
        query = query.where(entity.township == township)
    if village:
        query = query.where(entity.village == village)
    if scope is not None and not scope.everything:
        query = query.where(scope.where(entity))
    return query


def case_in_scope(session: Session, scope: Scope, case_id: int) -> Case | None:
    """The case with id ``case_id`` if its household lies in ``scope``; None otherwise, exactly
    as for a case that does not exist."""
    q = select(Case).join(Household, Case.household_id == Household.id).where(Case.id == case_id, scope.where())
    return session.scalars(q).first()


def places(session: Session, scope: Scope) -> list[tuple[str, str]]:
    """The (township, village) pairs of the ledger's households inside ``scope``, sorted: what a
    user may pick to print (a village clerk gets only their own village)."""
    q = select(Household.township, Household.village).where(scope.where(), Household.township.is_not(None),
                                                               Household.village.is_not(None)).distinct()
    return sorted((t, v) for t, v in session.execute(q) if t and v)


def household_in_scope(session: Session, scope: Scope, household_no: str) -> Household | None:
    return session.scalars(select(Household).where(Household.household_no == household_no, scope.where())).first()


__all__ = ["ALL", "Scope", "case_in_scope", "household_in_scope", "narrow", "places"]
