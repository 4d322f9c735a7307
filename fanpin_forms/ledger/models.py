"""The ledger's tables as SQLAlchemy 2 typed models.

One household (户) has members and one case per monitoring episode (监测周期); a case's
values live in ``field_values``, one row per field, each with its provenance (import,
scan, review, manual; who; when). A value read from a scan that was flagged for review
is stored with ``pending`` set, beside the accepted value, never in its place.

Printed forms (``documents``), returned scan files (``scan_files``, content-addressed
by SHA-256) and their ``pages``, ``review_items``, ``evidence`` and county
``policy_values`` complete the picture. Every change belongs to an ``operations`` row
and writes ``audit`` rows in the same transaction; audit rows are append-only (the
migration installs triggers that refuse UPDATE and DELETE, and :mod:`.audit` refuses
them in the ORM). Schema changes go through Alembic (``migrations/``), never
``create_all``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, DateTime, ForeignKey, Index, Integer, MetaData, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: constraint names the same on SQLite and PostgreSQL, so migrations can name them
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
          "pk": "pk_%(table_name)s"}

#: where a value came from
SOURCES = ("import", "scan", "review", "manual")
#: sources a person typed or confirmed: an import does not overwrite them without --overwrite
PERSON_SOURCES = ("manual", "review")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str | None] = mapped_column(String(64), unique=True)  # 户编号
    id_number: Mapped[str | None] = mapped_column(String(32), unique=True)  # 户主身份证号码
    head_name: Mapped[str] = mapped_column(String(100), default="")
    township: Mapped[str] = mapped_column(String(100), default="", index=True)
    village: Mapped[str] = mapped_column(String(100), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    members: Mapped[list[Member]] = relationship(back_populates="household")
    cases: Mapped[list[Case]] = relationship(back_populates="household", order_by="Case.episode")


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    person_no: Mapped[str | None] = mapped_column(String(64))  # 人编号
    name: Mapped[str] = mapped_column(String(100), default="")
    id_number: Mapped[str | None] = mapped_column(String(32), index=True)
    relation: Mapped[str] = mapped_column(String(32), default="")  # 与户主关系
    attributes: Mapped[str] = mapped_column(Text, default="{}")  # JSON: 民族, 文化程度, 健康状况 …

    household: Mapped[Household] = relationship(back_populates="members")


class Case(Base):
    """One household's monitoring episode: from the risk found to the risk eliminated."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("household_id", "episode", name="uq_cases_household_episode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    episode: Mapped[int] = mapped_column(Integer, default=1)
    stage: Mapped[str] = mapped_column(String(32), default="", index=True)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)  # 存在较大争议
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    household: Mapped[Household] = relationship(back_populates="cases")
    values: Mapped[list[FieldValue]] = relationship(back_populates="case")


class FieldValue(Base):
    """A case's value of one field (JSON, as ``fieldtypes.jsonable`` writes it)."""

    __tablename__ = "field_values"
    __table_args__ = (UniqueConstraint("case_id", "field", "pending", name="uq_field_values_case_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    field: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)  # JSON
    source: Mapped[str] = mapped_column(String(16))  # one of SOURCES
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))

    case: Mapped[Case] = relationship(back_populates="values")


class Document(Base):
    """A printed form (or a blank form's serial issued to a township or village)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    qr_id: Mapped[str] = mapped_column(String(128), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    form: Mapped[str] = mapped_column(String(64))
    spec_version: Mapped[str] = mapped_column(String(32), default="")
    template_hash: Mapped[str] = mapped_column(String(64), default="")
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    issued_to: Mapped[str] = mapped_column(String(200), default="")  # blank forms: township/village
    file: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ScanFile(Base):
    __tablename__ = "scan_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    stored_path: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("scan_file_id", "page_no", name="uq_pages_scan_page"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_file_id: Mapped[int] = mapped_column(ForeignKey("scan_files.id"), index=True)
    page_no: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ReviewItem(Base):
    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    field: Mapped[str] = mapped_column(String(100))
    read_value: Mapped[str | None] = mapped_column(Text)  # JSON
    final_value: Mapped[str | None] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / accepted / corrected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    stored_path: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PolicyValue(Base):
    """A county policy value set by its office (e.g. the year's income baseline)."""

    __tablename__ = "policy_values"
    __table_args__ = (UniqueConstraint("name", "year", name="uq_policy_values_name_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(Text)  # JSON
    source: Mapped[str] = mapped_column(Text, default="")  # 文号
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Operation(Base):
    """One command that changed the ledger (an import, a scan attach, a policy value …)."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    detail: Mapped[str] = mapped_column(Text, default="")  # file name, counts (no private data)


class Audit(Base):
    """Append-only: who, when, what, old → new (sensitive values stored masked)."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_case_at", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(32))  # table name
    entity_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(100), default="")
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="")
