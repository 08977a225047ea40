"""HTTP routes for a user's contact methods and notification rules."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from app.deps import CurrentUser, SessionDep, SettingsDep, actor_of
from app.errors import DomainError
from app.identity.models import Role, User
from app.notify import sendlimits, service
from app.notify.channels import Channels
from app.notify.models import (
    ContactMethodCreate,
    ContactMethodPublic,
    ContactMethodUpdate,
    NotificationRuleCreate,
    NotificationRulePublic,
    NotificationRuleUpdate,
    VerifyIn,
)
from app.notify.verification import send_code
from app.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["notifications"])
METHODS = "/users/{user_id}/contact-methods"
RULES = "/users/{user_id}/notification-rules"


def _may_manage(actor: User, user_id: UUID) -> None:
    if actor.role != Role.admin and actor.id != user_id:
        raise Problem(
            403,
            "Forbidden",
            "only admins may manage other users' contact methods and rules",
            type_="/problems/forbidden",
        )


@router.get(METHODS, response_model=list[ContactMethodPublic])
async def list_methods(
    session: SessionDep, actor: CurrentUser, user_id: UUID
) -> list[ContactMethodPublic]:
    """List a user's contact methods."""
    _may_manage(actor, user_id)
    rows = await service.list_methods(session=session, user_id=user_id)
    return [service.method_public(m) for m in rows]


@router.post(METHODS, response_model=ContactMethodPublic, status_code=status.HTTP_201_CREATED)
async def create_method(
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentUser,
    user_id: UUID,
    method_in: ContactMethodCreate,
) -> ContactMethodPublic:
    """Add a contact method (unverified unless an admin provisions it verified)."""
    _may_manage(actor, user_id)
    method = await service.create_method(
        session=session,
        user_id=user_id,
        method_in=method_in,
        may_preverify=actor.role == Role.admin,
        actor=actor_of(actor),
        allow_private_targets=settings.allow_private_targets,
    )
    return service.method_public(method)


@router.get(METHODS + "/{method_id}", response_model=ContactMethodPublic)
async def get_method(
    session: SessionDep, actor: CurrentUser, user_id: UUID, method_id: UUID
) -> ContactMethodPublic:
    """Return one contact method."""
    _may_manage(actor, user_id)
    method = await service.get_method(session=session, user_id=user_id, method_id=method_id)
    return service.method_public(method)


@router.patch(METHODS + "/{method_id}", response_model=ContactMethodPublic)
async def update_method(
    session: SessionDep,
    actor: CurrentUser,
    user_id: UUID,
    method_id: UUID,
    method_in: ContactMethodUpdate,
) -> ContactMethodPublic:
    """Change a contact method's label."""
    _may_manage(actor, user_id)
    method = await service.update_method(
        session=session,
        user_id=user_id,
        method_id=method_id,
        method_in=method_in,
        actor=actor_of(actor),
    )
    return service.method_public(method)


@router.delete(METHODS + "/{method_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_method(
    session: SessionDep, actor: CurrentUser, user_id: UUID, method_id: UUID
) -> Response:
    """Delete a contact method and its rules."""
    _may_manage(actor, user_id)
    await service.delete_method(
        session=session, user_id=user_id, method_id=method_id, actor=actor_of(actor)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(METHODS + "/{method_id}/send-code", status_code=status.HTTP_202_ACCEPTED)
async def send_verification_code(
    request: Request, session: SessionDep, actor: CurrentUser, user_id: UUID, method_id: UUID
) -> dict[str, str]:
    """Send a new verification code through the method's own channel."""
    _may_manage(actor, user_id)
    method, code = await service.new_verification_code(
        session=session,
        user_id=user_id,
        method_id=method_id,
        actor=actor_of(actor),
        limiter=sendlimits.limiter_of(request.app),
    )
    channels: Channels = request.app.state.channels
    await send_code(channels, method, code)
    return {"status": "sent"}


@router.post(METHODS + "/{method_id}/verify", response_model=ContactMethodPublic)
async def verify_method(
    session: SessionDep, actor: CurrentUser, user_id: UUID, method_id: UUID, body: VerifyIn
) -> ContactMethodPublic:
    """Verify a contact method with the code it received."""
    _may_manage(actor, user_id)
    try:
        method = await service.verify_method(
            session=session,
            user_id=user_id,
            method_id=method_id,
            code=body.code,
            actor=actor_of(actor),
        )
    except DomainError:
        await session.commit()  # keep the spent try: codes cannot be guessed by retrying
        raise
    return service.method_public(method)


@router.get(RULES, response_model=list[NotificationRulePublic])
async def list_rules(
    session: SessionDep, actor: CurrentUser, user_id: UUID
) -> list[NotificationRulePublic]:
    """List a user's notification rules."""
    _may_manage(actor, user_id)
    return [
        service.rule_public(r) for r in await service.list_rules(session=session, user_id=user_id)
    ]


@router.post(RULES, response_model=NotificationRulePublic, status_code=status.HTTP_201_CREATED)
async def create_rule(
    session: SessionDep, actor: CurrentUser, user_id: UUID, rule_in: NotificationRuleCreate
) -> NotificationRulePublic:
    """Add a rule: reach the user on a contact method `delay` after they are paged."""
    _may_manage(actor, user_id)
    rule = await service.create_rule(
        session=session, user_id=user_id, rule_in=rule_in, actor=actor_of(actor)
    )
    return service.rule_public(rule)


@router.get(RULES + "/{rule_id}", response_model=NotificationRulePublic)
async def get_rule(
    session: SessionDep, actor: CurrentUser, user_id: UUID, rule_id: UUID
) -> NotificationRulePublic:
    """Return one notification rule."""
    _may_manage(actor, user_id)
    return service.rule_public(
        await service.get_rule(session=session, user_id=user_id, rule_id=rule_id)
    )


@router.patch(RULES + "/{rule_id}", response_model=NotificationRulePublic)
async def update_rule(
    session: SessionDep,
    actor: CurrentUser,
    user_id: UUID,
    rule_id: UUID,
    rule_in: NotificationRuleUpdate,
) -> NotificationRulePublic:
    """Change a notification rule."""
    _may_manage(actor, user_id)
    rule = await service.update_rule(
        session=session, user_id=user_id, rule_id=rule_id, rule_in=rule_in, actor=actor_of(actor)
    )
    return service.rule_public(rule)


@router.delete(RULES + "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(
    session: SessionDep, actor: CurrentUser, user_id: UUID, rule_id: UUID
) -> Response:
    """Delete a notification rule."""
    _may_manage(actor, user_id)
    await service.delete_rule(
        session=session, user_id=user_id, rule_id=rule_id, actor=actor_of(actor)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
