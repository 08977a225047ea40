"""Activities of heartbeat monitors: hand a missed heartbeat to its incident, and resolve it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlmodel import col
from temporalio import activity

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker, utcnow
from app.heartbeats.models import Heartbeat
from app.incidents import service as incidents
from app.incidents.models import Incident
from workflows.heartbeat_types import MissedIn, dedup_key
from workflows.incident_types import Actor, AlertIn


def _alert(hb: Heartbeat, action: Literal["trigger"], summary: str) -> AlertIn:
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
        """Resolve the missed heartbeat's incident (a resolve alert, as a monitor would send).

        Found by its dedup key, so a monitor deleted while overdue still resolves its incident.
        """
        key = dedup_key(heartbeat_id)
        async with self.sessionmaker() as session:
            workflow_ids = (
                await session.scalars(
                    select(col(Incident.workflow_id)).where(
                        col(Incident.dedup_key) == key, col(Incident.status) != "resolved"
                    )
                )
            ).all()
            hb = await session.get(Heartbeat, uuid.UUID(heartbeat_id))
        name = hb.name if hb is not None else "(deleted monitor)"
        resolved = False
        for wid in workflow_ids:
            alert = AlertIn(
                id=str(uuid.uuid4()),
                action="resolve",
                summary=f"Heartbeat {name!r} pinged again" if hb else "Heartbeat monitor deleted",
                dedup_key=key,
                received_at=utcnow(),
                actor=Actor(type="system", id=heartbeat_id, via="heartbeat"),
            )
            resolved = (
                await incidents.signal_running(
                    client=activity.client(), workflow_id=wid, alerts=[alert]
                )
                or resolved
            )
        return resolved
