"""The feeder: turns NOTIFYs into workflows: incident changes into signals to page workflows,
new announcements into their delivery workflows.

Runs in the worker process. It LISTENs on the channel the incident projection already
publishes on commit, batches what arrives within a quarter second, finds the pages whose
components map the incidents' services, and signal-with-starts their workflows. A sweep
(at start, after every reconnect, and each minute) starts the workflow of every page, so new
pages get theirs and nothing depends on a NOTIFY alone: each workflow recomputes every
minute by itself as well.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from datetime import timedelta
from uuid import UUID

import psycopg
from sqlalchemy import select, text
from sqlmodel import col
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from app.config import Settings
from app.db import SessionMaker, utcnow
from app.incidents.projection import NOTIFY_CHANNEL
from app.statuspages import announce, partners
from app.statuspages.models import Announcement, StatusPage
from workflows.statuspage_types import (
    SERVICES_CHANGED,
    DeliverInput,
    PartnerLinkInput,
    RetentionInput,
    StatusPageInput,
)

log = logging.getLogger(__name__)

WORKFLOW = "StatusPageWorkflow"
DELIVERY_WORKFLOW = "AnnouncementWorkflow"
# An announcement not taken this long after it was written was missed: the sweep starts it.
UNDISPATCHED_AFTER = timedelta(seconds=10)
BATCH_WINDOW = 0.25
SWEEP_EVERY = 60.0
_KINDS = {"opened", "updated"}


def page_workflow_id(page_id: UUID | str) -> str:
    """Return the id of a page's workflow."""
    return f"statuspage:{page_id}"


def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class Feeder:
    """Signals page workflows when incidents of their services change."""

    def __init__(
        self, *, client: Client, settings: Settings, sessionmaker: SessionMaker, database_url: str
    ) -> None:
        self.client = client
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.database_url = database_url

    def _input(self, page_id: UUID) -> StatusPageInput:
        return StatusPageInput(page_id=str(page_id), debounce=self.settings.status_debounce)

    async def signal(self, page_id: UUID, incident_ids: list[str]) -> None:
        """Signal-with-start a page's workflow with the incidents that changed."""
        await self.client.start_workflow(
            WORKFLOW,
            self._input(page_id),
            id=page_workflow_id(page_id),
            task_queue=self.settings.temporal_task_queue,
            start_signal=SERVICES_CHANGED,
            start_signal_args=[incident_ids],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Status page {page_id}",
        )

    async def sweep(self) -> int:
        """Start the workflow of every page that has none (a running one is left alone)."""
        async with self.sessionmaker() as session:
            page_ids = list((await session.scalars(select(col(StatusPage.id)))).all())
        for page_id in page_ids:
            await self.client.start_workflow(
                WORKFLOW,
                self._input(page_id),
                id=page_workflow_id(page_id),
                task_queue=self.settings.temporal_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"Status page {page_id}",
            )
        return len(page_ids)

    async def deliver(self, announcement_id: str) -> None:
        """Start the workflow that delivers an announcement (once: the id is the announcement)."""
        await self.client.start_workflow(
            DELIVERY_WORKFLOW,
            DeliverInput(announcement_id=announcement_id),
            id=f"announcement:{announcement_id}",
            task_queue=self.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Deliver {announcement_id}"[:400],
        )

    async def send_partner_link(self, login_id: str) -> None:
        """Start the workflow that e-mails a partner's magic link."""
        await self.client.start_workflow(
            "PartnerLinkWorkflow",
            PartnerLinkInput(login_id=login_id),
            id=f"partner-login:{login_id}",
            task_queue=self.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary="Partner sign-in link",
        )

    async def start_retention(self) -> None:
        """Start the daily purge of partner audit rows (one for the whole installation)."""
        await self.client.start_workflow(
            "PartnerAuditRetentionWorkflow",
            RetentionInput(),
            id="partner-audit-retention",
            task_queue=self.settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary="Deletes partner audit rows after 90 days",
        )

    async def sweep_announcements(self) -> int:
        """Start the delivery of announcements whose NOTIFY was missed."""
        async with self.sessionmaker() as session:
            stale = utcnow() - UNDISPATCHED_AFTER
            ids = list(
                (
                    await session.scalars(
                        select(col(Announcement.id)).where(
                            col(Announcement.dispatched_at).is_(None),
                            col(Announcement.created_at) < stale,
                        )
                    )
                ).all()
            )
        for announcement_id in ids:
            await self.deliver(announcement_id)
        return len(ids)

    async def route(self, incident_ids: list[str]) -> dict[UUID, list[str]]:
        """Return page id → the changed incidents of services it maps (two queries)."""
        ids = [UUID(i) for i in dict.fromkeys(incident_ids)]
        if not ids:
            return {}
        async with self.sessionmaker() as session:
            rows = await session.execute(
                text(
                    "SELECT DISTINCT c.page_id, i.id FROM incidents i "
                    "JOIN status_components c ON c.service_ids @> ARRAY[i.service_id] "
                    "WHERE i.id = ANY(:ids)"
                ),
                {"ids": ids},
            )
            routed: dict[UUID, list[str]] = defaultdict(list)
            for page_id, incident_id in rows.all():
                routed[page_id].append(str(incident_id))
        return routed

    async def handle(self, incident_ids: list[str]) -> None:
        """Signal every page that maps a service of these incidents."""
        for page_id, changed in (await self.route(incident_ids)).items():
            await self.signal(page_id, changed)

    async def _listen_once(self, stop: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(_libpq_url(self.database_url), autocommit=True)
        try:
            await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            await conn.execute(f"LISTEN {announce.NOTIFY_CHANNEL}")
            await conn.execute(f"LISTEN {partners.NOTIFY_CHANNEL}")
            await self.start_retention()
            await self.sweep()  # anything missed while not listening is picked up here
            await self.sweep_announcements()
            loop = asyncio.get_running_loop()
            next_sweep = loop.time() + SWEEP_EVERY
            while not stop.is_set():
                batch: list[str] = []
                announcements: list[str] = []
                async for note in conn.notifies(timeout=BATCH_WINDOW):
                    if note.channel == partners.NOTIFY_CHANNEL:
                        await self.send_partner_link(note.payload)
                        continue
                    if note.channel == announce.NOTIFY_CHANNEL:
                        announcements.append(note.payload)
                        continue
                    payload = json.loads(note.payload)
                    if payload.get("kind") in _KINDS and payload.get("incident_id"):
                        batch.append(payload["incident_id"])
                for announcement_id in dict.fromkeys(announcements):
                    await self.deliver(announcement_id)
                if batch:
                    await self.handle(batch)
                if loop.time() >= next_sweep:
                    await self.sweep()
                    await self.sweep_announcements()
                    next_sweep = loop.time() + SWEEP_EVERY
        finally:
            await conn.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Feed page workflows until `stop` is set; reconnect with back-off on failures."""
        backoff = 1.0
        while not stop.is_set():
            try:
                await self._listen_once(stop)
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL or Temporal away: try again, never die
                log.warning("status-page feeder: %s; retrying in %.0f s", exc, backoff)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, 30.0)
