"""My profile: name, time zone, password, and API tokens."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import SessionDep
from app.identity import service as identity
from app.identity.models import ApiTokenCreate, ApiTokenCreated, UserUpdate
from app.web.auth import Viewer, WebViewer
from app.web.render import WebRoute, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)


async def _render(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    *,
    new_token: ApiTokenCreated | None = None,
    done: str | None = None,
) -> HTMLResponse:
    tokens = await identity.list_tokens(session=session, user_id=viewer.user.id)
    return page(
        request,
        "profile.html",
        viewer,
        tokens=tokens,
        new_token=new_token,
        done="Profile saved." if done == "saved" else None,
    )


@router.get("/profile", response_class=HTMLResponse)
async def profile_page(
    request: Request, session: SessionDep, viewer: WebViewer, done: str | None = None
) -> Response:
    """Show my profile and API tokens."""
    return await _render(request, session, viewer, done=done)


@router.post("/profile")
async def update_profile(
    session: SessionDep,
    viewer: WebViewer,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    timezone: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Change my name, time zone or password."""
    changes = UserUpdate(name=name.strip(), timezone=timezone.strip())
    if password:
        changes = UserUpdate(name=name.strip(), timezone=timezone.strip(), password=password)
    await identity.update_user(
        session=session, user_id=viewer.user.id, user_in=changes, actor=viewer.actor
    )
    return see_other("/profile?done=saved")


@router.post("/profile/tokens", response_class=HTMLResponse)
async def create_token(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Create an API token for me; its secret is shown this once."""
    created = await identity.create_token(
        session=session,
        user_id=viewer.user.id,
        token_in=ApiTokenCreate(name=name.strip()),
        actor=viewer.actor,
    )
    return await _render(request, session, viewer, new_token=created)


@router.post("/profile/tokens/{token_id}/revoke")
async def revoke_token(session: SessionDep, viewer: WebViewer, token_id: UUID) -> Response:
    """Revoke one of my API tokens."""
    await identity.revoke_token(
        session=session, user_id=viewer.user.id, token_id=token_id, actor=viewer.actor
    )
    return see_other("/profile")
