"""Postmortem pages: list, editor with a live sanitised preview, timeline editor, action items."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections import service as connections
from app.connections.models import ConnectionType
from app.deps import SessionDep, get_temporal
from app.errors import DomainError, NotFound, invalid
from app.identity import service as identity
from app.postmortems import action_items, export, push, reminders, timeline_edits
from app.postmortems import service as postmortems
from app.postmortems.access import can_edit, team_ids_of
from app.postmortems.markdown import to_html
from app.postmortems.models import (
    ActionItemCreate,
    ActionItemStatus,
    ActionItemUpdate,
    Postmortem,
    PostmortemCreate,
    PostmortemUpdate,
    Priority,
    TimelineEntryIn,
    TimelineEntryUpdate,
)
from app.problems import as_problem
from app.web.auth import Viewer, WebViewer
from app.web.render import SECURITY_HEADERS, WebRoute, error_page, page, see_other


class PostmortemRoute(WebRoute):
    """A page route where the domain's errors become friendly pages too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def _handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                problem = as_problem(exc)
                response = error_page(request, problem.status, problem.title, problem.detail)
                for name, value in SECURITY_HEADERS.items():
                    response.headers.setdefault(name, value)
                return response

        return _handle


router = APIRouter(route_class=PostmortemRoute, include_in_schema=False)

DONE = {
    "saved": "Saved.",
    "review": "Sent for review.",
    "publish": "Published.",
    "reopen": "Back to draft.",
    "timeline": "Timeline updated.",
    "item": "Action item saved.",
    "pushed": "Issue created; the action item links to it.",
}


async def _render(
    request: Request, session: AsyncSession, viewer: Viewer, pm: Postmortem, done: str | None
) -> HTMLResponse:
    items = await action_items.list_items(session=session, user=viewer.user, postmortem_id=pm.id)
    people = {str(u.id): u.name for u in (await identity.list_users(session=session, limit=500))[0]}
    editable = can_edit(viewer.user, pm, await team_ids_of(session, viewer.user.id))
    trackers = [
        c
        for c in await connections.list_connections(session=session)
        if c.type in (ConnectionType.jira.value, ConnectionType.linear.value)
    ]
    return page(
        request,
        "postmortem.html",
        viewer,
        pm=pm,
        preview=to_html(pm.body),
        items=[action_items.public(i) for i in items],
        people=people,
        editable=editable,
        done=DONE.get(done or ""),
        statuses=[s.value for s in ActionItemStatus],
        priorities=[p.value for p in Priority],
        allowed=action_items.ALLOWED,
        trackers=trackers if editable else [],
    )


