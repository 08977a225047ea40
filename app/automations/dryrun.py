"""Dry run: which automations an incident would set off, and what each template renders to.

Nothing is sent and nothing is written. The matching is the incident workflow's own pure
function (`workflows.automation_rules`), so the answer is what a run would do.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.automations import context, service, templating
from app.automations.definition import Definition, parse
from app.config import Settings
from app.errors import invalid
from app.incidents import service as incidents
from workflows import automation_rules
from workflows.automation_types import ConditionSpec


def _uuid(value: Any, field: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise invalid([{"field": field, "message": "must be a UUID"}]) from None


def _verdict(
    name: str, automation_id: str | None, definition: Definition, ctx: dict[str, Any], facts: Any
) -> dict[str, Any]:
    conditions = [
        {
            "field": c.field,
            "op": c.op,
            "value": c.value,
            "holds": automation_rules.check(
                ConditionSpec(field=c.field, op=c.op, value=c.value), facts
            ),
        }
        for c in definition.conditions
    ]
    render_ctx = {
        "incident": ctx,
        "automation": {"id": automation_id, "name": name, "version": None},
        "run": {"id": "dry-run", "event": definition.trigger.event},
    }
    return {
        "automation_id": automation_id,
        "name": name,
        "event": definition.trigger.event,
        "would_fire": all(c["holds"] for c in conditions),
        "conditions": conditions,
        "steps": templating.render_all(definition, render_ctx),
    }


async def dry_run(
    *, session: AsyncSession, settings: Settings, body: dict[str, Any]
) -> dict[str, Any]:
    """Answer `{incident_id, automation_id? | definition?}`: every enabled automation when
    neither is given. `would_fire` says whether the conditions hold now (the trigger event
    itself is not simulated)."""
    if not isinstance(body, dict) or "incident_id" not in body:
        raise invalid([{"field": "incident_id", "message": "required"}])
    unknown = set(body) - {"incident_id", "automation_id", "definition"}
    if unknown:
        raise invalid([{"field": sorted(unknown)[0], "message": "unknown field"}])
    incident = await incidents.get(
        session=session, incident_id=_uuid(body["incident_id"], "incident_id")
    )
    ctx, facts = await context.load(session, settings, incident)
    results = []
    if body.get("definition") is not None:
        raw = body["definition"]
        if not isinstance(raw, dict):
            raise invalid([{"field": "definition", "message": "must be an object"}])
        raw = {k: v for k, v in raw.items() if k not in ("name", "enabled")}
        definition = parse(raw, prefix="definition.")
        results.append(_verdict("draft", None, definition, ctx, facts))
    elif body.get("automation_id") is not None:
        a = await service.get(
            session=session, automation_id=_uuid(body["automation_id"], "automation_id")
        )
        results.append(
            _verdict(a.name, str(a.id), Definition.model_validate(a.definition), ctx, facts)
        )
    else:
        for a in await service.list_automations(session=session):
            if a.enabled:
                definition = Definition.model_validate(a.definition)
                results.append(_verdict(a.name, str(a.id), definition, ctx, facts))
    return {"incident_id": str(incident.id), "automations": results}
