"""Activities of the incident workflow: read configuration, write the projection, page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.catalog import service as catalog
from app.config import Settings
from app.db import SessionMaker
from app.errors import Problem
from app.escalation import service as escalation
from app.escalation import targets as escalation_targets
from app.incidents import projection
from app.notify.messages import page_message
from app.slack import service as slack
from workflows.incident_types import (
    Actor,
    DeliveryResult,
    LoadPolicy,
    NotificationStep,
    OpenedIncident,
    OpenIncident,
    PagedLevel,
    PagedUser,
    PageLevel,
    PolicySnapshot,
    Projection,
    SendNotification,
    TimelineEventIn,
)


def policy_snapshot(policy: Any) -> PolicySnapshot:
    """Return the workflow's frozen copy of an escalation policy row."""
    return PolicySnapshot.model_validate(
        {
            "id": str(policy.id),
            "name": policy.name,
            "repeat": policy.repeat,
            "levels": policy.levels,
        }
    )


def _missing(exc: Problem) -> ApplicationError:
    # Configuration that vanished will not come back by retrying.
    return ApplicationError(exc.detail or exc.title, type="NotFound", non_retryable=True)


class IncidentActivities:
    """Activities bound to the database; the workflow calls them by name."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings):
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="open_incident")
    async def open_incident(self, inp: OpenIncident) -> OpenedIncident:
        """Snapshot the service and its policy, and write the incident row once."""
        async with self.sessionmaker() as session:
            try:
                service = await catalog.get_service(
                    session=session, service_id=UUID(inp.service_id)
                )
                policy = await escalation.get_policy(
                    session=session, policy_id=service.escalation_policy_id
                )
            except Problem as exc:
                raise _missing(exc) from exc
            # The integration's severity mapping may choose the urgency; else the service's.
            urgency = inp.alerts[0].urgency or service.urgency
            number = await projection.open_incident(
                session=session,
                incident_id=inp.incident_id,
                workflow_id=inp.workflow_id,
                run_id=inp.run_id,
                service_id=inp.service_id,
                dedup_key=inp.dedup_key,
                title=inp.title,
                severity=inp.severity,
                urgency=urgency,
                policy_id=str(policy.id),
                opened_at=inp.opened_at,
                alerts=inp.alerts,
                event=inp.event,
            )
            await session.commit()
        return OpenedIncident(
            number=number,
            service_name=service.name,
            urgency=urgency,
            policy=policy_snapshot(policy),
            ack_timeout_seconds=service.acknowledgement_timeout_seconds,
            auto_resolve_seconds=service.auto_resolve_timeout_seconds,
            chat=slack.configured(self.settings),
        )

    @activity.defn(name="record_incident")
    async def record_incident(self, inp: Projection) -> None:
        """Write the workflow's latest state, alerts and timeline events."""
        async with self.sessionmaker() as session:
            await projection.record(session=session, projection=inp)
            await session.commit()

    @activity.defn(name="load_policy")
    async def load_policy(self, inp: LoadPolicy) -> PolicySnapshot:
        """Return a snapshot of an escalation policy (for reassignment)."""
        async with self.sessionmaker() as session:
            try:
                policy = await escalation.get_policy(session=session, policy_id=UUID(inp.policy_id))
            except Problem as exc:
                raise _missing(exc) from exc
        return policy_snapshot(policy)

    @activity.defn(name="page_level")
    async def page_level(self, inp: PageLevel) -> PagedLevel:
        """Resolve a level's targets now, record one 'paged' event per user, return their plans."""
        async with self.sessionmaker() as session:
            found = await escalation_targets.resolve(
                session=session, targets=inp.targets, at=inp.at
            )
            users = [
                PagedUser(user_id=str(u.id), name=u.name, steps=self._plan(u.email))
                for u in found.users
            ]
            events = [
                TimelineEventIn(
                    id=f"{inp.page_key}:{u.user_id}",
                    at=inp.at,
                    position=inp.position,
                    type="paged",
                    actor=Actor(),
                    detail={"user_id": u.user_id, "name": u.name, "level": inp.level},
                )
                for u in users
            ]
            await projection.insert_events(session, inp.incident_id, events)
            await session.commit()
        return PagedLevel(users=users, unresolved=found.unresolved)

    def _plan(self, email: str) -> list[NotificationStep]:
        # Until per-user notification rules exist, every page goes through the `log` channel,
        # which records exactly what would be sent.
        return [NotificationStep(channel="log", address=email, delay_seconds=0)]

    @activity.defn(name="send_notification")
    async def send_notification(self, inp: SendNotification) -> DeliveryResult:
        """Send one notification step and record it in the delivery log, once per key."""
        url = f"{self.settings.base_url}/incidents/{inp.incident_id}"
        message = page_message(
            number=inp.number,
            title=inp.title,
            service=inp.service_name,
            severity=inp.severity,
            url=url,
            level=inp.level,
        )
        if inp.step.channel != "log":
            raise ApplicationError(
                f"channel {inp.step.channel} is not available",
                type="PermanentDeliveryError",
                non_retryable=True,
            )
        now = activity.info().current_attempt_scheduled_time
        async with self.sessionmaker() as session:
            event = TimelineEventIn(
                id=f"{inp.idempotency_key}:notified",
                at=now,
                position=inp.position,
                type="notified",
                actor=Actor(),
                detail={"user_id": inp.user_id, "channel": "log", "level": inp.level},
            )
            row_id, _ = await projection.record_delivery(
                session=session,
                idempotency_key=inp.idempotency_key,
                incident_id=inp.incident_id,
                user_id=inp.user_id,
                level=inp.level,
                channel="log",
                provider="log",
                address=inp.step.address,
                status="sent",
                message=f"{message.subject}\n{message.text}",
                error=None,
                provider_id=None,
                at=now,
                event=event,
            )
            await session.commit()
        activity.logger.info("page #%s to user %s via log", inp.number, inp.user_id)
        return DeliveryResult(notification_id=row_id, status="sent", channel="log", provider="log")
