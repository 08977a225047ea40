"""Who a service's escalation policy would page at an instant, level by level."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.escalation.models import EscalationLevel, TargetType, levels_from_json
from app.identity.models import User
from app.oncall.current import who
from app.oncall.targets import resolve
from app.schedules.models import Schedule
from app.schedules.views import LevelOnCall, LevelUser, ServiceOnCall, TargetRef
from workflows.incident_types import Target


async def _level(
    session: AsyncSession, n: int, level: EscalationLevel, at: datetime
) -> LevelOnCall:
    users: dict[UUID, LevelUser] = {}
    warnings: list[str] = []

    def add(user: User, ref: TargetRef, start: datetime | None, end: datetime | None) -> None:
        if user.id in users:
            users[user.id].via.append(ref)
        else:
            users[user.id] = LevelUser(id=user.id, name=user.name, start=start, end=end, via=[ref])

    for t in level.targets:
        ref = TargetRef(type=t.type.value, id=t.id)
        if t.type == TargetType.schedule:
            schedule = await session.get(Schedule, t.id)
            if schedule is None:
                warnings.append(f"schedule {t.id} no longer exists")
                continue
            found = await who(session=session, schedule=schedule, at=at)
            warnings += found.warnings
            for user in found.users:
                add(user, ref, found.start, found.end)
        else:
            resolved = await resolve(
                session=session, targets=[Target(type=t.type.value, id=str(t.id))], at=at
            )
            warnings += resolved.unresolved
            for user in resolved.users:
                add(user, ref, None, None)
    return LevelOnCall(level=n, delay=level.delay, users=list(users.values()), warnings=warnings)


async def service_on_call(
    *, session: AsyncSession, service_id: UUID, at: datetime
) -> ServiceOnCall:
    """Return, for each level of the service's policy, whom it would page at `at`."""
    service = await catalog.get_service(session=session, service_id=service_id)
    policy = (await catalog.effective_policy(session=session, service=service)).policy
    levels = [
        await _level(session, n, level, at)
        for n, level in enumerate(levels_from_json(policy.levels), start=1)
    ]
    return ServiceOnCall(
        at=at,
        service_id=service.id,
        escalation_policy_id=policy.id,
        levels=levels,
        warnings=[f"level {lv.level} reaches nobody" for lv in levels if not lv.users],
    )
