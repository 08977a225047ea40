"""Status-page activities: page recomputes, maintenance timers' writes, announcements."""

from __future__ import annotations

from uuid import UUID

import boto3
from botocore.exceptions import BotoCoreError
from temporalio import activity

from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import Channels
from app.statuspages import announce, delivery, partners, sync
from app.statuspages import incidents as page_incidents
from app.statuspages.models import MaintenanceStatus
from workflows.statuspage_types import (
    ADVANCE_MAINTENANCE,
    ANNOUNCE_COMPONENTS,
    ANNOUNCE_MAINTENANCE,
    PLAN_DELIVERIES,
    PURGE_PARTNER_AUDIT,
    SEND_DELIVERIES,
    SEND_PARTNER_LINK,
    SYNC_PAGE,
    AdvanceMaintenance,
    AnnounceComponents,
    DeliverInput,
    DeliveryBatch,
    MaintenanceAnnouncement,
    PageObserved,
    PartnerLinkInput,
    RetentionInput,
    SyncPage,
)


class StatusPageActivities:
    """Activities of the status-page workflows, bound to the database."""

    def __init__(
        self, sessionmaker: SessionMaker, settings: Settings, channels: Channels | None = None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        ses = None
        if settings.ses_from_address:
            try:
                ses = boto3.client("ses")  # raw e-mail: RFC 8058 headers need SendRawEmail
            except (BotoCoreError, ValueError):
                ses = None
        self.sender = delivery.Sender(settings, ses, channels.slack if channels else None)

    @activity.defn(name=PLAN_DELIVERIES)
    async def plan_deliveries(self, inp: DeliverInput) -> int:
        """Write one pending delivery per subscriber the announcement is for."""
        async with self.sessionmaker() as session:
            count = await delivery.plan(
                session, inp.announcement_id, activity.info().current_attempt_scheduled_time
            )
            await session.commit()
        return count

    @activity.defn(name=SEND_DELIVERIES)
    async def send_deliveries(self, inp: DeliverInput) -> DeliveryBatch:
        """Send a batch of due deliveries; failures are logged and retried with back-off."""
        result = await delivery.send_due(
            self.sessionmaker,
            self.sender,
            inp.announcement_id,
            activity.info().current_attempt_scheduled_time,
        )
        return DeliveryBatch(
            sent=result.sent,
            failed=result.failed,
            more_due=result.more_due,
            next_retry_at=result.next_retry_at,
        )

    @activity.defn(name=ADVANCE_MAINTENANCE)
    async def advance_maintenance(self, inp: AdvanceMaintenance) -> bool:
        """Move a maintenance to its next status; False when it was not due (cancelled)."""
        async with self.sessionmaker() as session:
            moved = await page_incidents.advance_maintenance(
                session=session,
                maintenance_id=UUID(inp.maintenance_id),
                to=MaintenanceStatus(inp.to),
                at=activity.info().current_attempt_scheduled_time,
            )
            await session.commit()
        return moved

    @activity.defn(name=ANNOUNCE_MAINTENANCE)
    async def announce_maintenance(self, inp: MaintenanceAnnouncement) -> bool:
        """Record the announcement of a maintenance's reminder, start or completion."""
        async with self.sessionmaker() as session:
            written = await announce.maintenance(session, UUID(inp.maintenance_id), inp.kind)
            await session.commit()
        return written

    @activity.defn(name=SYNC_PAGE)
    async def sync_page(self, inp: SyncPage) -> PageObserved:
        """Auto-publish page incidents for changed internal incidents; observe the statuses."""
        async with self.sessionmaker() as session:
            statuses = await sync.observe(
                session, UUID(inp.page_id), [UUID(i) for i in inp.incident_ids]
            )
            await session.commit()
        if statuses is None:
            return PageObserved(exists=False)
        return PageObserved(exists=True, statuses=statuses)

    @activity.defn(name=ANNOUNCE_COMPONENTS)
    async def announce_components(self, inp: AnnounceComponents) -> bool:
        """Record the announcement of component changes that held."""
        async with self.sessionmaker() as session:
            written = await sync.announce_components(
                session,
                UUID(inp.page_id),
                inp.key,
                {UUID(c.component_id): c.status for c in inp.changes},
            )
            await session.commit()
        return written

    @activity.defn(name=SEND_PARTNER_LINK)
    async def send_partner_link(self, inp: PartnerLinkInput) -> bool:
        """Make a partner's magic-link token (stored hashed) and e-mail the link."""
        async with self.sessionmaker() as session:
            issued = await partners.issue_link(
                session, UUID(inp.login_id), activity.info().current_attempt_scheduled_time
            )
            if issued is None:
                return False
            partner, page, token = issued
            await self.sender.send_partner_link(partner.email, partner.name, page, token)
            await session.commit()
        return True

    @activity.defn(name=PURGE_PARTNER_AUDIT)
    async def purge_partner_audit(self, inp: RetentionInput) -> int:
        """Delete partner audit rows past the 90-day retention."""
        async with self.sessionmaker() as session:
            deleted = await partners.purge_audit(
                session, activity.info().current_attempt_scheduled_time
            )
            await session.commit()
        return deleted
