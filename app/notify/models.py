"""Contact methods, notification rules and used action links of the notify domain."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, model_validator
from sqlalchemy import Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, timestamp_field

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class ContactType(StrEnum):
    """A channel that reaches one person."""

    email = "email"
    sms = "sms"
    voice = "voice"
    push = "push"
    slack = "slack"


class Urgency(StrEnum):
    high = "high"
    low = "low"


class ContactMethod(SQLModel, table=True):
    __tablename__ = "contact_methods"
    __table_args__ = (
        Index("ix_contact_methods_lookup", "type", "address"),
        Index("ix_contact_methods_user", "user_id"),
    )

    id: UUID = id_field()
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")])
    type: ContactType = Field(sa_column=Column(String(16), nullable=False))
    address: str = Field(max_length=4000)
    label: str | None = Field(default=None, max_length=100)
    verified: bool = False
    # A SHA-256 of the last verification code sent, its expiry and the wrong tries left.
    code_hash: str | None = Field(default=None, max_length=64)
    code_expires_at: datetime | None = timestamp_field()
    code_tries_left: int = 0
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class NotificationRule(SQLModel, table=True):
    __tablename__ = "notification_rules"
    __table_args__ = (Index("ix_notification_rules_user", "user_id", "urgency"),)

    id: UUID = id_field()
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")])
    contact_method_id: UUID = Field(
        sa_column_args=[ForeignKey("contact_methods.id", ondelete="CASCADE")]
    )
    delay_seconds: float = 0
    urgency: Urgency = Field(sa_column=Column(String(8), nullable=False))
    created_at: datetime | None = created_at_field()


class ActionLinkUse(SQLModel, table=True):
    """A signed link that was used: links are single-use, so the second use is refused."""

    __tablename__ = "action_link_uses"

    jti: str = Field(primary_key=True, max_length=64)
    incident_id: UUID
    user_id: UUID
    action: str = Field(max_length=16)
    used_at: datetime | None = created_at_field()


# --- API schemas ------------------------------------------------------------------------------


def check_address(type_: ContactType, address: str) -> str:
    """Return the address in canonical form or raise ValueError saying what is wrong."""
    address = address.strip()
    if type_ in (ContactType.sms, ContactType.voice):
        number = re.sub(r"[\s().-]", "", address)
        if not E164.match(number):
            raise ValueError("must be an E.164 phone number such as +15551234567")
        return number
    if type_ is ContactType.email:
        if not EMAIL.match(address) or len(address) > 320:
            raise ValueError("must be an e-mail address")
        return address
    if type_ is ContactType.slack:
        if not SLACK_USER.match(address):
            raise ValueError("must be a Slack user id such as U012AB3CD")
        return address
    try:
        sub: Any = json.loads(address)
    except ValueError:
        raise ValueError("must be a push subscription as JSON") from None
    keys = sub.get("keys") if isinstance(sub, dict) else None
    if (
        not isinstance(sub, dict)
        or not str(sub.get("endpoint", "")).startswith(("https://", "http://"))
        or not isinstance(keys, dict)
        or not keys.get("p256dh")
        or not keys.get("auth")
    ):
        raise ValueError("a push subscription needs endpoint and keys.p256dh, keys.auth")
    return json.dumps(
        {"endpoint": sub["endpoint"], "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}
    )


class ContactMethodCreate(BaseModel):
    type: ContactType
    address: str = Field(min_length=1, max_length=4000)
    label: str | None = Field(default=None, max_length=100)
    # Only an admin provisioning a user may set this; everyone else verifies by code.
    verified: bool = False

    @model_validator(mode="after")
    def _address(self) -> ContactMethodCreate:
        self.address = check_address(self.type, self.address)
        return self


class ContactMethodUpdate(BaseModel):
    label: str | None = Field(default=None, max_length=100)


class ContactMethodPublic(BaseModel):
    id: UUID
    user_id: UUID
    type: ContactType
    address: str
    label: str | None
    verified: bool
    created_at: datetime | None = None


class VerifyIn(BaseModel):
    code: str = Field(min_length=4, max_length=12)


class NotificationRuleCreate(BaseModel):
    contact_method_id: UUID
    delay: timedelta = Field(default=timedelta(0), description="ISO-8601 duration or seconds")
    urgency: Urgency = Urgency.high

    @model_validator(mode="after")
    def _delay(self) -> NotificationRuleCreate:
        if not timedelta(0) <= self.delay <= timedelta(hours=24):
            raise ValueError("delay must be between PT0S and P1D")
        return self


class NotificationRuleUpdate(BaseModel):
    contact_method_id: UUID | None = None
    delay: timedelta | None = None
    urgency: Urgency | None = None

    @model_validator(mode="after")
    def _delay(self) -> NotificationRuleUpdate:
        if self.delay is not None and not timedelta(0) <= self.delay <= timedelta(hours=24):
            raise ValueError("delay must be between PT0S and P1D")
        return self


class NotificationRulePublic(BaseModel):
    id: UUID
    user_id: UUID
    contact_method_id: UUID
    delay: timedelta
    urgency: Urgency
