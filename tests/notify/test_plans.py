"""How each paged user of a level is reached: planned for all of them in two queries."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.notify import delivery
from app.notify.delivery import PlannedStep
from app.notify.models import ContactMethod, ContactType, NotificationRule, Urgency
from tests.factories import make_user


async def _method(
    session: AsyncSession, user_id: UUID, kind: ContactType, *, verified: bool = True
) -> ContactMethod:
    method = ContactMethod(user_id=user_id, type=kind, address=f"{kind}-addr", verified=verified)
    session.add(method)
    await session.flush()
    return method


async def test_each_user_gets_their_own_plan_in_one_call(session: AsyncSession) -> None:
    ruled, unruled, unreachable = [await make_user(session) for _ in range(3)]
    sms = await _method(session, ruled.id, ContactType.sms)
    email = await _method(session, ruled.id, ContactType.email)
    hidden = await _method(session, ruled.id, ContactType.voice, verified=False)
    session.add_all(
        [
            NotificationRule(user_id=ruled.id, contact_method_id=sms.id, delay_seconds=120,
                             urgency=Urgency.high),
            NotificationRule(user_id=ruled.id, contact_method_id=email.id, delay_seconds=0,
                             urgency=Urgency.high),
            # Not for this urgency; and one on a method that is not verified.
            NotificationRule(user_id=ruled.id, contact_method_id=sms.id, delay_seconds=5,
                             urgency=Urgency.low),
            NotificationRule(user_id=ruled.id, contact_method_id=hidden.id, delay_seconds=60,
                             urgency=Urgency.high),
        ]
    )  # fmt: skip
    push = await _method(session, unruled.id, ContactType.push)
    await session.commit()  # a later transaction: a later created_at
    mail = await _method(session, unruled.id, ContactType.email)
    await _method(session, unreachable.id, ContactType.sms, verified=False)
    await session.commit()

    plans = await delivery.plans(
        session=session, user_ids=[ruled.id, unruled.id, unreachable.id], urgency="high"
    )

    assert plans == {
        ruled.id: [PlannedStep("email", str(email.id), 0), PlannedStep("sms", str(sms.id), 120)],
        # Verified methods but no rule for this urgency: every method at once, oldest first.
        unruled.id: [PlannedStep("push", str(push.id), 0), PlannedStep("email", str(mail.id), 0)],
        unreachable.id: [],
    }
    assert await delivery.plans(session=session, user_ids=[], urgency="high") == {}
