"""Postmortems: create from incidents, edit, review, publish, keep versions, export."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog.models import Service
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.identity.models import Role, Team, User
from app.incidents.models import Incident, TimelineEvent
from app.postmortems import facts as facts_
from app.postmortems import templates as bodies
from app.postmortems import timeline as timeline_
from app.postmortems.access import can_edit, can_read, team_ids_of
from app.postmortems.models import (
    Postmortem,
    PostmortemCreate,
    PostmortemPublic,
    PostmortemStatus,
    PostmortemSummary,
    PostmortemTemplate,
    PostmortemUpdate,
    PostmortemVersion,
    TimelineEntry,
)

# The document's workflow: which transition leads from which state.
TRANSITIONS: dict[str, tuple[PostmortemStatus, PostmortemStatus]] = {
    "review": (PostmortemStatus.draft, PostmortemStatus.in_review),
    "publish": (PostmortemStatus.in_review, PostmortemStatus.published),
    "reopen": (PostmortemStatus.in_review, PostmortemStatus.draft),
}


def public(pm: Postmortem) -> PostmortemPublic:
    """Return the API view of a postmortem."""
    return PostmortemPublic.model_validate({**pm.model_dump(), "timeline": pm.timeline or []})


def summary(pm: Postmortem) -> PostmortemSummary:
    """Return the list view of a postmortem (no body, no timeline)."""
    return PostmortemSummary.model_validate(pm.model_dump())


async def user_names(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    """Return user id (text) → name for the ids that are UUIDs of users."""
    wanted = set()
    for raw in ids:
        try:
            wanted.add(UUID(raw))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(User.id), col(User.name)).where(col(User.id).in_(wanted))
    )
    return {str(i): n for i, n in rows.all()}


# --- generation -----------------------------------------------------------------------------


async def _incidents(session: AsyncSession, ids: list[UUID]) -> list[Incident]:
    unique = list(dict.fromkeys(ids))
    rows = (await session.scalars(select(Incident).where(col(Incident.id).in_(unique)))).all()
    found = {i.id: i for i in rows}
    missing = [str(i) for i in unique if i not in found]
    if missing:
        message = f"unknown incident ids: {', '.join(missing)}"
        raise Invalid(message, errors=[{"field": "incident_ids", "message": message}])
    return sorted(found.values(), key=lambda i: i.number or 0)


async def _source_events(
    session: AsyncSession, incidents: list[Incident]
) -> list[timeline_.SourceEvent]:
    numbers = {i.id: i.number or 0 for i in incidents}
    rows = await session.scalars(
        select(TimelineEvent).where(col(TimelineEvent.incident_id).in_(list(numbers)))
    )
    events: list[timeline_.SourceEvent] = []
    for e in rows.all():
        assert e.at is not None  # a NOT NULL column; the model types it optional
        events.append(
            timeline_.SourceEvent(
                id=e.id,
                incident_id=e.incident_id,
                incident_number=numbers[e.incident_id],
                at=e.at,
                type=e.type,
                actor=e.actor or {},
                detail=e.detail or {},
                position=e.position,
                seq=e.seq or 0,
            )
        )
    return events


async def _template(session: AsyncSession, template_id: UUID | None) -> PostmortemTemplate:
    if template_id is not None:
        template = await session.get(PostmortemTemplate, template_id)
        if template is None:
            message = f"unknown template id: {template_id}"
            raise Invalid(message, errors=[{"field": "template_id", "message": message}])
        return template
    template = await session.scalar(
        select(PostmortemTemplate).order_by(
            col(PostmortemTemplate.is_default).desc(), col(PostmortemTemplate.created_at)
        )
    )
    if template is None:  # every template deleted: fall back to the built-in one
        template = PostmortemTemplate(
            name=bodies.DEFAULT_TEMPLATE_NAME, body=bodies.DEFAULT_TEMPLATE_BODY, is_default=True
        )
    return template


async def _team_for(
    session: AsyncSession, requested: UUID | None, incidents: list[Incident], user: User
) -> UUID | None:
    if requested is not None:
        if await session.get(Team, requested) is None:
            message = f"unknown team id: {requested}"
            raise Invalid(message, errors=[{"field": "team_id", "message": message}])
        return requested
    service = await session.get(Service, incidents[0].service_id)
    if service is not None and service.team_id is not None:
        return service.team_id
    teams = sorted(await team_ids_of(session, user.id))
    return teams[0] if teams else None


async def create(
    *, session: AsyncSession, pm_in: PostmortemCreate, user: User, actor: Actor
) -> Postmortem:
    """Create a draft from incidents: generated timeline, body filled from a template."""
    if user.role == Role.observer:
        raise Forbidden("observers only read postmortems")
    incidents = await _incidents(session, pm_in.incident_ids)
    events = await _source_events(session, incidents)
    service_ids = {i.service_id for i in incidents}
    services: dict[UUID, str] = dict(
        (
            await session.execute(
                select(col(Service.id), col(Service.name)).where(col(Service.id).in_(service_ids))
            )
        ).all()
    )
    ids = {str(e.actor.get("id")) for e in events} | {str(e.detail.get("user_id")) for e in events}
    names = await user_names(session, ids)
    template = await _template(session, pm_in.template_id)
    title = (
        pm_in.title
        or (
            f"Postmortem: #{incidents[0].number} {incidents[0].title}"
            if len(incidents) == 1
            else f"Postmortem: {len(incidents)} incidents from #{incidents[0].number}"
        )[:300]
    )
    context = facts_.compute(
        [
            facts_.IncidentFacts(
                id=str(i.id),
                number=i.number or 0,
                title=i.title,
                service=services.get(i.service_id, str(i.service_id)),
                severity=i.severity,
                status=i.status,
                created_at=i.created_at or utcnow(),
                acknowledged_at=i.acknowledged_at,
                resolved_at=i.resolved_at,
                alert_count=i.alert_count,
            )
            for i in incidents
        ],
        events,
        names,
    )
    pm = Postmortem(
        title=title,
        status=PostmortemStatus.draft.value,
        body=bodies.render(template.body, {"title": title, **context}),
        timeline=timeline_.generate(events, names, several_incidents=len(incidents) > 1),
        incident_ids=[i.id for i in incidents],
        owner_id=user.id,
        team_id=await _team_for(session, pm_in.team_id, incidents, user),
        template_id=template.id if template.created_at else None,
    )
    session.add(pm)
    await session.flush()
    await session.refresh(pm)
    await _snapshot(session, pm, user.id)
    await audit.record(
        session=session,
        actor=actor,
        action="postmortem.create",
        entity_type="postmortem",
        entity_id=pm.id,
        after=summary(pm),
    )
    return pm


# --- reads ----------------------------------------------------------------------------------


async def get(*, session: AsyncSession, postmortem_id: UUID, user: User) -> Postmortem:
    """Return a postmortem the user may read; 404 otherwise (drafts are not advertised)."""
    pm = await session.get(Postmortem, postmortem_id)
    if pm is None or not can_read(user, pm, await team_ids_of(session, user.id)):
        raise NotFound(f"postmortem {postmortem_id} does not exist")
    return pm


async def get_for_edit(*, session: AsyncSession, postmortem_id: UUID, user: User) -> Postmortem:
    """Return a postmortem the user may change (403 if they may only read it), row locked.

    The lock orders concurrent edits: each reads the version the previous one wrote, so two
    edits never both write version n + 1.
    """
    await session.get(Postmortem, postmortem_id, with_for_update=True, populate_existing=True)
    pm = await get(session=session, postmortem_id=postmortem_id, user=user)
    if not can_edit(user, pm, await team_ids_of(session, user.id)):
        raise Forbidden("only the owner's team and admins change this postmortem")
    return pm


async def list_postmortems(
    *,
    session: AsyncSession,
    user: User,
    status: PostmortemStatus | None = None,
    incident_id: UUID | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Postmortem], int]:
    """Return the postmortems the user may read, newest first, and how many match."""
    query = select(Postmortem)
    if user.role != Role.admin:
        teams = await team_ids_of(session, user.id)
        visible = [
            col(Postmortem.status) == PostmortemStatus.published.value,
            col(Postmortem.owner_id) == user.id,
        ]
        if teams:
            visible.append(col(Postmortem.team_id).in_(teams))
        query = query.where(or_(*visible))
    if status is not None:
        query = query.where(col(Postmortem.status) == status.value)
    if incident_id is not None:
        query = query.where(col(Postmortem.incident_ids).contains([incident_id]))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(Postmortem.created_at).desc(), col(Postmortem.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def versions(
    *, session: AsyncSession, postmortem_id: UUID, user: User
) -> list[PostmortemVersion]:
    """Return the postmortem's snapshots, oldest first."""
    await get(session=session, postmortem_id=postmortem_id, user=user)
    rows = await session.scalars(
        select(PostmortemVersion)
        .where(col(PostmortemVersion.postmortem_id) == postmortem_id)
        .order_by(col(PostmortemVersion.version))
    )
    return list(rows.all())


