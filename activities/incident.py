"""Activities of the incident workflow: read configuration, write the projection, page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.automations import service as automations
from app.automations.context import labels_of
from app.catalog import service as catalog
from app.config import Settings
from app.db import SessionMaker
from app.errors import NotFound
from app.escalation import service as escalation
from app.incidents import projection
from app.maintenance import service as maintenance
from app.notify import delivery as notify
from app.oncall import targets as escalation_targets
from app.slack import service as slack
from workflows.automation_types import AutomationsAtOpen
from workflows.incident_rules import NOT_PAGED
from workflows.incident_types import (
    Actor,
    LoadPolicy,
    NotificationStep,
    OpenedIncident,
    OpenIncident,
    PagedLevel,
    PagedUser,
    PageLevel,
    PolicySnapshot,
    Projection,
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


def _steps(planned: list[notify.PlannedStep], email: str) -> list[NotificationStep]:
    """Return the chain's steps; ids only, so no address lands in the workflow history."""
    if not planned:
        return [NotificationStep(channel="log", address=email, delay_seconds=0)]
    return [
        NotificationStep(
            channel=p.channel, contact_method_id=p.contact_method_id, delay_seconds=p.delay_seconds
        )
        for p in planned
    ]


def _missing(exc: NotFound) -> ApplicationError:
    # Configuration that vanished will not come back by retrying.
    return ApplicationError(exc.detail, type="NotFound", non_retryable=True)


def _held_event(inp: OpenIncident, window_id: UUID) -> TimelineEventIn:
    """The timeline's note that the opening paged nobody: the service was in maintenance."""
    return TimelineEventIn(
        id=f"{inp.page_key}:maintenance",
        at=inp.opened_at,
        position=inp.page_position,
        type="maintenance",
        actor=Actor(),
        detail={"window_id": str(window_id), "active": True, "maintenance": NOT_PAGED},
    )


class IncidentActivities:
    """Activities bound to the database; the workflow calls them by name."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings):
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="open_incident")
    async def open_incident(self, inp: OpenIncident) -> OpenedIncident:
        """Snapshot the service and its policy, write the incident row once, page level 1.

        One transaction: the row, its first alert and event, and level 1's 'paged' events,
        with the paged users as its assignees (so the workflow need not write it again).
        """
        async with self.sessionmaker() as session:
            try:
                service = await catalog.get_service(
                    session=session, service_id=UUID(inp.service_id)
                )
                # The service's own policy, else its team's default.
                policy = (await catalog.effective_policy(session=session, service=service)).policy
            except NotFound as exc:
                raise _missing(exc) from exc
            snapshot = policy_snapshot(policy)
            # The integration's severity mapping may choose the urgency; else the service's.
            urgency = inp.urgency or service.urgency
            level_one = PageLevel(
                incident_id=inp.incident_id,
                level=1,
                targets=snapshot.levels[0].targets,
                urgency=urgency,
                page_key=inp.page_key,
                position=inp.page_position,
                at=inp.opened_at,
            )
            # A service in maintenance records the incident but pages nobody (its window's
            # end pages it from level 1, workflows/incident_rules.maintenance).
            window = await maintenance.active_window(
                session=session, service_id=service.id, at=inp.opened_at
            )
            if window is None:
                paged, paged_events = await self._page(session, level_one)
            else:
                paged, paged_events = PagedLevel(users=[]), [_held_event(inp, window)]
            triggers = await automations.enabled_triggers(session=session)
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
                alert_refs=inp.alert_refs,
                events=[inp.event, *paged_events],
                assigned_to=[u.user_id for u in paged.users],
            )
            await session.commit()
        return OpenedIncident(
            number=number,
            service_name=service.name,
            urgency=urgency,
            policy=snapshot,
            ack_timeout_seconds=service.acknowledgement_timeout_seconds,
            auto_resolve_seconds=service.auto_resolve_timeout_seconds,
            chat=slack.configured(self.settings),
            paged=paged,
            maintenance_window_id=None if window is None else str(window),
            # Only when some automation is enabled: otherwise the workflow does nothing more.
            automations=AutomationsAtOpen(
                triggers=triggers,
                team_id=str(service.team_id) if service.team_id else None,
                labels=labels_of(inp.alerts[0].details),
            )
            if triggers
            else None,
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
            except NotFound as exc:
                raise _missing(exc) from exc
        return policy_snapshot(policy)

    @activity.defn(name="page_level")
    async def page_level(self, inp: PageLevel) -> PagedLevel:
        """Resolve a level's targets now, record one 'paged' event per user, return their plans."""
        async with self.sessionmaker() as session:
            paged, events = await self._page(session, inp)
            await projection.insert_events(session, inp.incident_id, events)
            await session.commit()
        return paged

    async def _page(
        self, session: AsyncSession, inp: PageLevel
    ) -> tuple[PagedLevel, list[TimelineEventIn]]:
        """Return whom a level reaches and how, and its 'paged' events (not yet written)."""
        found = await escalation_targets.resolve(session=session, targets=inp.targets, at=inp.at)
        users, events = [], []
        planned = await notify.plans(
            session=session, user_ids=[u.id for u in found.users], urgency=inp.urgency
        )
        for u in found.users:
            steps = planned[u.id]
            detail: dict[str, object] = {"user_id": str(u.id), "name": u.name, "level": inp.level}
            if not steps:
                # Nobody can be reached: the timeline says so, the delivery log records what
                # would have been sent (channel "log"), and the escalation goes on.
                detail.update(reachable=False, reason="no verified contact method")
            users.append(PagedUser(user_id=str(u.id), name=u.name, steps=_steps(steps, u.email)))
            events.append(
                TimelineEventIn(
                    id=f"{inp.page_key}:{u.id}",
                    at=inp.at,
                    position=inp.position,
                    type="paged",
                    actor=Actor(),
                    detail=detail,
                )
            )
        s = self.settings
        chat = bool(s.teams_webhook_url or (s.slack_page_channel and s.slack_bot_token))
        paged = PagedLevel(users=users, unresolved=found.unresolved, announce=chat and bool(users))
        return paged, events
