"""On-call schedules: creating, changing and reading schedules and their layers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, Invalid, invalid, not_found
from app.identity.models import User
from app.schedules import overrides as override_ops
from app.schedules.convert import instant_of, layer_to_json, schedule_public, spec_of
from app.schedules.handoffs import InvalidRule, compile_rule
from app.schedules.localtime import zone
from app.schedules.models import (
    LayerIn,
    Schedule,
    ScheduleCreate,
    ScheduleOverride,
    SchedulePublic,
    ScheduleSwap,
    ScheduleUpdate,
)
from app.schedules.spec import ScheduleSpec


async def get_schedule(
    *, session: AsyncSession, schedule_id: UUID, for_update: bool = False
) -> Schedule:
    """Return the schedule or raise 404; `for_update` locks it until the transaction ends."""
    query = select(Schedule).where(col(Schedule.id) == schedule_id)
    schedule = await session.scalar(query.with_for_update() if for_update else query)
    if schedule is None:
        raise not_found("schedule", schedule_id)
    return schedule


async def list_schedules(
    *, session: AsyncSession, q: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[Schedule], int]:
    """Return a page of schedules ordered by name, and the total count."""
    query = select(Schedule)
    if q:
        query = query.where(func.lower(col(Schedule.name)).contains(q.lower(), autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(Schedule.name), col(Schedule.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def public(
    *, session: AsyncSession, schedule: Schedule, now: datetime | None = None
) -> SchedulePublic:
    """Return a schedule's public view with its overrides not yet ended, and its swaps."""
    now = now or utcnow()
    overrides = await session.scalars(
        select(ScheduleOverride)
        .where(col(ScheduleOverride.schedule_id) == schedule.id, col(ScheduleOverride.end_at) > now)
        .order_by(col(ScheduleOverride.start_at))
    )
    swaps = await session.scalars(
        select(ScheduleSwap)
        .where(col(ScheduleSwap.schedule_id) == schedule.id)
        .order_by(col(ScheduleSwap.start_at))
    )
    return schedule_public(schedule, list(overrides.all()), list(swaps.all()))


async def load_spec(
    *, session: AsyncSession, schedule: Schedule, since: datetime, until: datetime
) -> ScheduleSpec:
    """Return the schedule as the resolver's value, with the overrides that touch the range."""
    overrides = await session.scalars(
        select(ScheduleOverride).where(
            col(ScheduleOverride.schedule_id) == schedule.id,
            col(ScheduleOverride.start_at) < until,
            col(ScheduleOverride.end_at) > since,
        )
    )
    swaps = await session.scalars(
        select(ScheduleSwap).where(col(ScheduleSwap.schedule_id) == schedule.id)
    )
    return spec_of(schedule, list(overrides.all()), list(swaps.all()))


async def _check_layers(session: AsyncSession, layers: list[LayerIn], tz_name: str) -> None:
    """Refuse unknown users and hand-off rules that fail from the layer's real start."""
    errors: list[dict[str, Any]] = []
    wanted = {u for layer in layers for u in layer.users}
    found = set((await session.scalars(select(col(User.id)).where(col(User.id).in_(wanted)))).all())
    tz = zone(tz_name)
    for i, layer in enumerate(layers):
        for j, user_id in enumerate(layer.users):
            if user_id not in found:
                errors.append(
                    {"field": f"layers.{i}.users.{j}", "message": f"user {user_id} does not exist"}
                )
        try:
            instant_of(layer.start, tz, f"layers.{i}.start")
        except Invalid as exc:
            errors.extend(exc.errors or [])
        if layer.handoff_rrule:
            start = layer.start if layer.start.tzinfo is None else layer.start.astimezone(tz)
            try:
                compile_rule(layer.handoff_rrule, start.replace(tzinfo=None))
            except InvalidRule as exc:
                errors.append({"field": f"layers.{i}.handoff_rrule", "message": str(exc)})
    if errors:
        raise invalid(errors)


async def create_schedule(
    *, session: AsyncSession, schedule_in: ScheduleCreate, actor: Actor
) -> SchedulePublic:
    """Create a schedule with its layers (and overrides); a taken name is a 409."""
    await _check_layers(session, schedule_in.layers, schedule_in.timezone)
    if await name_taken(session, Schedule, schedule_in.name, None):
        raise Conflict(f"a schedule named {schedule_in.name!r} already exists")
    tz = zone(schedule_in.timezone)
    schedule = Schedule(
        name=schedule_in.name,
        description=schedule_in.description,
        timezone=schedule_in.timezone,
        layers=[layer_to_json(layer, tz) for layer in schedule_in.layers],
    )
    session.add(schedule)
    await flush_unique(session, "a schedule with this name already exists")
    await override_ops.add_overrides(
        session=session,
        schedule=schedule,
        items=schedule_in.overrides,
        actor=actor,
        field="overrides",
    )
    await session.refresh(schedule)
    after = await public(session=session, schedule=schedule)
    await audit.record(
        session=session,
        actor=actor,
        action="schedule.create",
        entity_type="schedule",
        entity_id=schedule.id,
        after=after,
    )
    return after


async def update_schedule(
    *, session: AsyncSession, schedule_id: UUID, schedule_in: ScheduleUpdate, actor: Actor
) -> SchedulePublic:
    """Change a schedule; `layers` replaces every layer, and swaps of dropped layers go."""
    schedule = await get_schedule(session=session, schedule_id=schedule_id, for_update=True)
    before = await public(session=session, schedule=schedule)
    changes = schedule_in.model_dump(exclude_unset=True)
    nulls = [f for f in ("name", "timezone", "layers") if f in changes and changes[f] is None]
    if nulls:
        raise invalid([{"field": f, "message": "cannot be null"} for f in nulls])
    tz_name = schedule_in.timezone or schedule.timezone
    if schedule_in.layers is not None:
        await _check_layers(session, schedule_in.layers, tz_name)
    if schedule_in.name is not None:
        if await name_taken(session, Schedule, schedule_in.name, schedule.id):
            raise Conflict(f"a schedule named {schedule_in.name!r} already exists")
        schedule.name = schedule_in.name
    if "description" in changes:
        schedule.description = schedule_in.description
    schedule.timezone = tz_name
    if schedule_in.layers is not None:
        schedule.layers = [layer_to_json(layer, zone(tz_name)) for layer in schedule_in.layers]
        kept = [UUID(row["id"]) for row in schedule.layers]
        await session.execute(
            delete(ScheduleSwap).where(
                col(ScheduleSwap.schedule_id) == schedule.id,
                col(ScheduleSwap.layer_id).not_in(kept),
            )
        )
    schedule.updated_at = utcnow()
    await flush_unique(session, "a schedule with this name already exists")
    after = await public(session=session, schedule=schedule)
    await audit.record(
        session=session,
        actor=actor,
        action="schedule.update",
        entity_type="schedule",
        entity_id=schedule.id,
        before=before,
        after=after,
    )
    return after


async def delete_schedule(*, session: AsyncSession, schedule_id: UUID, actor: Actor) -> None:
    """Delete a schedule with its overrides, swaps and feeds (`app.references` checks policies)."""
    schedule = await get_schedule(session=session, schedule_id=schedule_id, for_update=True)
    before = await public(session=session, schedule=schedule)
    await session.delete(schedule)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="schedule.delete",
        entity_type="schedule",
        entity_id=schedule_id,
        before=before,
    )