# --- changes --------------------------------------------------------------------------------


async def _snapshot(session: AsyncSession, pm: Postmortem, author_id: UUID | None) -> None:
    session.add(
        PostmortemVersion(
            postmortem_id=pm.id,
            version=pm.version,
            status=pm.status,
            title=pm.title,
            body=pm.body,
            timeline=list(pm.timeline or []),
            author_id=author_id,
        )
    )
    await session.flush()


async def record_change(
    session: AsyncSession,
    pm: Postmortem,
    user: User,
    actor: Actor,
    action: str,
    before: PostmortemSummary | dict[str, Any],
    *,
    edited: bool,
) -> Postmortem:
    """Record a change: a published document that is edited becomes a draft again."""
    if edited and pm.status == PostmortemStatus.published.value:
        pm.status = PostmortemStatus.draft.value
    pm.version += 1
    pm.updated_at = utcnow()
    session.add(pm)
    await session.flush()
    await _snapshot(session, pm, user.id)
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="postmortem",
        entity_id=pm.id,
        before=before,
        after=summary(pm),
    )
    return pm


def _merge_timeline(old: list[dict[str, Any]], new: list[TimelineEntry]) -> list[dict[str, Any]]:
    """Take the client's entries; a source event link survives only where it already was."""
    sources = {str(e["id"]): e.get("source_event_id") for e in old}
    kinds = {str(e["id"]): (e.get("type"), e.get("incident_id")) for e in old}
    merged = []
    for entry in new:
        data = entry.model_dump(mode="json")
        data["source_event_id"] = sources.get(entry.id)
        data["type"], data["incident_id"] = kinds.get(entry.id, ("manual", None))
        merged.append(data)
    return timeline_.sort_entries(merged)


