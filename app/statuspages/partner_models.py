"""Partners: outside readers of private status pages, signed in by magic links."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Index, Text
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, timestamp_field
from app.statuspages.models import _uuid_array


class Partner(SQLModel, table=True):
    __tablename__ = "partners"
    __table_args__ = (Index("ix_partners_email", "email", unique=True),)

    id: UUID = id_field()
    name: str = Field(max_length=200)
    email: str = Field(sa_column=Column(Text, nullable=False))  # normalized, lower case
    status_page_ids: list[UUID] = _uuid_array()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class PartnerLogin(SQLModel, table=True):
    """A requested magic link; its token is made when the e-mail is sent, stored hashed."""

    __tablename__ = "partner_logins"

    id: UUID = id_field()
    partner_id: UUID = Field(sa_column_args=[ForeignKey("partners.id", ondelete="CASCADE")])
    page_id: UUID = Field(sa_column_args=[ForeignKey("status_pages.id", ondelete="CASCADE")])
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    expires_at: datetime | None = timestamp_field()
    used_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()


class PartnerSession(SQLModel, table=True):
    __tablename__ = "partner_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    partner_id: UUID = Field(sa_column_args=[ForeignKey("partners.id", ondelete="CASCADE")])
    expires_at: datetime | None = timestamp_field(nullable=False)
    created_at: datetime | None = created_at_field()


class PartnerAuditEvent(SQLModel, table=True):
    """A partner's sign-in or page view: kept 90 days (the main audit log is append-only)."""

    __tablename__ = "partner_audit_events"
    __table_args__ = (Index("ix_partner_audit_events_at", "at"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    at: datetime | None = created_at_field()
    partner_id: UUID  # no foreign key: the trail outlives a deleted partner, for 90 days
    action: str = Field(max_length=32)  # sign_in | page_view
    page_id: UUID
    client: str | None = Field(default=None, max_length=64)
    path: str | None = Field(default=None, max_length=200)


class PartnerCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    status_page_ids: list[UUID] = Field(default_factory=list, max_length=200)


class PartnerUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    status_page_ids: list[UUID] | None = Field(default=None, max_length=200)


class PartnerPublic(BaseModel):
    id: UUID
    name: str
    email: str
    status_page_ids: list[UUID]
    created_at: datetime | None
    updated_at: datetime | None


class PartnerLoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
