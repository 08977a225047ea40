"""How a paged user is reached, and what comes back: plans, delivery reports, replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.incidents.models import Incident, Notification
from app.notify.models import ActionLinkUse, ContactMethod, ContactType, NotificationRule


async def incident_by_number(*, session: AsyncSession, number: int) -> Incident | None:
    """Return the incident with this number, or None."""
    return await session.scalar(select(Incident).where(col(Incident.number) == number))


async def users_by_phone(*, session: AsyncSession, number: str) -> list[UUID]:
    """Return the users with a verified SMS or voice contact method of this number."""
    rows = await session.scalars(
        select(col(ContactMethod.user_id))
        .where(
            col(ContactMethod.address) == number,
            col(ContactMethod.verified).is_(True),
            col(ContactMethod.type).in_([ContactType.sms.value, ContactType.voice.value]),
        )
        .distinct()
    )
    return list(rows.all())


# --- paging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    channel: str
    contact_method_id: str
    delay_seconds: float


async def plans(
    *, session: AsyncSession, user_ids: list[UUID], urgency: str
) -> dict[UUID, list[PlannedStep]]:
    """Return how to reach each paged user: their rules for `urgency` on verified methods.

    A user with verified methods but no rule for this urgency is sent to every verified
    method at once (better loud than silent). An empty plan means nobody can be reached.
    Two queries however many users a level pages.
    """
    if not user_ids:
        return {}
    methods: dict[UUID, dict[UUID, ContactMethod]] = {u: {} for u in user_ids}
    for m in await session.scalars(
        select(ContactMethod)
        .where(col(ContactMethod.user_id).in_(user_ids), col(ContactMethod.verified).is_(True))
        .order_by(col(ContactMethod.created_at), col(ContactMethod.id))
    ):
        methods[m.user_id][m.id] = m
    steps: dict[UUID, list[PlannedStep]] = {u: [] for u in user_ids}
    reachable = [u for u in user_ids if methods[u]]
    if reachable:
        for r in await session.scalars(
            select(NotificationRule)
            .where(
                col(NotificationRule.user_id).in_(reachable),
                col(NotificationRule.urgency) == urgency,
            )
            .order_by(col(NotificationRule.delay_seconds), col(NotificationRule.created_at))
        ):
            method = methods[r.user_id].get(r.contact_method_id)
            if method is not None:
                steps[r.user_id].append(
                    PlannedStep(str(method.type), str(method.id), r.delay_seconds)
                )
    for u in reachable:
        if not steps[u]:
            steps[u] = [PlannedStep(str(m.type), str(m.id), 0) for m in methods[u].values()]
    return steps


# --- delivery log and links --------------------------------------------------------------------

_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2}


async def record_provider_status(
    *, session: AsyncSession, provider_id: str, status: str, error: str | None, at: datetime
) -> bool:
    """Apply a provider's delivery report to its delivery-log row; False when unknown.

    Reports arrive out of order: a row only moves forward (queued → sent → delivered/failed).
    """
    row = await session.scalar(
        select(Notification).where(col(Notification.provider_id) == provider_id).with_for_update()
    )
    if row is None:
        return False
    if _RANK.get(status, -1) <= _RANK.get(row.status, 0):
        return True
    values: dict[str, object] = {"status": status}
    if status == "delivered":
        values["delivered_at"] = at
    if status in ("sent", "delivered") and row.sent_at is None:
        values["sent_at"] = at
    if error:
        values["error"] = error
    await session.execute(
        update(Notification).where(col(Notification.id) == row.id).values(**values)
    )
    return True


async def use_link(
    *, session: AsyncSession, jti: str, incident_id: UUID, user_id: UUID, action: str
) -> bool:
    """Mark a link used; False if it had been used before."""
    stmt = (
        insert(ActionLinkUse)
        .values(jti=jti, incident_id=incident_id, user_id=user_id, action=action)
        .on_conflict_do_nothing(index_elements=["jti"])
        .returning(col(ActionLinkUse.jti))
    )
    return await session.scalar(stmt) is not None
