"""Connections: admin CRUD with write-only secrets encrypted at rest, and a connection test."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.connections import crypto, providers
from app.connections.models import (
    CONFIGS,
    SECRET_KEYS,
    URL_KEYS,
    Connection,
    ConnectionCreate,
    ConnectionPublic,
    ConnectionTest,
    ConnectionType,
    ConnectionUpdate,
)
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, Invalid, NotFound


def public(connection: Connection) -> ConnectionPublic:
    """Return the API view: config without secrets, and which secrets are set."""
    kind = ConnectionType(connection.type)
    return ConnectionPublic(
        id=connection.id,
        type=kind,
        name=connection.name,
        config=dict(connection.config or {}),
        secrets_set=sorted(SECRET_KEYS[kind]),
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def _validate(kind: ConnectionType, config: dict[str, Any]) -> BaseModel:
    try:
        return CONFIGS[kind].model_validate(config)
    except ValidationError as exc:
        # Messages only, never the input: it may hold a secret.
        errors = [
            {"field": "config." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise Invalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        ) from None


async def _check_urls(settings: Settings, cfg: BaseModel) -> None:
    for key in URL_KEYS:
        value = getattr(cfg, key, None)
        if value is not None:
            await providers.check(settings, str(value), f"config.{key}")


def _split(kind: ConnectionType, cfg: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    data = cfg.model_dump(mode="json")
    secret = SECRET_KEYS[kind]
    return (
        {k: v for k, v in data.items() if k not in secret},
        {k: v for k, v in data.items() if k in secret},
    )


async def get(*, session: AsyncSession, connection_id: UUID) -> Connection:
    """Return a connection or raise NotFound."""
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} does not exist")
    return connection


async def list_connections(*, session: AsyncSession) -> list[Connection]:
    """Return every connection by name."""
    return list((await session.scalars(select(Connection).order_by(Connection.name))).all())


def config_of(settings: Settings, connection: Connection) -> Any:
    """Return a connection's full, validated config (secrets decrypted), for a call."""
    kind = ConnectionType(connection.type)
    full = {**(connection.config or {}), **crypto.unseal(settings, connection.secrets)}
    return CONFIGS[kind].model_validate(full)


async def create(
    *, session: AsyncSession, settings: Settings, connection_in: ConnectionCreate, actor: Actor
) -> Connection:
    """Store a connection; secrets are encrypted, URLs checked against SSRF."""
    cfg = _validate(connection_in.type, connection_in.config)
    await _check_urls(settings, cfg)
    if await name_taken(session, Connection, connection_in.name):
        raise Conflict(f"a connection named {connection_in.name!r} exists")
    plain, secret = _split(connection_in.type, cfg)
    connection = Connection(
        type=connection_in.type.value,
        name=connection_in.name,
        config=plain,
        secrets=crypto.seal(settings, secret),
    )
    session.add(connection)
    await flush_unique(session, f"a connection named {connection_in.name!r} exists")
    await session.refresh(connection)
    await audit.record(
        session=session,
        actor=actor,
        action="connection.create",
        entity_type="connection",
        entity_id=connection.id,
        after=public(connection),
    )
    return connection


async def update(
    *,
    session: AsyncSession,
    settings: Settings,
    connection_id: UUID,
    connection_in: ConnectionUpdate,
    actor: Actor,
) -> Connection:
    """Rename or reconfigure; secret keys left out keep their stored values."""
    connection = await get(session=session, connection_id=connection_id)
    before = public(connection)
    kind = ConnectionType(connection.type)
    if connection_in.name is not None and connection_in.name != connection.name:
        if await name_taken(session, Connection, connection_in.name, connection.id):
            raise Conflict(f"a connection named {connection_in.name!r} exists")
        connection.name = connection_in.name
    if connection_in.config is not None:
        current = {**(connection.config or {}), **crypto.unseal(settings, connection.secrets)}
        cfg = _validate(kind, {**current, **connection_in.config})
        await _check_urls(settings, cfg)
        connection.config, secret = _split(kind, cfg)
        connection.secrets = crypto.seal(settings, secret)
    connection.updated_at = utcnow()
    session.add(connection)
    await flush_unique(session, "a connection with that name exists")
    await audit.record(
        session=session,
        actor=actor,
        action="connection.update",
        entity_type="connection",
        entity_id=connection.id,
        before=before,
        after=public(connection),
    )
    return connection


async def delete(*, session: AsyncSession, connection_id: UUID, actor: Actor) -> None:
    """Delete a connection."""
    connection = await get(session=session, connection_id=connection_id)
    await audit.record(
        session=session,
        actor=actor,
        action="connection.delete",
        entity_type="connection",
        entity_id=connection.id,
        before=public(connection),
    )
    await session.delete(connection)
    await session.flush()


async def test(
    *, session: AsyncSession, settings: Settings, connection_id: UUID, actor: Actor
) -> ConnectionTest:
    """Try a connection's credentials against its provider."""
    connection = await get(session=session, connection_id=connection_id)
    result = await providers.test_connection(settings, config_of(settings, connection))
    await audit.record(
        session=session,
        actor=actor,
        action="connection.test",
        entity_type="connection",
        entity_id=connection.id,
        after=result,
    )
    return result
