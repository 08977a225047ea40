"""Connections: table and API schemas; secrets are write-only and stored encrypted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import Column, String, Text
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field


class ConnectionType(StrEnum):
    jira = "jira"
    linear = "linear"
    oauth2 = "oauth2"
    hmac = "hmac"
    basic = "basic"


class Connection(SQLModel, table=True):
    __tablename__ = "connections"

    id: UUID = id_field()
    type: str = SQLField(sa_column=Column(String(16), nullable=False))
    name: str = SQLField(max_length=200, unique=True)
    # Only the non-secret keys of the config; the secret ones live encrypted in `secrets`.
    config: dict[str, Any] | None = jsonb_field(nullable=False)
    secrets: str = SQLField(sa_column=Column(Text, nullable=False))  # Fernet token of JSON
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JiraConfig(_Config):
    base_url: HttpUrl  # https://your-site.atlassian.net
    email: str = Field(min_length=3, max_length=320)
    api_token: str = Field(min_length=1, max_length=2000)


class LinearConfig(_Config):
    api_key: str = Field(min_length=1, max_length=2000)
    api_url: HttpUrl = HttpUrl("https://api.linear.app/graphql")


class OAuth2Config(_Config):
    token_url: HttpUrl
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str = Field(min_length=1, max_length=2000)
    scope: str | None = Field(default=None, max_length=1000)


class HmacConfig(_Config):
    secret: str = Field(min_length=16, max_length=2000)


class BasicConfig(_Config):
    username: str = Field(min_length=1, max_length=500)
    password: str = Field(min_length=1, max_length=2000)


CONFIGS: dict[ConnectionType, type[_Config]] = {
    ConnectionType.jira: JiraConfig,
    ConnectionType.linear: LinearConfig,
    ConnectionType.oauth2: OAuth2Config,
    ConnectionType.hmac: HmacConfig,
    ConnectionType.basic: BasicConfig,
}
SECRET_KEYS: dict[ConnectionType, frozenset[str]] = {
    ConnectionType.jira: frozenset({"api_token"}),
    ConnectionType.linear: frozenset({"api_key"}),
    ConnectionType.oauth2: frozenset({"client_secret"}),
    ConnectionType.hmac: frozenset({"secret"}),
    ConnectionType.basic: frozenset({"password"}),
}
# Config keys that are URLs PageFree will call (checked against SSRF).
URL_KEYS = ("base_url", "api_url", "token_url")


class ConnectionCreate(BaseModel):
    type: ConnectionType
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any]

    def __repr__(self) -> str:  # never show secrets in logs or tracebacks
        return f"ConnectionCreate(type={self.type.value!r}, name={self.name!r}, config=…)"

    __str__ = __repr__


class ConnectionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    # Keys given replace the stored ones; secret keys left out keep their stored value.
    config: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ConnectionUpdate(name={self.name!r}, config=…)"

    __str__ = __repr__


class ConnectionPublic(BaseModel):
    id: UUID
    type: ConnectionType
    name: str
    config: dict[str, Any]  # without secrets
    secrets_set: list[str]  # which secret keys have a value (never the value)
    created_at: datetime
    updated_at: datetime | None


class ConnectionTest(BaseModel):
    ok: bool
    detail: str
