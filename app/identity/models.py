"""Users, teams and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, EmailStr, field_validator
from sqlalchemy import Column, ForeignKey, Index, String, text
from sqlmodel import Field, SQLModel

from app.models_common import (
    SlackChannelId,
    SlackUserId,
    created_at_field,
    id_field,
    timestamp_field,
)


class Role(StrEnum):
    """What a user may do: admins configure, responders act on incidents, observers read."""

    admin = "admin"
    responder = "responder"
    observer = "observer"


class TeamRole(StrEnum):
    """A member's role within a team."""

    manager = "manager"
    member = "member"


def valid_timezone(value: str) -> str:
    """Accept only IANA time zone names."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


class UserBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    timezone: str = Field(default="UTC", max_length=64)
    role: Role = Field(default=Role.responder, sa_column=Column(String(16), nullable=False))


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_email_lower", text("lower(email)"), unique=True),)

    id: UUID = id_field()
    password_hash: str | None = Field(default=None, max_length=256)
    # The identity provider's `sub` of this user, bound at the first single sign-on.
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True)
    # With single sign-on on, only break-glass accounts (flagged by an admin) use passwords.
    break_glass: bool = False
    # The user's Slack identity: set by an admin, or linked on first use by a verified e-mail.
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()
    # Set by an admin (web UI): no sign-in, no API token, no place in schedules.
    deactivated_at: datetime | None = timestamp_field()


class _UserFields(BaseModel):
    @field_validator("timezone", check_fields=False)
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else valid_timezone(value)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else value.strip().lower()


class UserCreate(_UserFields):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    timezone: str = "UTC"
    role: Role = Role.responder
    password: str | None = Field(default=None, min_length=12, max_length=256)
    slack_user_id: SlackUserId | None = None


class UserUpdate(_UserFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    timezone: str | None = None
    role: Role | None = None
    password: str | None = Field(default=None, min_length=12, max_length=256)
    # Asked when users change their own password (admins resetting someone else's need not).
    current_password: str | None = Field(default=None, max_length=256)
    break_glass: bool | None = None  # admins only
    slack_user_id: SlackUserId | None = None  # null unlinks


class UserPublic(BaseModel):
    id: UUID
    name: str
    email: str
    timezone: str
    role: Role
    slack_user_id: str | None = None
    break_glass: bool = False
    created_at: datetime | None = None


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (Index("ix_teams_name_lower", text("lower(name)"), unique=True),)

    id: UUID = id_field()
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    # Where incidents of the team's services are posted when the service names no channel.
    slack_channel_id: str | None = Field(default=None, max_length=32)
    # The policy of the team's services that name none of their own (catalog).
    default_escalation_policy_id: UUID | None = Field(
        default=None,
        sa_column_args=[ForeignKey("escalation_policies.id", ondelete="RESTRICT")],
        index=True,
    )
    created_at: datetime | None = created_at_field()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"

    team_id: UUID = Field(
        sa_column_args=[ForeignKey("teams.id", ondelete="CASCADE")], primary_key=True
    )
    user_id: UUID = Field(
        sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], primary_key=True, index=True
    )
    role: TeamRole = Field(default=TeamRole.member, sa_column=Column(String(16), nullable=False))


class TeamMemberIn(BaseModel):
    user_id: UUID
    role: TeamRole = TeamRole.member


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    members: list[TeamMemberIn] = Field(default_factory=list)
    slack_channel_id: SlackChannelId | None = None
    default_escalation_policy_id: UUID | None = None


class TeamUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    members: list[TeamMemberIn] | None = None  # replaces the whole list when given
    slack_channel_id: SlackChannelId | None = None
    default_escalation_policy_id: UUID | None = None


class TeamPublic(BaseModel):
    id: UUID
    name: str
    description: str | None
    members: list[TeamMemberIn]
    slack_channel_id: str | None = None
    default_escalation_policy_id: UUID | None = None
    created_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: UUID = id_field()
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True)
    name: str = Field(max_length=200)
    # SHA-256 of the token: tokens are 256-bit random, so a fast hash is safe and lookups are O(1).
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime | None = created_at_field()
    last_used_at: datetime | None = timestamp_field()
    expires_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class ApiTokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=200)
    expires_at: datetime | None = None


class ApiTokenPublic(BaseModel):
    id: UUID
    user_id: UUID
    name: str
    prefix: str
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(BaseModel):
    id: UUID
    name: str
    token: str  # shown this once
    expires_at: datetime | None = None
