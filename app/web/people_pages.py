"""People pages: invite by e-mail, the set-password confirm page, deactivate and reactivate.

An invitation link is a GET that only shows a form; the POST from that form uses it (once).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, RateLimited
from app.identity import service as identity
from app.identity.models import Role, User, UserCreate
from app.ingest.ratelimit import Rate, RateLimiter
from app.notify.channels import DeliveryError
from app.problems import Problem
from app.web import login, people
from app.web.auth import Viewer, WebAdmin
from app.web.forms import errors_of, problem_of, roll_back
from app.web.render import WebRoute, page, see_other

# Invitation links: their token is the only secret before a password exists, so using one is
# limited like signing in: per link a burst of 10 tries, then one every 30 s; per client
# address 30, then one every 2 s. Counted in Redis when REDIS_URL is set (every API process
# together), else in each process; a Redis outage falls back to in-process counts.
PER_INVITE = Rate(per_second=1 / 30, burst=10)
PER_INVITE_CLIENT = Rate(per_second=1 / 2, burst=30)
INVITE_LIMIT_PREFIX = "pagefree:invite:"


router = APIRouter(
    route_class=WebRoute,
    include_in_schema=False,
    lifespan=login.limiter_lifespan("invite_limiter", INVITE_LIMIT_PREFIX),
)


async def _limit_invite(request: Request, token: str) -> None:
    """Count one use of an invitation link; raise RateLimited (429, Retry-After) past a limit."""
    limiter: RateLimiter = request.app.state.invite_limiter
    client = login.client_of(request)
    # The token is hashed: Redis keys are no place for a link's secret.
    link = hashlib.sha256(token.encode()).hexdigest()[:32]
    wait = max(
        await limiter.hit("client", client, PER_INVITE_CLIENT),
        await limiter.hit("link", link, PER_INVITE),
    )
    if wait > 0:
        raise RateLimited(
            f"too many tries of this invitation link; try again in {math.ceil(wait)} seconds",
            retry_after=math.ceil(wait),
        )


async def users_page_with(
    request: Request, session: AsyncSession, viewer: Viewer, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """Render the users page with a form's errors, what was typed, or a new invitation."""
    rows, _ = await identity.list_users(session=session, limit=1000)
    return page(
        request,
        "users.html",
        viewer,
        status_code=status_code,
        users=rows,
        roles=[r.value for r in Role],
        **extra,
    )


def _send_invite(request: Request, settings: Settings, user: User, link: str | None) -> bool:
    """E-mail the invitation when the e-mail channel is configured; return whether it went."""
    channels = getattr(request.app.state, "channels", None)
    email = getattr(channels, "email", None)
    if email is None:
        return False
    how = (
        f"Set your password within 72 hours: {link}"
        if link
        else f"Sign in with {settings.oidc_provider_name}: {settings.base_url}/login"
    )
    text = f"Hello {user.name}, you have been invited to PageFree. {how}"
    try:
        email.send_email(
            to=user.email, subject="Your PageFree invitation", text=text, html=f"<p>{text}</p>"
        )
    except DeliveryError:
        return False
    return True


async def _invite(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    user: User,
    done: str,
) -> HTMLResponse:
    link = None
    if not settings.oidc_enabled:
        token = await people.create_invite(session=session, user=user, actor=viewer.actor)
        link = f"{settings.base_url}/invite/{token}"
    sent = await asyncio.to_thread(_send_invite, request, settings, user, link)
    return await users_page_with(
        request,
        session,
        viewer,
        invited=user,
        invite_sent=sent,
        # Shown once, only when it could not be e-mailed: the admin passes it on.
        invite_link=None if sent else link,
        done_text=done,
    )


