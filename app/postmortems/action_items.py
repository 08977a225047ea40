"""Action items of postmortems: create, move through their states, filter, compute due instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.identity.models import Role, User
from app.postmortems import service as postmortems
from app.postmortems.access import can_edit, can_read, team_ids_of
from app.postmortems.models import (
    ActionItem,
    ActionItemCreate,
    ActionItemPublic,
    ActionItemStatus,
    ActionItemUpdate,
    Postmortem,
    PostmortemStatus,
)

# open → in_progress → completed; reopen (back to open) from either later state.
ALLOWED: dict[ActionItemStatus, frozenset[ActionItemStatus]] = {
    ActionItemStatus.open: frozenset({ActionItemStatus.in_progress}),
    ActionItemStatus.in_progress: frozenset({ActionItemStatus.completed, ActionItemStatus.open}),
    ActionItemStatus.completed: frozenset({ActionItemStatus.open}),
}


def due_instant(due_date: date | None, timezone: str) -> datetime | None:
    """Return when an item due on `due_date` is overdue: that day's end in the assignee's zone."""
    if due_date is None:
        return None
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(due_date + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def is_overdue(item: ActionItem, now: datetime) -> bool:
    """Return whether the item is past its due date and not completed."""
    return (
        item.status != ActionItemStatus.completed.value
        and item.due_at is not None
        and item.due_at <= now
    )


def public(item: ActionItem, now: datetime | None = None) -> ActionItemPublic:
    """Return the API view of an action item."""
    return ActionItemPublic.model_validate(
        {**item.model_dump(), "overdue": is_overdue(item, now or utcnow())}
    )


async def _assignee(session: AsyncSession, user_id: UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        message = f"unknown user id: {user_id}"
        raise Invalid(message, errors=[{"field": "assignee_id", "message": message}])
    return user


async def create(
    *,
    session: AsyncSession,
    postmortem_id: UUID,
    item_in: ActionItemCreate,
    user: User,
    actor: Actor,
) -> ActionItem:
    """Add an action item to a postmortem (by those who may edit it)."""
    pm = await postmortems.get_for_edit(session=session, postmortem_id=postmortem_id, user=user)
    assignee = await _assignee(session, item_in.assignee_id)
    item = ActionItem(
        postmortem_id=pm.id,
        title=item_in.title,
        assignee_id=assignee.id,
        due_date=item_in.due_date,
        due_at=due_instant(item_in.due_date, assignee.timezone),
        priority=item_in.priority.value,
    )
    session.add(item)
    await session.flush()
    await session.refresh(item)
    await audit.record(
        session=session,
        actor=actor,
        action="action_item.create",
        entity_type="action_item",
        entity_id=item.id,
        after=public(item),
    )
    return item


async def _postmortem_of(session: AsyncSession, item: ActionItem) -> Postmortem:
    pm = await session.get(Postmortem, item.postmortem_id)
    assert pm is not None  # the foreign key cascades
    return pm


async def get(*, session: AsyncSession, item_id: UUID, user: User) -> ActionItem:
    """Return an action item whose postmortem the user may read."""
    item = await session.get(ActionItem, item_id)
    if item is None or not can_read(
        user, await _postmortem_of(session, item), await team_ids_of(session, user.id)
    ):
        raise NotFound(f"action item {item_id} does not exist")
    return item


async def get_for_change(*, session: AsyncSession, item_id: UUID, user: User) -> ActionItem:
    """Return an item the user may change: its assignee, the postmortem's team, admins."""
    item = await get(session=session, item_id=item_id, user=user)
    if user.role == Role.observer:
        raise Forbidden("observers only read action items")
    pm = await _postmortem_of(session, item)
    if user.id != item.assignee_id and not can_edit(user, pm, await team_ids_of(session, user.id)):
        raise Forbidden("only the assignee, the postmortem's team and admins change this item")
    return item


