"""Create the first admin from the command line."""

from __future__ import annotations

from pydantic import ValidationError

from app.audit.models import Actor
from app.db import check_migrated, make_engine, make_sessionmaker
from app.identity import service
from app.identity.models import ApiTokenCreate, Role, UserCreate


async def create_admin(url: str, *, email: str, name: str | None, password: str | None) -> str:
    """Create an admin user (or promote an existing one) and return a new API token."""
    engine = make_engine(url, pool_size=1)
    try:
        await check_migrated(engine)
        actor = Actor.system(via="cli")
        async with make_sessionmaker(engine)() as session:
            user = await service.get_user_by_email(session=session, email=email)
            if user is not None:
                raise ValueError(f"a user with email {email} already exists")
            try:
                user_in = UserCreate(
                    name=name or email.split("@")[0],
                    email=email,
                    role=Role.admin,
                    password=password,
                )
            except ValidationError as exc:
                raise ValueError("; ".join(e["msg"] for e in exc.errors())) from exc
            user = await service.create_user(session=session, user_in=user_in, actor=actor)
            # The operator's first admin with a password is the break-glass account: it still
            # signs in with its password once single sign-on is configured.
            user.break_glass = password is not None
            created = await service.create_token(
                session=session, user_id=user.id, token_in=ApiTokenCreate(name="cli"), actor=actor
            )
            await session.commit()
            return created.token
    finally:
        await engine.dispose()
