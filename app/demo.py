"""Demo data for `pagefree dev --demo`: a small organisation to click through."""

from __future__ import annotations

from app.audit.models import Actor
from app.db import make_engine, make_sessionmaker
from app.demo_catalog import seed_catalog
from app.identity import service as identity
from app.identity.models import ApiTokenCreate, Role, TeamCreate, TeamMemberIn, TeamRole, UserCreate

DEMO_PASSWORD = "pagefree-demo"  # noqa: S105 - documented demo credential
DEMO_ADMIN = "alice@example.com"

_USERS = [
    ("Alice Admin", DEMO_ADMIN, "Europe/London", Role.admin),
    ("Bob Responder", "bob@example.com", "America/New_York", Role.responder),
    ("Carol Responder", "carol@example.com", "Asia/Kolkata", Role.responder),
    ("Dave Observer", "dave@example.com", "Australia/Sydney", Role.observer),
]


async def seed(url: str) -> list[str]:
    """Create the demo organisation once; return lines to show the user."""
    engine = make_engine(url, pool_size=1)
    actor = Actor.system(via="demo")
    try:
        async with make_sessionmaker(engine)() as session:
            if await identity.get_user_by_email(session=session, email=DEMO_ADMIN):
                return [f"demo data present (log in as {DEMO_ADMIN} / {DEMO_PASSWORD})"]
            users = []
            for name, email, tz, role in _USERS:
                user_in = UserCreate(
                    name=name, email=email, timezone=tz, role=role, password=DEMO_PASSWORD
                )
                users.append(
                    await identity.create_user(session=session, user_in=user_in, actor=actor)
                )
            await identity.create_team(
                session=session,
                team_in=TeamCreate(
                    name="Platform",
                    description="Runs the shared infrastructure",
                    members=[TeamMemberIn(user_id=users[0].id, role=TeamRole.manager)]
                    + [TeamMemberIn(user_id=u.id) for u in users[1:3]],
                ),
                actor=actor,
            )
            lines = await seed_catalog(session=session, users=users, actor=actor)
            token = await identity.create_token(
                session=session,
                user_id=users[0].id,
                token_in=ApiTokenCreate(name="demo"),
                actor=actor,
            )
            await session.commit()
    finally:
        await engine.dispose()
    return [
        "demo data created:",
        f"  users: {', '.join(email for _, email, _, _ in _USERS)}",
        "  team: Platform",
        *lines,
        f"  admin API token for {DEMO_ADMIN} (shown once): {token.token}",
    ]