async def update(
    *, session: AsyncSession, item_id: UUID, item_in: ActionItemUpdate, user: User, actor: Actor
) -> tuple[ActionItem, bool]:
    """Edit an item or move its status; return it and whether its reminder must be told."""
    item = await get_for_change(session=session, item_id=item_id, user=user)
    before = public(item)
    changes = item_in.model_dump(exclude_unset=True)
    remind = False
    if item_in.status is not None and item_in.status.value != item.status:
        current = ActionItemStatus(item.status)
        if item_in.status not in ALLOWED[current]:
            allowed = ", ".join(sorted(s.value for s in ALLOWED[current]))
            raise Conflict(
                f"an action item that is {current.value} can move only to: {allowed}",
                current_status=current.value,
            )
        item.status = item_in.status.value
        item.completed_at = utcnow() if item_in.status == ActionItemStatus.completed else None
        remind = item.due_at is not None  # without a due date there is no reminder to tell
    if item_in.title is not None:
        item.title = item_in.title
    if item_in.priority is not None:
        item.priority = item_in.priority.value
    assignee = None
    if item_in.assignee_id is not None and item_in.assignee_id != item.assignee_id:
        assignee = await _assignee(session, item_in.assignee_id)
        item.assignee_id = assignee.id
    if "due_date" in changes or assignee is not None:
        if "due_date" in changes:
            item.due_date = item_in.due_date
        zone = (assignee or await _assignee(session, item.assignee_id)).timezone
        due_at = due_instant(item.due_date, zone)
        remind = remind or due_at != item.due_at
        item.due_at = due_at
    item.updated_at = utcnow()
    session.add(item)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="action_item.update",
        entity_type="action_item",
        entity_id=item.id,
        before=before,
        after=public(item),
    )
    return item, remind


async def set_external(
    *, session: AsyncSession, item: ActionItem, url: str, key: str, actor: Actor
) -> ActionItem:
    """Keep the link to the issue an item was pushed to."""
    before = public(item)
    item.external_url = url
    item.external_key = key
    item.updated_at = utcnow()
    session.add(item)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="action_item.push",
        entity_type="action_item",
        entity_id=item.id,
        before=before,
        after=public(item),
    )
    return item


async def list_items(
    *,
    session: AsyncSession,
    user: User,
    postmortem_id: UUID | None = None,
    assignee_id: UUID | None = None,
    status: ActionItemStatus | None = None,
    overdue: bool | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ActionItem]:
    """Return action items across the postmortems the user may read, soonest due first."""
    query = select(ActionItem).join(Postmortem, col(Postmortem.id) == col(ActionItem.postmortem_id))
    if user.role != Role.admin:
        teams = await team_ids_of(session, user.id)
        visible = [
            col(Postmortem.status) == PostmortemStatus.published.value,
            col(Postmortem.owner_id) == user.id,
            col(ActionItem.assignee_id) == user.id,
        ]
        if teams:
            visible.append(col(Postmortem.team_id).in_(teams))
        query = query.where(or_(*visible))
    if postmortem_id is not None:
        query = query.where(col(ActionItem.postmortem_id) == postmortem_id)
    if assignee_id is not None:
        query = query.where(col(ActionItem.assignee_id) == assignee_id)
    if status is not None:
        query = query.where(col(ActionItem.status) == status.value)
    now = utcnow()
    late = (col(ActionItem.status) != ActionItemStatus.completed.value) & (
        col(ActionItem.due_at) <= now
    )
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late | col(ActionItem.due_at).is_(None))
    rows = await session.scalars(
        query.order_by(
            col(ActionItem.due_at).asc().nulls_last(),
            col(ActionItem.created_at),
            col(ActionItem.id),
        )
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all())


async def titles_for_export(
    *, session: AsyncSession, postmortem_id: UUID
) -> list[tuple[str, str, str]]:
    """Return (title, status, assignee name) of a postmortem's items, for the Markdown export."""
    rows = await session.execute(
        select(col(ActionItem.title), col(ActionItem.status), col(User.name))
        .join(User, col(User.id) == col(ActionItem.assignee_id))
        .where(col(ActionItem.postmortem_id) == postmortem_id)
        .order_by(col(ActionItem.created_at), col(ActionItem.id))
    )
    return [(t, s, n) for t, s, n in rows.all()]
