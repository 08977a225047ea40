"""Automations: admin CRUD with versioned definitions, checked templates and SSRF-checked URLs."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.automations import library, templating
from app.automations.definition import Definition, IfStep, WebhookStep, parse, walk
from app.automations.models import Automation, AutomationPublic, AutomationVersion
from app.config import Settings
from app.connections.models import Connection
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, Invalid, NotFound, invalid
from app.netguard import check_url
from workflows.automation_types import AutomationTrigger, ConditionSpec

TOP_FIELDS = frozenset({"name", "enabled"})


def public(a: Automation) -> AutomationPublic:
    """Return the API view of an automation (its current version)."""
    d = a.definition or {}
    return AutomationPublic(
        id=a.id,
        name=a.name,
        enabled=a.enabled,
        version=a.version,
        trigger=d.get("trigger", {}),
        conditions=d.get("conditions", []),
        steps=d.get("steps", []),
        run_once_per_incident=d.get("run_once_per_incident", True),
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 200:
        raise invalid([{"field": "name", "message": "a name of 1 to 200 characters is required"}])
    return value.strip()


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid([{"field": "enabled", "message": "must be true or false"}])
    return value


def _conditions_problems(conditions: list[Any], prefix: str) -> list[dict[str, str]]:
    problems = []
    for i, c in enumerate(conditions):
        field = f"{prefix}[{i}].value"
        if c.op in ("in", "not_in") and not isinstance(c.value, list):
            problems.append({"field": field, "message": f"{c.op} needs a list"})
        if c.op == "matches":
            try:
                re.compile(str(c.value))
            except re.error as exc:
                problems.append({"field": field, "message": f"not a regular expression: {exc}"})
        if c.op not in ("in", "not_in") and isinstance(c.value, list | dict):
            problems.append({"field": field, "message": f"{c.op} needs a single value"})
    return problems


async def check(*, session: AsyncSession, settings: Settings, definition: Definition) -> None:
    """Check what the schema cannot: trigger/after, condition values, templates, URLs, ids."""
    problems: list[dict[str, str]] = []
    unack = definition.trigger.event == "incident.unacknowledged"
    if unack and definition.trigger.after is None:
        problems.append({"field": "trigger.after", "message": "required for this event"})
    if not unack and definition.trigger.after is not None:
        problems.append({"field": "trigger.after", "message": "only for incident.unacknowledged"})
    problems += _conditions_problems(definition.conditions, "conditions")
    for path, step in walk(definition.steps):
        if isinstance(step, IfStep):
            problems += _conditions_problems(step.conditions, f"{path}.conditions")
        connection_id = getattr(step, "connection_id", None)
        if isinstance(step, WebhookStep) and step.auth is not None:
            connection_id = step.auth.connection_id
        if connection_id is not None:
            field = (
                f"{path}.auth.connection_id"
                if isinstance(step, WebhookStep)
                else (f"{path}.connection_id")
            )
            if not await _connection_exists(session, connection_id):
                problems.append({"field": field, "message": "no such connection"})
    if problems:
        raise invalid(problems)
    templating.validate(definition)
    for path, step in walk(definition.steps):
        if isinstance(step, WebhookStep):
            schemes = ("https", "http") if settings.allow_private_targets else ("https",)
            await check_url(
                step.url,
                field=f"{path}.url",
                schemes=schemes,
                allow_private=settings.allow_private_targets,
            )


async def _connection_exists(session: AsyncSession, connection_id: str) -> bool:
    try:
        uid = UUID(connection_id)
    except ValueError:
        return False
    return await session.get(Connection, uid) is not None


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    top = {k: v for k, v in body.items() if k in TOP_FIELDS}
    rest = {k: v for k, v in body.items() if k not in TOP_FIELDS}
    return top, rest


async def get(*, session: AsyncSession, automation_id: UUID) -> Automation:
    """Return an automation or raise NotFound."""
    found = await session.get(Automation, automation_id)
    if found is None:
        raise NotFound(f"automation {automation_id} does not exist")
    return found


async def list_automations(*, session: AsyncSession) -> list[Automation]:
    """Return every automation by name."""
    return list((await session.scalars(select(Automation).order_by(col(Automation.name)))).all())


async def get_version(*, session: AsyncSession, automation_id: UUID, version: int) -> Definition:
    """Return the definition of one version (immutable)."""
    row = await session.get(AutomationVersion, (automation_id, version))
    if row is None:
        raise NotFound(f"automation {automation_id} has no version {version}")
    return Definition.model_validate(row.definition)


async def _snapshot(session: AsyncSession, a: Automation, actor: Actor) -> None:
    session.add(
        AutomationVersion(
            automation_id=a.id,
            version=a.version,
            name=a.name,
            definition=a.definition,
            created_by=None if actor.id is None else str(actor.id),
        )
    )


async def create(
    *, session: AsyncSession, settings: Settings, body: dict[str, Any], actor: Actor
) -> Automation:
    """Create an automation (or one from a library template with overrides), version 1."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    if "template" in body:
        key = body.pop("template")
        body = library.from_template(str(key), body)
    top, rest = _split(body)
    name = _name(top.get("name"))
    enabled = _enabled(top.get("enabled", True))
    definition = parse(rest)
    await check(session=session, settings=settings, definition=definition)
    if await name_taken(session, Automation, name):
        raise Conflict(f"an automation named {name!r} exists")
    a = Automation(
        name=name,
        enabled=enabled,
        version=1,
        definition=definition.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
    session.add(a)
    await flush_unique(session, f"an automation named {name!r} exists")
    await _snapshot(session, a, actor)
    await session.refresh(a)
    await audit.record(
        session=session,
        actor=actor,
        action="automation.create",
        entity_type="automation",
        entity_id=a.id,
        after=public(a),
    )
    return a


async def update(
    *,
    session: AsyncSession,
    settings: Settings,
    automation_id: UUID,
    body: dict[str, Any],
    actor: Actor,
) -> Automation:
    """Change an automation; a change of what it does makes a new version (runs keep theirs)."""
    a = await get(session=session, automation_id=automation_id)
    before = public(a)
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    top, rest = _split(body)
    if "name" in top:
        name = _name(top["name"])
        if await name_taken(session, Automation, name, a.id):
            raise Conflict(f"an automation named {name!r} exists")
        a.name = name
    if "enabled" in top:
        a.enabled = _enabled(top["enabled"])
    if rest:
        definition = parse({**(a.definition or {}), **rest})
        await check(session=session, settings=settings, definition=definition)
        dumped = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
        if dumped != a.definition:
            a.definition = dumped
            a.version += 1
            await _snapshot(session, a, actor)
    a.updated_at = utcnow()
    session.add(a)
    await flush_unique(session, "an automation with that name exists")
    await audit.record(
        session=session,
        actor=actor,
        action="automation.update",
        entity_type="automation",
        entity_id=a.id,
        before=before,
        after=public(a),
    )
    return a


async def delete(*, session: AsyncSession, automation_id: UUID, actor: Actor) -> None:
    """Delete an automation; runs already started keep their pinned version's record."""
    a = await get(session=session, automation_id=automation_id)
    await audit.record(
        session=session,
        actor=actor,
        action="automation.delete",
        entity_type="automation",
        entity_id=a.id,
        before=public(a),
    )
    await session.delete(a)
    await session.flush()


def trigger_of(a: Automation) -> AutomationTrigger:
    """Return what the incident workflow needs to match an automation (small; no texts)."""
    d = Definition.model_validate(a.definition)
    return AutomationTrigger(
        automation_id=str(a.id),
        version=a.version,
        name=a.name,
        event=d.trigger.event,
        after_seconds=d.trigger.after.total_seconds() if d.trigger.after else None,
        conditions=[ConditionSpec(field=c.field, op=c.op, value=c.value) for c in d.conditions],
        run_once_per_incident=d.run_once_per_incident,
    )


async def enabled_triggers(*, session: AsyncSession) -> list[AutomationTrigger]:
    """Return the enabled automations' triggers (the incident's open activity asks once)."""
    rows = await session.scalars(
        select(Automation).where(col(Automation.enabled)).order_by(col(Automation.name))
    )
    return [trigger_of(a) for a in rows.all()]