@router.get("/postmortems", response_class=HTMLResponse)
async def postmortems_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List the postmortems the viewer may read."""
    rows, _ = await postmortems.list_postmortems(session=session, user=viewer.user, limit=200)
    return page(request, "postmortems.html", viewer, postmortems=rows)


@router.post("/postmortems")
async def create_postmortem(
    session: SessionDep,
    viewer: WebViewer,
    incident_id: Annotated[UUID, Form()],
) -> Response:
    """Create a draft from an incident (the button on the incident page)."""
    pm = await postmortems.create(
        session=session,
        pm_in=PostmortemCreate(incident_ids=[incident_id]),
        user=viewer.user,
        actor=viewer.actor,
    )
    return see_other(f"/postmortems/{pm.id}")


@router.get("/postmortems/{postmortem_id}", response_class=HTMLResponse)
async def postmortem_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    postmortem_id: UUID,
    done: str | None = None,
) -> Response:
    """The editor: title, Markdown body with preview, state, timeline and action items."""
    pm = await postmortems.get(session=session, postmortem_id=postmortem_id, user=viewer.user)
    return await _render(request, session, viewer, pm, done)


@router.get("/postmortems/{postmortem_id}/export.md")
async def export_markdown(session: SessionDep, viewer: WebViewer, postmortem_id: UUID) -> Response:
    """Download the Markdown export (the API's `.md`, with the web session)."""
    pm = await postmortems.get(session=session, postmortem_id=postmortem_id, user=viewer.user)
    items = await action_items.titles_for_export(session=session, postmortem_id=pm.id)
    return PlainTextResponse(
        export.to_markdown(pm, items),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="postmortem-{pm.id}.md"'},
    )


@router.post("/postmortems/{postmortem_id}/preview", response_class=HTMLResponse)
async def preview(
    session: SessionDep,
    viewer: WebViewer,
    postmortem_id: UUID,
    body: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Render Markdown to sanitised HTML for the live preview (nothing is saved)."""
    await postmortems.get(session=session, postmortem_id=postmortem_id, user=viewer.user)
    return HTMLResponse(to_html(body), headers={"Cache-Control": "no-store"})


@router.post("/postmortems/{postmortem_id}/edit")
async def edit(
    session: SessionDep,
    viewer: WebViewer,
    postmortem_id: UUID,
    title: Annotated[str, Form(min_length=1, max_length=300)],
    body: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Save title and body."""
    await postmortems.update(
        session=session,
        postmortem_id=postmortem_id,
        pm_in=PostmortemUpdate(title=title.strip() or None, body=body.replace("\r\n", "\n")),
        user=viewer.user,
        actor=viewer.actor,
    )
    return see_other(f"/postmortems/{postmortem_id}?done=saved")


@router.post("/postmortems/{postmortem_id}/state/{name}")
async def move(session: SessionDep, viewer: WebViewer, postmortem_id: UUID, name: str) -> Response:
    """Send for review, publish, or back to draft."""
    if name not in postmortems.TRANSITIONS:
        raise NotFound(f"no such step: {name}")
    await postmortems.transition(
        session=session,
        postmortem_id=postmortem_id,
        name=name,
        user=viewer.user,
        actor=viewer.actor,
    )
    return see_other(f"/postmortems/{postmortem_id}?done={name}")


@router.post("/postmortems/{postmortem_id}/timeline")
async def add_entry(
    session: SessionDep,
    viewer: WebViewer,
    postmortem_id: UUID,
    at: Annotated[datetime, Form()],
    text: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    """Add a timeline entry by hand (the form's time is UTC)."""
    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    await timeline_edits.add_entry(
        session=session,
        postmortem_id=postmortem_id,
        entry_in=TimelineEntryIn(at=when, text=text.strip()),
        user=viewer.user,
        actor=viewer.actor,
    )
    return see_other(f"/postmortems/{postmortem_id}?done=timeline#timeline")


@router.post("/postmortems/{postmortem_id}/timeline/{entry_id}")
async def update_entry(
    session: SessionDep,
    viewer: WebViewer,
    postmortem_id: UUID,
    entry_id: str,
    hidden: Annotated[str | None, Form()] = None,
    text: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Hide, restore or reword one entry."""
    await timeline_edits.update_entry(
        session=session,
        postmortem_id=postmortem_id,
        entry_id=entry_id,
        entry_in=TimelineEntryUpdate(
            hidden=None if hidden is None else hidden == "true",
            text=text.strip() if text and text.strip() else None,
        ),
        user=viewer.user,
        actor=viewer.actor,
    )
    return see_other(f"/postmortems/{postmortem_id}?done=timeline#timeline")


@router.post("/postmortems/{postmortem_id}/action-items")
async def add_item(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    postmortem_id: UUID,
    title: Annotated[str, Form(min_length=1, max_length=300)],
    assignee_id: Annotated[UUID, Form()],
    priority: Annotated[Priority, Form()] = Priority.medium,
    due_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Add an action item."""
    try:
        due = date.fromisoformat(due_date) if due_date else None
    except ValueError:
        raise invalid([{"field": "due_date", "message": "not a date (YYYY-MM-DD)"}]) from None
    item = await action_items.create(
        session=session,
        postmortem_id=postmortem_id,
        item_in=ActionItemCreate(
            title=title.strip(),
            assignee_id=assignee_id,
            priority=priority,
            due_date=due,
        ),
        user=viewer.user,
        actor=viewer.actor,
    )
    if item.due_at is not None:
        settings = request.app.state.settings
        await reminders.sync(client=await get_temporal(request), settings=settings, item=item)
    return see_other(f"/postmortems/{postmortem_id}?done=item#action-items")


@router.post("/action-items/{item_id}/status")
async def move_item(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    item_id: UUID,
    status: Annotated[ActionItemStatus, Form()],
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Move an action item (open → in progress → completed, reopen)."""
    item, remind = await action_items.update(
        session=session,
        item_id=item_id,
        item_in=ActionItemUpdate(status=status),
        user=viewer.user,
        actor=viewer.actor,
    )
    if remind:
        settings = request.app.state.settings
        await reminders.sync(client=await get_temporal(request), settings=settings, item=item)
    target = back if back.startswith("/") and not back.startswith("//") else "/action-items"
    return see_other(target)


@router.post("/action-items/{item_id}/push")
async def push_item(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    item_id: UUID,
    connection_id: Annotated[UUID, Form()],
    target: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    """Create the item's issue in Jira (target: project key) or Linear (target: team id)."""
    connection = await connections.get(session=session, connection_id=connection_id)
    jira = connection.type == ConnectionType.jira.value
    item = await push.push(
        session=session,
        settings=request.app.state.settings,
        item_id=item_id,
        body=push.PushBody(
            connection_id=connection_id,
            project_key=target.strip().upper() if jira else None,
            team_id=None if jira else target.strip(),
        ),
        user=viewer.user,
        actor=viewer.actor,
    )
    return see_other(f"/postmortems/{item.postmortem_id}?done=pushed#action-items")


@router.get("/action-items", response_class=HTMLResponse)
async def board(
    request: Request, session: SessionDep, viewer: WebViewer, mine: bool = False
) -> Response:
    """The action items board: one column per status, overdue ones marked."""
    items = await action_items.list_items(
        session=session, user=viewer.user, assignee_id=viewer.user.id if mine else None, limit=500
    )
    columns = {
        s.value: [action_items.public(i) for i in items if i.status == s.value]
        for s in ActionItemStatus
    }
    people = {str(u.id): u.name for u in (await identity.list_users(session=session, limit=500))[0]}
    return page(
        request,
        "action_items.html",
        viewer,
        columns=columns,
        people=people,
        mine=mine,
        allowed=action_items.ALLOWED,
    )
