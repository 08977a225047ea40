"""Admin API of partners: outside readers of private status pages."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from app.deps import AdminUser, SessionDep, actor_of
from app.models_common import Page
from app.statuspages import partners
from app.statuspages.partner_models import PartnerCreate, PartnerPublic, PartnerUpdate

router = APIRouter(prefix="/api/v1/partners", tags=["status pages"])


@router.get("", response_model=Page[PartnerPublic])
async def list_partners(session: SessionDep, _: AdminUser) -> Page[PartnerPublic]:
    """List partners and the pages they may read (admins only)."""
    rows = await partners.list_partners(session=session)
    return Page(data=[partners.partner_public(p) for p in rows], count=len(rows))


@router.post("", response_model=PartnerPublic, status_code=status.HTTP_201_CREATED)
async def create_partner(
    session: SessionDep, admin: AdminUser, partner_in: PartnerCreate
) -> PartnerPublic:
    """Create a partner granted private pages (admins only); a taken address is 409."""
    created = await partners.create_partner(
        session=session, partner_in=partner_in, actor=actor_of(admin)
    )
    return partners.partner_public(created)


@router.get("/{partner_id}", response_model=PartnerPublic)
async def get_partner(session: SessionDep, _: AdminUser, partner_id: UUID) -> PartnerPublic:
    """Return one partner."""
    return partners.partner_public(
        await partners.get_partner(session=session, partner_id=partner_id)
    )


@router.patch("/{partner_id}", response_model=PartnerPublic)
async def update_partner(
    session: SessionDep, admin: AdminUser, partner_id: UUID, partner_in: PartnerUpdate
) -> PartnerPublic:
    """Change a partner's name, address or granted pages."""
    updated = await partners.update_partner(
        session=session, partner_id=partner_id, partner_in=partner_in, actor=actor_of(admin)
    )
    return partners.partner_public(updated)


@router.delete("/{partner_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_partner(session: SessionDep, admin: AdminUser, partner_id: UUID) -> Response:
    """Delete a partner; their sessions end with them."""
    await partners.delete_partner(session=session, partner_id=partner_id, actor=actor_of(admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
