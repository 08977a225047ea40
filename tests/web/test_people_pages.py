"""People over HTTP: invitations (single-use set-password links), deactivating users."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.audit.models import Actor, AuditEvent
from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity import service as identity
from app.identity.models import Role, TeamCreate, TeamMemberIn, User
from app.schedules import service as schedules
from app.schedules.models import LayerIn, OverrideIn, Schedule, ScheduleCreate
from app.web.models import UserInvite, WebSession
from tests.factories import login
from tests.local_redis import REDIS_URL, drop_keys, needs_redis
from tests.notify.conftest import FROM_EMAIL, aws, moto_server, ses_sent  # noqa: F401
from tests.web.conftest import PASSWORD, _client, browser_for, sign_in

SYSTEM = Actor.system(via="test")
_LINK = re.compile(r'id="invite-link" readonly value="http://[^/]+(/invite/[^"]+)"')


async def _actions(sessionmaker: SessionMaker, entity_id: object) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.id)  # type: ignore[arg-type]
        )
        return [e.action for e in rows.all()]


async def test_an_invited_user_sets_a_password_once_and_signs_in(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/users")
    invited = await admin.post(
        "/users/invite",
        {"name": "Nia New", "email": "Nia@Example.com", "role": "responder", "timezone": "UTC"},
    )
    assert invited.status_code == 200, invited.text
    found = _LINK.search(invited.text)
    assert found, invited.text
    path = found.group(1)
    token = path.removeprefix("/invite/")
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    async with sessionmaker() as session:
        row = await session.scalar(select(UserInvite))
        assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.expires_at - utcnow() > timedelta(hours=71)
        user = await session.scalar(select(User).where(User.email == "nia@example.com"))
        assert user is not None and user.password_hash is None

    async with _client(web_app) as newcomer:
        shown = await newcomer.get(path)
        assert shown.status_code == 200 and "nia@example.com" in shown.text
        assert shown.headers["cache-control"] == "no-store"
        again = await newcomer.get(path)  # looking at the page does not use the link
        assert again.status_code == 200
        differ = await newcomer.post(path, data={"password": "a" * 12, "password_again": "b" * 12})
        assert differ.status_code == 422 and 'aria-invalid="true"' in differ.text
        short = await newcomer.post(path, data={"password": "short", "password_again": "short"})
        assert short.status_code == 422 and "12 characters" in short.text
        done = await newcomer.post(path, data={"password": PASSWORD, "password_again": PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "/login?done=password-set"
        used = await newcomer.post(path, data={"password": PASSWORD, "password_again": PASSWORD})
        assert used.status_code == 404 and "expired or was already used" in used.text
        assert (await newcomer.get(path)).status_code == 404
        signed_in = await sign_in(newcomer, "nia@example.com")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert await _actions(sessionmaker, user.id) == [
        "user.create",
        "user.invite",
        "user.update",
        "web_session.create",
    ]


async def test_an_expired_link_and_a_replaced_link_do_not_work(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/users")
    first = await admin.post("/users/invite", {"name": "Ex", "email": "ex@example.com"})
    old = _LINK.search(first.text).group(1)  # type: ignore[union-attr]
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == "ex@example.com"))
        assert user is not None
    second = await admin.post(f"/users/{user.id}/invite")
    new = _LINK.search(second.text).group(1)  # type: ignore[union-attr]
    async with _client(web_app) as newcomer:
        assert (await newcomer.get(old)).status_code == 404
        assert (await newcomer.get(new)).status_code == 200
        async with sessionmaker() as session:
            await session.execute(
                update(UserInvite).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        assert (await newcomer.get(new)).status_code == 404
        expired = await newcomer.post(new, data={"password": PASSWORD, "password_again": PASSWORD})
        assert expired.status_code == 404


async def test_bad_invitations_show_field_errors_and_keep_what_was_typed(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/users")
    bad = await admin.post(
        "/users/invite", {"name": "Typed Name", "email": "not-an-address", "timezone": "Nowhere/X"}
    )
    assert bad.status_code == 422
    assert (
        'value="Typed Name"' in bad.text
        and 'value="not-an-address" aria-invalid="true"' in bad.text
    )
    assert 'value="Nowhere/X" aria-invalid="true"' in bad.text
    taken = await admin.post("/users/invite", {"name": "Dup", "email": admin.user.email})
    assert taken.status_code == 409 and 'id="inv-err-email"' in taken.text
    responder = await browser_for(web_app, sessionmaker)
    await responder.get("/users")
    assert (
        await responder.post("/users/invite", {"name": "x", "email": "x@example.com"})
    ).status_code == 403


async def _rotation(sessionmaker: SessionMaker, name: str, users: list[User]) -> Schedule:
    async with sessionmaker() as session:
        created = await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name=name,
                timezone="UTC",
                layers=[
                    LayerIn(
                        name="daily",
                        start=datetime(2026, 1, 5, 9),
                        rotation_length=timedelta(days=1),
                        users=[u.id for u in users],
                    ),
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()
        row = await session.get(Schedule, created.id)
        assert row is not None
        return row


async def test_deactivating_ends_sessions_and_tokens_and_takes_them_out_of_schedules(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    leaving = await browser_for(web_app, sessionmaker, name="Lee Leaving")
    staying = await login(sessionmaker)
    sched = await _rotation(sessionmaker, "Days", [leaving.user, staying.user])
    async with sessionmaker() as session:
        team = await identity.create_team(
            session=session,
            team_in=TeamCreate(
                name="Ops",
                members=[
                    TeamMemberIn(user_id=leaving.user.id),
                    TeamMemberIn(user_id=staying.user.id),
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()
    async with sessionmaker() as session:
        from app.schedules import overrides as override_ops

        await override_ops.create_override(
            session=session,
            schedule_id=sched.id,
            override_in=OverrideIn(
                user_id=leaving.user.id,
                start=utcnow() + timedelta(days=1),
                end=utcnow() + timedelta(days=2),
            ),
            actor=SYSTEM,
        )
        await session.commit()

    confirm = await admin.get(f"/users/{leaving.user.id}/deactivate")
    assert confirm.status_code == 200
    assert "Days" in confirm.text and "taken out of its rotation" in confirm.text
    assert "No new gaps in the next 14 days." in confirm.text  # the other one covers every day
    assert "1 upcoming override of theirs will be removed" in confirm.text
    assert "They leave the team Ops" in confirm.text
    done = await admin.post(f"/users/{leaving.user.id}/deactivate")
    assert done.status_code == 303 and done.headers["location"] == "/users?done=deactivated"

    assert (await leaving.get("/")).status_code == 303  # signed out
    async with sessionmaker() as session:
        assert (
            await session.scalars(select(WebSession).where(WebSession.user_id == leaving.user.id))
        ).all() == []
        row = await session.get(Schedule, sched.id)
        assert row is not None and row.layers[0]["users"] == [str(staying.user.id)]
        user = await session.get(User, leaving.user.id)
        assert user is not None and user.deactivated_at is not None
        assert await identity.team_member_ids(session=session, team_id=team.id) == [staying.user.id]
    again = await sign_in(_client(web_app), leaving.user.email)
    assert again.status_code == 403 and "deactivated" in again.text
    actions = await _actions(sessionmaker, leaving.user.id)
    assert actions[-1] == "user.deactivate"
    assert "schedule.update" in await _actions(sessionmaker, sched.id)
    users_page = await admin.get("/users")
    assert "deactivated</span>" in users_page.text


async def test_deactivating_revokes_api_tokens_and_warns_of_gaps(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    leaving = await login(sessionmaker, name="Tia Token")
    other = await login(sessionmaker)
    await _rotation(sessionmaker, "Alone", [leaving.user])
    sched = await _rotation(sessionmaker, "Pair", [leaving.user, other.user])
    auth = {"Authorization": f"Bearer {leaving.token}"}
    assert (await admin.client.get("/api/v1/oncall", headers=auth)).status_code == 200
    refused = await admin.post(f"/users/{leaving.user.id}/deactivate")
    assert refused.status_code == 409 and "only person of the schedules Alone" in refused.text

    async with sessionmaker() as session:
        alone = await session.scalar(select(Schedule).where(Schedule.name == "Alone"))
        await session.delete(alone)
        # A layer of its own for Tia: taking her out empties it, and nobody covers its hours.
        row = await session.get(Schedule, sched.id)
        assert row is not None
        row.layers = [
            {
                **row.layers[0],
                "users": [str(other.user.id)],
                "restrictions": [
                    {
                        "type": "daily",
                        "start_time": "09:00",
                        "duration_seconds": 8 * 3600,
                        "start_day": None,
                    }
                ],
            },
            {
                **row.layers[0],
                "id": "5b1f6b9e-8f55-4d0a-9d37-3d43a1d0c001",
                "name": "nights",
                "users": [str(leaving.user.id)],
            },
        ]
        await session.commit()
    confirm = await admin.get(f"/users/{leaving.user.id}/deactivate")
    assert "layers left empty and removed: nights" in confirm.text
    assert "gaps in the next 14 days: nobody is paged then" in confirm.text
    assert 'class="small gaps"' in confirm.text
    assert (await admin.post(f"/users/{leaving.user.id}/deactivate")).status_code == 303
    assert (await admin.client.get("/api/v1/oncall", headers=auth)).status_code == 401
    assert (
        await admin.client.get("/api/v1/oncall", headers={"Authorization": f"Bearer {other.token}"})
    ).status_code == 200
    back = await admin.post(f"/users/{leaving.user.id}/reactivate")
    assert back.status_code == 303
    assert (await _actions(sessionmaker, leaving.user.id))[-1] == "user.reactivate"


async def test_admins_cannot_deactivate_themselves_and_responders_not_at_all(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/users")
    assert (await admin.post(f"/users/{admin.user.id}/deactivate")).status_code == 409
    responder = await browser_for(web_app, sessionmaker)
    await responder.get("/users")
    assert (await responder.post(f"/users/{admin.user.id}/deactivate")).status_code == 403
    assert (await responder.get(f"/users/{admin.user.id}/deactivate")).status_code == 403


async def test_with_single_sign_on_an_invitation_has_no_password_link(
    settings: Settings, database_url: str, sessionmaker: SessionMaker
) -> None:
    from api import create_app

    configured = settings.model_copy(
        update={
            "oidc_issuer": "https://idp.example.com",
            "oidc_client_id": "pagefree",
            "oidc_provider_name": "Okta",
        }
    )
    app = create_app(configured, database_url=database_url)
    async with app.router.lifespan_context(app):
        # With SSO on, only a break-glass account signs in with a password.
        admin = await browser_for(app, sessionmaker, role=Role.admin, break_glass=True)
        await admin.get("/users")
        invited = await admin.post("/users/invite", {"name": "Sso Sue", "email": "sue@example.com"})
        assert invited.status_code == 200
        assert "Sso Sue signs in with Okta as sue@example.com" in invited.text
        assert 'id="invite-link"' not in invited.text
        async with sessionmaker() as session:
            assert (await session.scalars(select(UserInvite))).all() == []


@pytest.mark.usefixtures("aws")
async def test_with_e_mail_configured_the_link_is_e_mailed_not_shown(
    settings: Settings, database_url: str, sessionmaker: SessionMaker
) -> None:
    from api import create_app

    configured = settings.model_copy(
        update={
            "ses_from_address": FROM_EMAIL,
            "public_url": "https://pagefree.example.com",
            "cookie_secure": False,  # the test client speaks plain http
        }
    )
    app = create_app(configured, database_url=database_url)
    async with app.router.lifespan_context(app):
        admin = await browser_for(app, sessionmaker, role=Role.admin)
        await admin.get("/users")
        to = "mailed@example.com"
        invited = await admin.post("/users/invite", {"name": "Mai Mailed", "email": to})
        assert invited.status_code == 200
        assert f"An e-mail went to {to}." in invited.text
        assert 'id="invite-link"' not in invited.text
        [message] = ses_sent(to)
        assert message.subject == "Your PageFree invitation"
        found = re.search(r"https://pagefree\.example\.com(/invite/[A-Za-z0-9_-]+)", message.body)
        assert found, message.body
        async with _client(app) as newcomer:
            assert (await newcomer.get(found.group(1))).status_code == 200


async def _invite_link(sessionmaker: SessionMaker, email: str) -> str:
    from app.web import people
    from tests.factories import make_user

    async with sessionmaker() as session:
        user = await make_user(session, email=email)
        token = await people.create_invite(session=session, user=user, actor=SYSTEM)
        await session.commit()
    return f"/invite/{token}"


async def _used(sessionmaker: SessionMaker, path: str) -> bool:
    digest = hashlib.sha256(path.removeprefix("/invite/").encode()).hexdigest()
    async with sessionmaker() as session:
        row = await session.scalar(select(UserInvite).where(UserInvite.token_hash == digest))
        assert row is not None
        return row.used_at is not None


async def test_tries_of_one_invitation_link_are_limited(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    path = await _invite_link(sessionmaker, "lim@example.com")
    other = await _invite_link(sessionmaker, "lim2@example.com")
    async with _client(web_app) as guesser:
        assert (await guesser.get(path)).status_code == 200  # the page view counts too
        for _ in range(9):
            wrong = await guesser.post(path, data={"password": "a" * 12, "password_again": "b"})
            assert wrong.status_code == 422
        limited = await guesser.post(path, data={"password": PASSWORD, "password_again": PASSWORD})
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        assert "too many tries of this invitation link" in limited.text
        assert (await guesser.get(path)).status_code == 429
        assert not await _used(sessionmaker, path)  # refused before the link was looked at
        # Another link from the same client is not held back by this one's count.
        done = await guesser.post(other, data={"password": PASSWORD, "password_again": PASSWORD})
        assert done.status_code == 303


async def test_one_client_trying_many_invitation_links_is_limited(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    path = await _invite_link(sessionmaker, "many@example.com")
    async with _client(web_app) as guesser:
        for n in range(30):
            assert (await guesser.get(f"/invite/guess-{n:02d}")).status_code == 404
        limited = await guesser.post(path, data={"password": PASSWORD, "password_again": PASSWORD})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert not await _used(sessionmaker, path)


@needs_redis
async def test_invitation_limits_are_shared_by_api_processes_through_redis(
    settings: Settings, database_url: str, sessionmaker: SessionMaker
) -> None:
    from api import create_app

    path = await _invite_link(sessionmaker, "red@example.com")
    prefix = f"pagefree-test-{uuid.uuid4().hex[:8]}:"
    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    apps = [create_app(shared, database_url=database_url) for _ in range(2)]
    try:
        async with (
            apps[0].router.lifespan_context(apps[0]),
            apps[1].router.lifespan_context(apps[1]),
        ):
            for app in apps:
                app.state.invite_limiter.prefix = prefix
            async with _client(apps[0]) as a, _client(apps[1]) as b:
                for client in [a, b] * 5:  # ten tries of the link, five through each process
                    assert (await client.get(path)).status_code == 200
                assert (await a.get(path)).status_code == 429
                assert (await b.get(path)).status_code == 429
    finally:
        keys = await drop_keys(prefix)
    assert any(k.decode().startswith(f"{prefix}link:") for k in keys)
    token = path.removeprefix("/invite/").encode()
    assert not any(token in k for k in keys)  # the link's secret is hashed
