"""Web push from the installed app: this browser's subscription as my `push` contact method."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from app.deps import SessionDep, SettingsDep
from app.netguard import BlockedTarget
from app.notify import service as notify
from app.notify.models import ContactMethod, ContactMethodCreate, ContactType
from app.web.auth import WebViewer
from app.web.profile import push_key
from app.web.render import WebRoute, field_errors

router = APIRouter(route_class=WebRoute, include_in_schema=False)


class PushSubscriptionIn(BaseModel):
    """What `PushSubscription.toJSON()` gives, and a name for the device."""

    subscription: dict[str, Any]
    label: str | None = Field(default=None, max_length=100)


class PushEndpointIn(BaseModel):
    endpoint: str = Field(min_length=1, max_length=2000)


def _endpoint(method: ContactMethod) -> str:
    try:
        return str(json.loads(method.address).get("endpoint", ""))
    except (ValueError, AttributeError):
        return ""


def _problem(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


@router.post("/profile/push")
async def enable_push(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebViewer,
    body: PushSubscriptionIn,
) -> Response:
    """Store this browser's push subscription as a verified push contact method of mine."""
    if push_key(request) is None:
        return _problem(409, "push is not configured on this server")
    try:
        method_in = ContactMethodCreate(
            type=ContactType.push,
            address=json.dumps(body.subscription),
            label=(body.label or "").strip()[:100] or None,
            verified=True,
        )
    except ValidationError as exc:
        return _problem(422, field_errors(exc))
    endpoint = json.loads(method_in.address)["endpoint"]
    for method in await notify.list_methods(session=session, user_id=viewer.user.id):
        if method.type == ContactType.push and _endpoint(method) == endpoint:
            return JSONResponse({"id": str(method.id), "verified": method.verified})
    # Created verified without a code: the signed-in user's own browser made this subscription
    # with our VAPID key and sent it over the CSRF-checked session, which proves possession as
    # well as a code pushed to it would (and a push subscription can only reach that browser).
    try:
        method = await notify.create_method(
            session=session,
            user_id=viewer.user.id,
            method_in=method_in,
            may_preverify=True,
            actor=viewer.actor,
            allow_private_targets=settings.allow_private_targets,
        )
    except BlockedTarget as exc:
        return _problem(422, f"endpoint: {exc}")
    return JSONResponse(
        {"id": str(method.id), "verified": method.verified}, status_code=status.HTTP_201_CREATED
    )


@router.post("/profile/push/off")
async def disable_push(session: SessionDep, viewer: WebViewer, body: PushEndpointIn) -> Response:
    """Delete my push contact methods for this browser's subscription endpoint."""
    deleted = 0
    for method in await notify.list_methods(session=session, user_id=viewer.user.id):
        if method.type == ContactType.push and _endpoint(method) == body.endpoint:
            await notify.delete_method(
                session=session, user_id=viewer.user.id, method_id=method.id, actor=viewer.actor
            )
            deleted += 1
    return JSONResponse({"deleted": deleted})
