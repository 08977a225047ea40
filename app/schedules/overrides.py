"""Overrides (someone covers a time range) and swaps (two users trade shifts of a layer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.errors import invalid, not_found
from app.identity.models import User
from app.schedules.convert import instant_of, override_public, spec_of, swap_public
from app.schedules.localtime import zone
from app.schedules.models import (
    OverrideIn,
    OverridePublic,
    Schedule,
    ScheduleOverride,
    ScheduleSwap,
    SwapIn,
    SwapPublic,
)
from app.schedules.rotation import rotation_shift


async def _locked(session: AsyncSession, schedule_id: UUID) -> Schedule:
    """Return the schedule locked, so that concurrent overrides are checked one at a time."""
    schedule = await session.scalar(
        select(Schedule).where(col(Schedule.id) == schedule_id).with_for_update()
    )
    if schedule is None:
        raise not_found("schedule", schedule_id)
    return schedule


async def _missing_users(session: AsyncSession, ids: set[UUID]) -> set[UUID]:
    found = set((await session.scalars(select(col(User.id)).where(col(User.id).in_(ids)))).all())
    return ids - found


async def add_overrides(
    *,
    session: AsyncSession,
    schedule: Schedule,
    items: Sequence[OverrideIn],
    actor: Actor,
    field: str = "",
) -> list[ScheduleOverride]:
    """Add overrides to a locked schedule; overlapping ones (stored or given) are a 422."""
    if not items:
        return []
    tz = zone(schedule.timezone)
    prefix = [f"{field}.{i}." if field else "" for i in range(len(items))]
    ranges = [
        (instant_of(o.start, tz, f"{p}start"), instant_of(o.end, tz, f"{p}end"))
        for o, p in zip(items, prefix, strict=True)
    ]
    errors: list[dict[str, Any]] = []
    missing = await _missing_users(session, {o.user_id for o in items})
    conflicts: list[str] = []
    for i, (o, (start, end)) in enumerate(zip(items, ranges, strict=True)):
        if o.user_id in missing:
            errors.append(
                {"field": f"{prefix[i]}user_id", "message": f"user {o.user_id} does not exist"}
            )
        if end <= start:
            errors.append({"field": f"{prefix[i]}end", "message": "end must be after start"})
            continue
        clash = await session.scalars(
            select(col(ScheduleOverride.id)).where(
                col(ScheduleOverride.schedule_id) == schedule.id,
                col(ScheduleOverride.start_at) < end,
                col(ScheduleOverride.end_at) > start,
            )
        )
        ids = [str(c) for c in clash.all()]
        ids += [f"{field}.{j}" for j, (s2, e2) in enumerate(ranges[:i]) if s2 < end and e2 > start]
        if ids:
            conflicts += ids
            errors.append(
                {
                    "field": f"{prefix[i]}start",
                    "message": "overlaps another override of this schedule: " + ", ".join(ids),
                }
            )
    if errors:
        raise invalid(errors) if not conflicts else _overlap(errors, conflicts)
    rows = [
        ScheduleOverride(
            schedule_id=schedule.id,
            user_id=o.user_id,
            start_at=start,
            end_at=end,
            created_by=actor.id if isinstance(actor.id, UUID) else None,
        )
        for o, (start, end) in zip(items, ranges, strict=True)
    ]
    session.add_all(rows)
    await session.flush()
    for row in rows:
        await audit.record(
            session=session,
            actor=actor,
            action="schedule_override.create",
            entity_type="schedule_override",
            entity_id=row.id,
            after={"schedule_id": str(schedule.id), **override_public(row).model_dump(mode="json")},
        )
    return rows


def _overlap(errors: list[dict[str, Any]], conflicts: list[str]) -> Exception:
    problem = invalid(errors)
    problem.extra["conflicts_with"] = conflicts
    return problem


async def create_override(
    *, session: AsyncSession, schedule_id: UUID, override_in: OverrideIn, actor: Actor
) -> OverridePublic:
    """Add one override; it may not overlap another override of the schedule."""
    schedule = await _locked(session, schedule_id)
    (row,) = await add_overrides(
        session=session, schedule=schedule, items=[override_in], actor=actor
    )
    return override_public(row)


async def get_override(
    *, session: AsyncSession, schedule_id: UUID, override_id: UUID
) -> ScheduleOverride:
    """Return an override of the schedule or raise 404."""
    row = await session.get(ScheduleOverride, override_id)
    if row is None or row.schedule_id != schedule_id:
        raise not_found("override", override_id)
    return row


async def list_overrides(
    *, session: AsyncSession, schedule_id: UUID, since: Any = None, until: Any = None
) -> list[ScheduleOverride]:
    """Return the schedule's overrides that touch [since, until), by start."""
    query = select(ScheduleOverride).where(col(ScheduleOverride.schedule_id) == schedule_id)
    if since is not None:
        query = query.where(col(ScheduleOverride.end_at) > since)
    if until is not None:
        query = query.where(col(ScheduleOverride.start_at) < until)
    return list((await session.scalars(query.order_by(col(ScheduleOverride.start_at)))).all())