@router.post("/users/invite", response_class=HTMLResponse)
async def invite_new_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "responder",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
) -> Response:
    """Add a user without a password and invite them (a set-password link, or single sign-on)."""
    typed = {"name": name, "email": email, "role": role, "timezone": timezone}
    try:
        user = await identity.create_user(
            session=session,
            user_in=UserCreate(
                name=name.strip(),
                email=email.strip(),
                role=role,
                timezone=timezone.strip() or "UTC",
            ),
            actor=viewer.actor,
        )
    except (Problem, DomainError, ValidationError) as exc:
        status = 422 if isinstance(exc, ValidationError) else problem_of(exc).status
        await roll_back(session, viewer)
        errors = errors_of(exc)
        if status == 409:
            errors = [{"field": "email", "message": e["message"]} for e in errors]
        return await users_page_with(
            request, session, viewer, status, invite_errors=errors, typed=typed
        )
    return await _invite(request, session, settings, viewer, user, "Invitation created.")


@router.post("/users/{user_id}/invite", response_class=HTMLResponse)
async def invite_again(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    user_id: UUID,
) -> Response:
    """Send a user a new set-password link (earlier unused links stop working)."""
    user = await identity.get_user(session=session, user_id=user_id)
    return await _invite(request, session, settings, viewer, user, "New invitation created.")


@router.get("/invite/{token}", response_class=HTMLResponse)
async def invite_page(request: Request, session: SessionDep, token: str) -> Response:
    """The confirm page of an invitation link: it shows a form and uses nothing."""
    await _limit_invite(request, token)
    user = await people.invite_user(session=session, token=token)
    return _private(page(request, "invite.html", None, invitee=user, token=token, errors=[]))


def _private(response: HTMLResponse) -> HTMLResponse:
    """The page's URL holds the link's secret: keep it out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/invite/{token}", response_class=HTMLResponse)
async def accept_invite(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=256)] = "",
    password_again: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Set the password and use the link up. The link itself is the secret: no session yet."""
    await _limit_invite(request, token)
    user = await people.invite_user(session=session, token=token)
    if password != password_again:
        errors = [{"field": "password_again", "message": "the two passwords differ"}]
        return page(request, "invite.html", None, 422, invitee=user, token=token, errors=errors)
    try:
        await people.accept_invite(session=session, token=token, password=password)
    except DomainError as exc:
        await session.rollback()
        status = problem_of(exc).status
        if status == 404:
            raise
        user = await people.invite_user(session=session, token=token)
        return _private(
            page(
                request,
                "invite.html",
                None,
                status,
                invitee=user,
                token=token,
                errors=errors_of(exc),
            )
        )
    return see_other("/login?done=password-set")


@router.get("/users/{user_id}/deactivate", response_class=HTMLResponse)
async def deactivate_page(
    request: Request, session: SessionDep, viewer: WebAdmin, user_id: UUID
) -> Response:
    """Show what deactivating the user changes (schedules, overrides, the gaps it leaves)."""
    impact = await people.deactivation_impact(session=session, user_id=user_id)
    return page(request, "deactivate.html", viewer, impact=impact, refused=None)


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
async def deactivate(
    request: Request, session: SessionDep, viewer: WebAdmin, user_id: UUID
) -> Response:
    """Deactivate the user: sessions and tokens end, schedules no longer rotate them."""
    try:
        await people.deactivate_user(session=session, user_id=user_id, actor=viewer.actor)
    except (Problem, DomainError) as exc:
        problem = problem_of(exc)
        if problem.status != 409:
            raise
        await roll_back(session, viewer)
        impact = await people.deactivation_impact(session=session, user_id=user_id)
        return page(request, "deactivate.html", viewer, 409, impact=impact, refused=problem.detail)
    return see_other("/users?done=deactivated")


@router.post("/users/{user_id}/reactivate", response_class=HTMLResponse)
async def reactivate(session: SessionDep, viewer: WebAdmin, user_id: UUID) -> Response:
    """Let a deactivated user sign in again."""
    await people.reactivate_user(session=session, user_id=user_id, actor=viewer.actor)
    return see_other("/users")