async def update(
    *,
    session: AsyncSession,
    postmortem_id: UUID,
    pm_in: PostmortemUpdate,
    user: User,
    actor: Actor,
) -> Postmortem:
    """Edit title, body, timeline, owner or team; an edit after publish makes it a draft."""
    pm = await get_for_edit(session=session, postmortem_id=postmortem_id, user=user)
    before = summary(pm)
    changes = pm_in.model_dump(exclude_unset=True)
    if "owner_id" in changes:
        if changes["owner_id"] is None or await session.get(User, changes["owner_id"]) is None:
            message = f"unknown user id: {changes['owner_id']}"
            raise Invalid(message, errors=[{"field": "owner_id", "message": message}])
        pm.owner_id = changes["owner_id"]
    if "team_id" in changes:
        if changes["team_id"] is not None and await session.get(Team, changes["team_id"]) is None:
            message = f"unknown team id: {changes['team_id']}"
            raise Invalid(message, errors=[{"field": "team_id", "message": message}])
        pm.team_id = changes["team_id"]
    if changes.get("title") is not None:
        pm.title = changes["title"]
    if changes.get("body") is not None:
        pm.body = changes["body"]
    if pm_in.timeline is not None:
        pm.timeline = _merge_timeline(pm.timeline or [], pm_in.timeline)
    return await record_change(session, pm, user, actor, "postmortem.update", before, edited=True)


async def transition(
    *, session: AsyncSession, postmortem_id: UUID, name: str, user: User, actor: Actor
) -> Postmortem:
    """Move the document along draft → in_review → published (or back to draft); else 409."""
    pm = await get_for_edit(session=session, postmortem_id=postmortem_id, user=user)
    source, target = TRANSITIONS[name]
    if pm.status != source.value:
        raise Conflict(
            f"cannot {name} a postmortem that is {pm.status} (only from {source.value})",
            current_status=pm.status,
        )
    before = summary(pm)
    pm.status = target.value
    if target == PostmortemStatus.published:
        pm.published_at = utcnow()
        pm.published_by = user.id
    return await record_change(session, pm, user, actor, f"postmortem.{name}", before, edited=False)


async def delete(*, session: AsyncSession, postmortem_id: UUID, user: User, actor: Actor) -> None:
    """Delete a postmortem (admins, or its owner while it is a draft)."""
    pm = await get_for_edit(session=session, postmortem_id=postmortem_id, user=user)
    if user.role != Role.admin and not (
        pm.owner_id == user.id and pm.status == PostmortemStatus.draft.value
    ):
        raise Forbidden("only admins, or the owner of a draft, delete a postmortem")
    await audit.record(
        session=session,
        actor=actor,
        action="postmortem.delete",
        entity_type="postmortem",
        entity_id=pm.id,
        before=summary(pm),
    )
    await session.delete(pm)
    await session.flush()