async def delete_override(*, session: AsyncSession, row: ScheduleOverride, actor: Actor) -> None:
    """Delete an override."""
    before = {"schedule_id": str(row.schedule_id), **override_public(row).model_dump(mode="json")}
    await session.delete(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="schedule_override.delete",
        entity_type="schedule_override",
        entity_id=row.id,
        before=before,
    )


async def create_swap(
    *, session: AsyncSession, schedule_id: UUID, swap_in: SwapIn, actor: Actor
) -> SwapPublic:
    """Trade two shifts of a layer between two of its users; each shift may be traded once."""
    schedule = await _locked(session, schedule_id)
    tz = zone(schedule.timezone)
    starts = {
        "start": instant_of(swap_in.start, tz, "start"),
        "with_start": instant_of(swap_in.with_start, tz, "with_start"),
    }
    layer = next((row for row in schedule.layers if row["id"] == str(swap_in.layer_id)), None)
    if layer is None:
        raise invalid(
            [{"field": "layer_id", "message": f"layer {swap_in.layer_id} is not in the schedule"}]
        )
    errors: list[dict[str, Any]] = []
    people = {"user_id": swap_in.user_id, "with_user_id": swap_in.with_user_id}
    if swap_in.user_id == swap_in.with_user_id:
        errors.append({"field": "with_user_id", "message": "a swap needs two different users"})
    for field, user_id in people.items():
        if str(user_id) not in layer["users"]:
            errors.append(
                {"field": field, "message": f"user {user_id} is not in layer {layer['name']!r}"}
            )
    spec = spec_of(schedule)
    for (field, start), user_id in zip(starts.items(), people.values(), strict=True):
        shift = rotation_shift(spec, swap_in.layer_id, start)
        if shift is None or shift.user_id != user_id:
            errors.append(
                {
                    "field": field,
                    "message": f"no shift of user {user_id} in this layer starts at "
                    f"{start:%Y-%m-%dT%H:%M:%SZ}",
                }
            )
    taken = await session.scalars(
        select(col(ScheduleSwap.id)).where(
            col(ScheduleSwap.schedule_id) == schedule.id,
            col(ScheduleSwap.layer_id) == swap_in.layer_id,
            or_(
                col(ScheduleSwap.start_at).in_(list(starts.values())),
                col(ScheduleSwap.with_start_at).in_(list(starts.values())),
            ),
        )
    )
    already = [str(i) for i in taken.all()]
    if already:
        errors.append(
            {"field": "start", "message": "a shift is already traded by swap " + ", ".join(already)}
        )
    if errors:
        raise invalid(errors)
    row = ScheduleSwap(
        schedule_id=schedule.id,
        layer_id=swap_in.layer_id,
        user_id=swap_in.user_id,
        start_at=starts["start"],
        with_user_id=swap_in.with_user_id,
        with_start_at=starts["with_start"],
        created_by=actor.id if isinstance(actor.id, UUID) else None,
    )
    session.add(row)
    await session.flush()
    public = swap_public(row)
    await audit.record(
        session=session,
        actor=actor,
        action="schedule_swap.create",
        entity_type="schedule_swap",
        entity_id=row.id,
        after={"schedule_id": str(schedule.id), **public.model_dump(mode="json")},
    )
    return public


async def get_swap(*, session: AsyncSession, schedule_id: UUID, swap_id: UUID) -> ScheduleSwap:
    """Return a swap of the schedule or raise 404."""
    row = await session.get(ScheduleSwap, swap_id)
    if row is None or row.schedule_id != schedule_id:
        raise not_found("swap", swap_id)
    return row


async def list_swaps(*, session: AsyncSession, schedule_id: UUID) -> list[ScheduleSwap]:
    """Return the schedule's swaps, by start."""
    rows = await session.scalars(
        select(ScheduleSwap)
        .where(col(ScheduleSwap.schedule_id) == schedule_id)
        .order_by(col(ScheduleSwap.start_at))
    )
    return list(rows.all())


async def delete_swap(*, session: AsyncSession, row: ScheduleSwap, actor: Actor) -> None:
    """Undo a swap."""
    before = {"schedule_id": str(row.schedule_id), **swap_public(row).model_dump(mode="json")}
    await session.delete(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="schedule_swap.delete",
        entity_type="schedule_swap",
        entity_id=row.id,
        before=before,
    )
