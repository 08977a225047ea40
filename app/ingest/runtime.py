"""Per-process state of the receivers: caches, rate limiter, hand-off batcher, delivery log.

Created when the API starts (the ingest router's lifespan) and kept on `app.state.ingest`.
Integrations and services are cached for CACHE_TTL so a storm does not read PostgreSQL per
alert; changes made through this process apply at once, other processes see them within
CACHE_TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from sqlalchemy import exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.incidents import service as incidents
from app.incidents.models import Alert, Incident
from app.ingest.batching import Batcher
from app.ingest.deliveries import DeliveryLog
from app.ingest.models import IngestSignature, Integration
from app.ingest.ratelimit import DEFAULT_IP_RATE, DEFAULT_KEY_RATE, Rate, RateLimiter
from app.temporal import LazyClient
from workflows.incident_types import AlertIn

CACHE_TTL = 5.0
_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Snapshot:
    """An integration as the receivers need it, with the services it sends to."""

    integration: Integration
    service: Service | None  # a service's own integration
    default_service: Service | None  # an organisation-wide one

    @property
    def rate(self) -> Rate:
        i = self.integration
        if i.rate_limit_per_second and i.rate_limit_burst:
            return Rate(i.rate_limit_per_second, i.rate_limit_burst)
        return DEFAULT_KEY_RATE


@dataclass(frozen=True)
class Target:
    """Where a hand-off goes: one incident workflow."""

    workflow_id: str
    dedup_key: str
    service: Service = field(compare=False, hash=False)


class _Cache:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        if len(self._data) >= _CACHE_MAX:
            self._data.clear()
        self._data[key] = (time.monotonic() + CACHE_TTL, value)

    def clear(self) -> None:
        self._data.clear()


class IngestRuntime:
    """Everything the receivers share inside one API process."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: SessionMaker,
        temporal: Callable[[], LazyClient],
        redis_prefix: str = "pagefree:rl:",
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._temporal = temporal
        self.limiter = RateLimiter(settings.redis_url, prefix=redis_prefix)
        self.ip_rate: Rate = DEFAULT_IP_RATE
        self.deliveries = DeliveryLog(sessionmaker)
        self.batcher: Batcher[Target, AlertIn] = Batcher(self._handoff)
        self._integrations = _Cache()
        self._services = _Cache()
        self._loading: dict[str, asyncio.Future[Snapshot | None]] = {}
        self._generation = 0

    # --- lookups ----------------------------------------------------------------------------

    async def integration(self, key: str) -> Snapshot | None:
        """Return the integration with this key (cached), or None."""
        found, snap = self._integrations.get(key)
        if found:
            cached: Snapshot | None = snap
            return cached
        # One read per key however many requests miss at once (a storm after expiry).
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load_integration(key))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load_integration(self, key: str) -> Snapshot | None:
        generation = self._generation
        async with self.sessionmaker() as session:
            row = await session.scalar(select(Integration).where(col(Integration.key) == key))
            snap = None
            if row is not None:
                own = await session.get(Service, row.service_id) if row.service_id else None
                default = (
                    await session.get(Service, row.default_service_id)
                    if row.default_service_id
                    else None
                )
                snap = Snapshot(integration=row, service=own, default_service=default)
        if generation == self._generation:  # not read before a change that came meanwhile
            self._integrations.put(key, snap)
        return snap

    async def service_by_routing_key(self, routing_key: str) -> Service | None:
        """Return the service with this routing key (cached), or None."""
        found, svc = self._services.get(routing_key)
        if found:
            known: Service | None = svc
            return known
        async with self.sessionmaker() as session:
            svc = await session.scalar(
                select(Service).where(col(Service.routing_key) == routing_key)
            )
        self._services.put(routing_key, svc)
        return svc

    async def open_incident_services(self, integration_id: UUID, dedup_key: str) -> list[Service]:
        """Return the services with an open incident for `dedup_key` fed by this integration."""
        fed = exists().where(
            col(Alert.incident_id) == col(Incident.id),
            col(Alert.integration_id) == str(integration_id),
        )
        query = (
            select(Service)
            .join(Incident, col(Incident.service_id) == col(Service.id))
            .where(col(Incident.dedup_key) == dedup_key, col(Incident.status) != "resolved", fed)
            .distinct()
        )
        async with self.sessionmaker() as session:
            return list((await session.scalars(query)).all())

    def forget(self) -> None:
        """Drop cached integrations and services (after a change)."""
        self._generation += 1
        self._loading.clear()
        self._integrations.clear()
        self._services.clear()

    # --- signatures -------------------------------------------------------------------------

    async def reserve_signature(self, digest: str, expires_at: datetime) -> bool:
        """Claim a signature once; False if it was already used and has not expired."""
        new = insert(IngestSignature).values(digest=digest, expires_at=expires_at)
        claim = new.on_conflict_do_update(
            index_elements=["digest"],
            set_={"expires_at": new.excluded.expires_at},
            where=col(IngestSignature.expires_at) < func.now(),
        ).returning(col(IngestSignature.digest))
        async with self.sessionmaker() as session:
            claimed = await session.scalar(claim)
            await session.commit()
        return claimed is not None

    async def release_signature(self, digest: str) -> None:
        """Free a signature whose request was not accepted, so its retry is not a replay."""
        async with self.sessionmaker() as session:
            await session.execute(
                text("DELETE FROM ingest_signatures WHERE digest = :d"), {"d": digest}
            )
            await session.commit()

    # --- hand-off ---------------------------------------------------------------------------

    async def _handoff(self, target: Target, kind: str, alerts: list[AlertIn]) -> bool:
        """Hand one batch to its workflow; True if it reached an incident."""
        client = await self._temporal().get()
        if kind == "trigger":
            # Rows first, then the signal carries no payload (docs/design.md).
            alerts = await incidents.stage_alerts(self.sessionmaker, alerts)
            await incidents.signal_alerts(
                client=client,
                settings=self.settings,
                service=target.service,
                dedup_key=target.dedup_key,
                alerts=alerts,
            )
            return True
        return await incidents.signal_running(
            client=client, workflow_id=target.workflow_id, alerts=alerts
        )

    async def close(self) -> None:
        """Finish hand-offs in flight, write the delivery log, close Redis."""
        await self.batcher.close()
        await self.deliveries.close()
        await self.limiter.close()


def runtime_of(request: Request) -> IngestRuntime:
    """Return the app's ingest runtime, creating it on first use."""
    state = request.app.state
    if getattr(state, "ingest", None) is None:
        state.ingest = IngestRuntime(
            settings=state.settings,
            sessionmaker=state.sessionmaker,
            temporal=lambda: state.temporal,
        )
    runtime: IngestRuntime = state.ingest
    return runtime
