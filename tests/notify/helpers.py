"""Builders for notification tests: users with verified contact methods and rules."""

from __future__ import annotations

from app.db import SessionMaker
from app.identity.models import User
from app.notify.models import ContactMethod, ContactType, NotificationRule, Urgency
from tests.factories import make_user


async def reachable_user(
    sessionmaker: SessionMaker,
    *steps: tuple[str, str, float],
    verified: bool = True,
    timezone: str = "UTC",
) -> tuple[User, list[ContactMethod]]:
    """Create a user with a contact method and a high-urgency rule per (type, address, delay)."""
    async with sessionmaker() as session:
        user = await make_user(session, timezone=timezone)
        methods = []
        for type_, address, delay in steps:
            m = ContactMethod(
                user_id=user.id, type=ContactType(type_), address=address, verified=verified
            )
            session.add(m)
            await session.flush()
            session.add(
                NotificationRule(
                    user_id=user.id,
                    contact_method_id=m.id,
                    delay_seconds=delay,
                    urgency=Urgency.high,
                )
            )
            methods.append(m)
        await session.commit()
    return user, methods
