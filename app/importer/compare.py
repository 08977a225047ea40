"""Compare who PageFree pages with who PagerDuty has on call, per imported service and level."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.catalog.models import Service
from app.identity.models import User
from app.importer.models import ImportMapping
from app.importer.service import SOURCE
from app.importer.source import PD
from app.oncall import policy as policy_oncall


@dataclass(frozen=True)
class LevelComparison:
    service: str
    level: int
    pagerduty: list[str]  # names (PageFree's, for imported users), sorted
    pagefree: list[str]

    @property
    def same(self) -> bool:
        return self.pagerduty == self.pagefree


async def _mapping(session: AsyncSession, kind: str) -> dict[str, UUID]:
    rows = await session.execute(
        select(col(ImportMapping.external_id), col(ImportMapping.local_id)).where(
            col(ImportMapping.source) == SOURCE, col(ImportMapping.kind) == kind
        )
    )
    return {ext: local for ext, local in rows.all()}


async def imported_policies(session: AsyncSession) -> dict[str, UUID]:
    """Return PagerDuty escalation policy id → PageFree policy id of imported policies."""
    return await _mapping(session, "escalation_policy")


async def compare(
    *, session: AsyncSession, oncalls: list[PD], at: datetime
) -> list[LevelComparison]:
    """Return, for every imported service and each level, PagerDuty's and PageFree's people."""
    users = await _mapping(session, "user")
    names = {u.id: u.name for u in await session.scalars(select(User))}
    policy_of = {local: ext for ext, local in (await imported_policies(session)).items()}
    theirs: dict[tuple[str, int], set[str]] = defaultdict(set)
    for o in oncalls:
        who = o["user"]["id"]
        shown = (
            names.get(users[who], who)
            if who in users
            else f"{o['user'].get('summary', who)} (not imported)"
        )
        theirs[(o["escalation_policy"]["id"], int(o["escalation_level"]))].add(shown)
    out: list[LevelComparison] = []
    for service_id in (await _mapping(session, "service")).values():
        service = await session.get(Service, service_id)
        if service is None or service.escalation_policy_id not in policy_of:
            continue
        ours = await policy_oncall.service_on_call(session=session, service_id=service_id, at=at)
        pd_policy = policy_of[service.escalation_policy_id]
        depth = max([lv.level for lv in ours.levels] + [lv for (p, lv) in theirs if p == pd_policy])
        by_level = {lv.level: sorted(u.name for u in lv.users) for lv in ours.levels}
        for n in range(1, depth + 1):
            out.append(
                LevelComparison(
                    service.name, n, sorted(theirs.get((pd_policy, n), set())), by_level.get(n, [])
                )
            )
    return sorted(out, key=lambda c: (c.service, c.level))
