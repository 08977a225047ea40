"""Activities of heartbeat monitors: hand a missed heartbeat to its incident, and resolve it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

from temporalio import activity

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker, utcnow
from app.heartbeats.models import Heartbeat
from app.incidents import service as incidents
from workflows.heartbeat_types import MissedIn, dedup_key
from workflows.incident_types import Actor, AlertIn


def _alert(hb: Heartbeat, action: Literal["trigger", "resolve"], summary: str) -> AlertIn:
    return AlertIn(
        id=str(uuid.uuid4()),
        action=action,
        summary=summary,
        severity="critical",
        source=f"heartbeat {hb.name}",
        dedup_key=dedup_key(str(hb.id)),
        details={"heartbeat": {"id": str(hb.id), "name": hb.name}},
        received_at=utcnow(),
        actor=Actor(type="system", id=str(hb.id), via="heartbeat"),
    )


class HeartbeatActivities:
    def __init__(self, sessionmaker: SessionMaker, settings: Settings):
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def _load(self, heartbeat_id: str) -> tuple[Heartbeat, Service] | None:
        async with self.sessionmaker() as session:
            hb = await session.get(Heartbeat, uuid.UUID(heartbeat_id))
            svc = None if hb is None else await session.get(Service, hb.service_id)
        return None if hb is None or svc is None else (hb, svc)

    @activity.defn(name="heartbeat_missed")
    async def heartbeat_missed(self, inp: MissedIn) -> str | None:
        """Open (or join) the incident of a missed heartbeat, by the ingestion hand-off."""
        found = await self._load(inp.heartbeat_id)
        if found is None:
            return None  # deleted meanwhile: nothing to page about
        hb, svc = found
        silent = timedelta(seconds=round(inp.silent_seconds))
        alert = _alert(hb, "trigger", f"Heartbeat {hb.name!r} missed: no ping for {silent}")
        return await incidents.signal_alerts(
            client=activity.client(),
            settings=self.settings,
            service=svc,
            dedup_key=alert.dedup_key,
            alerts=[alert],
        )

    @activity.defn(name="heartbeat_recovered")
    async def heartbeat_recovered(self, heartbeat_id: str) -> bool:
        """Resolve the missed heartbeat's incident (a resolve alert, as a monitor would send)."""
        found = await self._load(heartbeat_id)
        if found is None:
            return False
        hb, svc = found
        alert = _alert(hb, "resolve", f"Heartbeat {hb.name!r} pinged again")
        return await incidents.signal_running(
            client=activity.client(),
            workflow_id=incidents.workflow_id_for(svc.routing_key, alert.dedup_key),
            alerts=[alert],
        )
