"""HTTP routes: heartbeat monitors of a service (admins), and the ping URL (no auth header)."""

from __future__ import annotations

from uuid import UUID

import structlog
from fastapi import APIRouter, Path, Request, Response, status

from app.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, TemporalDep, actor_of
from app.errors import RateLimited
from app.heartbeats import service
from app.heartbeats.models import HeartbeatCreate, HeartbeatPublic, HeartbeatUpdate
from app.ingest.ratelimit import Rate, RateLimiter
from app.models_common import Page

router = APIRouter(prefix="/api/v1/services/{service_id}/heartbeats", tags=["catalog"])
ping_router = APIRouter(tags=["catalog"])
log = structlog.get_logger("pagefree.heartbeats")

# A cron job pings once a minute or so: a few a second per key is plenty, and a loop that
# hammers its URL cannot take the API.
PING_RATE = Rate(per_second=2, burst=10)
LIMIT_PREFIX = "pagefree:hb-rl:"
# Ping keys are token_urlsafe(24): 32 characters.
Key = Path(min_length=32, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


@router.get("", response_model=Page[HeartbeatPublic])
async def list_heartbeats(
    session: SessionDep, _: CurrentUser, service_id: UUID
) -> Page[HeartbeatPublic]:
    """List a service's heartbeat monitors (their URLs are shown only when created)."""
    rows = await service.list_heartbeats(session=session, service_id=service_id)
    return Page(data=[service.public(h) for h in rows], count=len(rows))


@router.post("", response_model=HeartbeatPublic, status_code=status.HTTP_201_CREATED)
async def create_heartbeat(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    admin: AdminUser,
    service_id: UUID,
    body: HeartbeatCreate,
) -> HeartbeatPublic:
    """Create a monitor; the answer's `url` (with its secret key) is shown this once."""
    return await service.create_heartbeat(
        session=session,
        client=client,
        settings=settings,
        service_id=service_id,
        heartbeat_in=body,
        actor=actor_of(admin),
    )


@router.get("/{heartbeat_id}", response_model=HeartbeatPublic)
async def get_heartbeat(
    session: SessionDep, _: CurrentUser, service_id: UUID, heartbeat_id: UUID
) -> HeartbeatPublic:
    hb = await service.get_heartbeat(
        session=session, service_id=service_id, heartbeat_id=heartbeat_id
    )
    return service.public(hb)


@router.patch("/{heartbeat_id}", response_model=HeartbeatPublic)
async def update_heartbeat(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    admin: AdminUser,
    service_id: UUID,
    heartbeat_id: UUID,
    body: HeartbeatUpdate,
) -> HeartbeatPublic:
    return await service.update_heartbeat(
        session=session,
        client=client,
        settings=settings,
        service_id=service_id,
        heartbeat_id=heartbeat_id,
        heartbeat_in=body,
        actor=actor_of(admin),
    )


@router.delete("/{heartbeat_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_heartbeat(
    session: SessionDep, client: TemporalDep, admin: AdminUser, service_id: UUID, heartbeat_id: UUID
) -> Response:
    await service.delete_heartbeat(
        session=session,
        client=client,
        service_id=service_id,
        heartbeat_id=heartbeat_id,
        actor=actor_of(admin),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def limiter(request: Request) -> RateLimiter:
    """The ping limiter of this app: shared by the API processes through Redis when
    REDIS_URL is set, else per process (and per process again while Redis is down)."""
    found: RateLimiter | None = getattr(request.app.state, "heartbeat_limiter", None)
    if found is None:
        found = RateLimiter(request.app.state.settings.redis_url, prefix=LIMIT_PREFIX)
        request.app.state.heartbeat_limiter = found
    return found


@ping_router.get("/heartbeat/{key}", operation_id="ping_heartbeat_get")
@ping_router.post("/heartbeat/{key}", operation_id="ping_heartbeat")
async def ping(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    key: str = Key,
) -> dict[str, str]:
    """Record a ping (cron jobs: `curl -fsS -X POST URL`); no auth header, the key is secret."""
    # Counted by the key's hash: neither Redis nor its logs ever hold a ping key.
    wait = await limiter(request).hit("ping", service.hash_key(key), PING_RATE)
    if wait:
        raise RateLimited("too many pings for this heartbeat", retry_after=int(wait) + 1)
    hb = await service.record_ping(session=session, client=client, settings=settings, key=key)
    log.debug("heartbeat ping", heartbeat_id=str(hb.id), key_prefix=hb.key_prefix)
    return {"status": "ok", "heartbeat_id": str(hb.id)}
