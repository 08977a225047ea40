"""HTTP routes to manage integrations (admins), read their delivery log, send test alerts."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status

from app.deps import AdminUser, SessionDep, SettingsDep, actor_of
from app.ingest import service
from app.ingest.deliveries import list_deliveries
from app.ingest.models import (
    OUTCOMES,
    DeliveryPublic,
    Integration,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPublic,
    IntegrationUpdate,
    OrgIntegrationCreate,
    RotateSecretIn,
    SecretRotated,
    TestAlertIn,
)
from app.ingest.probe import send_test_alert
from app.ingest.runtime import IngestRuntime, runtime_of
from app.models_common import Page


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the receivers' runtime with the app; finish hand-offs and the log on the way out."""
    app.state.ingest = IngestRuntime(
        settings=app.state.settings,
        sessionmaker=app.state.sessionmaker,
        temporal=lambda: app.state.temporal,
    )
    try:
        yield
    finally:
        await app.state.ingest.close()
        app.state.ingest = None


router = APIRouter(prefix="/api/v1", tags=["integrations"], lifespan=lifespan)

Scope = Literal["service", "organisation"]
Outcome = Annotated[str | None, Query(pattern="^(" + "|".join(OUTCOMES) + ")$")]
Limit = Annotated[int, Query(ge=1, le=500)]


async def _changed(request: Request, session: SessionDep) -> None:
    # Commit before the receivers' cache forgets, so a reload cannot read the old row.
    await session.commit()
    runtime_of(request).forget()


# --- organisation-wide (and any integration by id) -----------------------------------------


@router.post("/integrations", response_model=IntegrationCreated, status_code=201)
async def create_org_integration(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    body: OrgIntegrationCreate,
) -> IntegrationCreated:
    """Create an organisation-wide integration: alerts route by their service field."""
    created = await service.create(
        session=session, settings=settings, integration_in=body, actor=actor_of(admin)
    )
    await _changed(request, session)
    return created


@router.get("/integrations", response_model=Page[IntegrationPublic])
async def list_integrations(
    session: SessionDep,
    settings: SettingsDep,
    _: AdminUser,
    scope: Scope | None = None,
    service_id: UUID | None = None,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[IntegrationPublic]:
    """List integrations of every scope (admins: the response carries keys)."""
    rows, total = await service.list_integrations(
        session=session, service_id=service_id, scope=scope, limit=limit, offset=offset
    )
    return Page(data=[service.public(i, settings) for i in rows], count=total)


@router.get("/integrations/deliveries", response_model=list[DeliveryPublic])
async def all_deliveries(
    request: Request,
    session: SessionDep,
    _: AdminUser,
    unmatched: bool = False,
    outcome: Outcome = None,
    before_id: int | None = None,
    limit: Limit = 100,
) -> list[DeliveryPublic]:
    """The delivery log of every receiver; `unmatched` keeps requests with no known key."""
    await runtime_of(request).deliveries.flush()
    rows = await list_deliveries(
        session=session,
        integration_id=None,
        unmatched=unmatched,
        outcome=outcome,
        before_id=before_id,
        limit=limit,
    )
    return [DeliveryPublic.model_validate(r, from_attributes=True) for r in rows]


async def _any_integration(session: SessionDep, integration_id: UUID) -> Integration:
    return await service.get(session=session, integration_id=integration_id)


async def _service_integration(
    session: SessionDep, service_id: UUID, integration_id: UUID
) -> Integration:
    return await service.get(session=session, integration_id=integration_id, service_id=service_id)


def _routes(prefix: str, lookup: Callable[..., Awaitable[Integration]]) -> None:
    """Register the per-integration routes under `prefix`; `lookup` finds the integration."""
    Found = Annotated[Integration, Depends(lookup)]

    @router.get(prefix + "/{integration_id}", response_model=IntegrationPublic)
    async def get_integration(
        session: SessionDep,
        settings: SettingsDep,
        _: AdminUser,
        found: Found,
    ) -> IntegrationPublic:
        """Return one integration with its key and the URL to paste."""
        return service.public(found, settings)

    @router.patch(prefix + "/{integration_id}", response_model=IntegrationPublic)
    async def update_integration(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        admin: AdminUser,
        found: Found,
        body: IntegrationUpdate,
    ) -> IntegrationPublic:
        """Rename, enable or disable, change the severity map or the rate limit."""
        updated = await service.update(
            session=session,
            settings=settings,
            integration=found,
            integration_in=body,
            actor=actor_of(admin),
        )
        await _changed(request, session)
        return service.public(updated, settings)

    @router.delete(prefix + "/{integration_id}", status_code=204)
    async def delete_integration(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        admin: AdminUser,
        found: Found,
    ) -> Response:
        """Delete an integration; its key stops working."""
        await service.delete(
            session=session, settings=settings, integration=found, actor=actor_of(admin)
        )
        await _changed(request, session)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(prefix + "/{integration_id}/rotate-secret", response_model=SecretRotated)
    async def rotate_secret(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        admin: AdminUser,
        found: Found,
        body: RotateSecretIn | None = None,
    ) -> SecretRotated:
        """Issue a new signing secret (shown once); the old one works for `overlap`."""
        rotated = await service.rotate_secret(
            session=session,
            settings=settings,
            integration=found,
            overlap=(body or RotateSecretIn()).overlap,
            actor=actor_of(admin),
        )
        await _changed(request, session)
        return rotated

    @router.get(prefix + "/{integration_id}/deliveries", response_model=list[DeliveryPublic])
    async def deliveries(
        request: Request,
        session: SessionDep,
        _: AdminUser,
        found: Found,
        outcome: Outcome = None,
        before_id: int | None = None,
        limit: Limit = 100,
    ) -> list[DeliveryPublic]:
        """The integration's delivery log, newest first: received, outcome, latency, error."""
        await runtime_of(request).deliveries.flush()
        rows = await list_deliveries(
            session=session,
            integration_id=found.id,
            outcome=outcome,
            before_id=before_id,
            limit=limit,
        )
        return [DeliveryPublic.model_validate(r, from_attributes=True) for r in rows]

    @router.post(prefix + "/{integration_id}/test", status_code=202)
    async def test_alert(
        request: Request,
        session: SessionDep,
        admin: AdminUser,
        found: Found,
        body: TestAlertIn | None = None,
    ) -> dict[str, Any]:
        """Send a test alert through the integration: it opens (or acts on) a real incident."""
        return await send_test_alert(
            session=session,
            rt=runtime_of(request),
            integration=found,
            body=body or TestAlertIn(),
            actor=actor_of(admin),
        )


# --- a service's own integrations -----------------------------------------------------------


@router.post(
    "/services/{service_id}/integrations", response_model=IntegrationCreated, status_code=201
)
async def create_service_integration(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    service_id: UUID,
    body: IntegrationCreate,
) -> IntegrationCreated:
    """Create an integration whose alerts all go to this service."""
    created = await service.create(
        session=session,
        settings=settings,
        integration_in=body,
        actor=actor_of(admin),
        service_id=service_id,
    )
    await _changed(request, session)
    return created


@router.get("/services/{service_id}/integrations", response_model=Page[IntegrationPublic])
async def list_service_integrations(
    session: SessionDep,
    settings: SettingsDep,
    _: AdminUser,
    service_id: UUID,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[IntegrationPublic]:
    """List a service's integrations."""
    rows, total = await service.list_integrations(
        session=session, service_id=service_id, limit=limit, offset=offset
    )
    return Page(data=[service.public(i, settings) for i in rows], count=total)


_routes("/integrations", _any_integration)
_routes("/services/{service_id}/integrations", _service_integration)
