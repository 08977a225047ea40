"""HTTP routes for escalation policies."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, actor_of
from app.escalation import service
from app.escalation.models import (
    EscalationPolicyCreate,
    EscalationPolicyPublic,
    EscalationPolicyUpdate,
)
from app.models_common import Page
from app.references import service as references

router = APIRouter(prefix="/api/v1/escalation-policies", tags=["escalation"])


@router.get("", response_model=Page[EscalationPolicyPublic])
async def list_policies(
    session: SessionDep,
    _: CurrentUser,
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[EscalationPolicyPublic]:
    """List escalation policies, filtered by a name fragment."""
    policies, total = await service.list_policies(session=session, q=q, limit=limit, offset=offset)
    return Page(data=[service.policy_public(p) for p in policies], count=total)


@router.post("", response_model=EscalationPolicyPublic, status_code=status.HTTP_201_CREATED)
async def create_policy(
    session: SessionDep, settings: SettingsDep, admin: AdminUser, policy_in: EscalationPolicyCreate
) -> EscalationPolicyPublic:
    """Create an escalation policy (admins only)."""
    policy = await service.create_policy(
        session=session, policy_in=policy_in, actor=actor_of(admin), settings=settings
    )
    return service.policy_public(policy)


@router.get("/{policy_id}", response_model=EscalationPolicyPublic)
async def get_policy(
    session: SessionDep, _: CurrentUser, policy_id: UUID
) -> EscalationPolicyPublic:
    """Return one escalation policy."""
    return service.policy_public(await service.get_policy(session=session, policy_id=policy_id))


@router.patch("/{policy_id}", response_model=EscalationPolicyPublic)
async def update_policy(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    policy_id: UUID,
    policy_in: EscalationPolicyUpdate,
) -> EscalationPolicyPublic:
    """Change an escalation policy (admins only); `levels` replaces every level."""
    policy = await service.update_policy(
        session=session,
        policy_id=policy_id,
        policy_in=policy_in,
        actor=actor_of(admin),
        settings=settings,
    )
    return service.policy_public(policy)


@router.delete("/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(session: SessionDep, admin: AdminUser, policy_id: UUID) -> Response:
    """Delete an escalation policy that no service uses (admins only)."""
    await references.delete_policy(session=session, policy_id=policy_id, actor=actor_of(admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
