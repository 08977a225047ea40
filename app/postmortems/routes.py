"""HTTP routes for postmortems, their timelines, templates and action items."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from app.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, actor_of, get_temporal
from app.models_common import Page
from app.postmortems import (
    action_items,
    export,
    push,
    reminders,
    service,
    template_admin,
    timeline_edits,
)
from app.postmortems.models import (
    ActionItemCreate,
    ActionItemPublic,
    ActionItemStatus,
    ActionItemUpdate,
    PostmortemCreate,
    PostmortemPublic,
    PostmortemStatus,
    PostmortemSummary,
    PostmortemUpdate,
    PostmortemVersionPublic,
    TemplateCreate,
    TemplatePublic,
    TemplateUpdate,
    TimelineEntryIn,
    TimelineEntryUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["postmortems"])
# Temporal is asked only when an item's reminder changes (a due date set, moved or done), so
# items without due dates are kept while Temporal is down.


@router.post("/postmortems", response_model=PostmortemPublic, status_code=201)
async def create_postmortem(
    session: SessionDep, user: CurrentUser, pm_in: PostmortemCreate
) -> PostmortemPublic:
    """Create a draft from incidents: generated timeline, body from a template."""
    pm = await service.create(session=session, pm_in=pm_in, user=user, actor=actor_of(user))
    return service.public(pm)


@router.get("/postmortems", response_model=Page[PostmortemSummary])
async def list_postmortems(
    session: SessionDep,
    user: CurrentUser,
    status_: PostmortemStatus | None = Query(default=None, alias="status"),
    incident_id: UUID | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[PostmortemSummary]:
    """List the postmortems you may read."""
    rows, total = await service.list_postmortems(
        session=session,
        user=user,
        status=status_,
        incident_id=incident_id,
        limit=limit,
        offset=offset,
    )
    return Page(data=[service.summary(p) for p in rows], count=total)


# Before `/postmortems/{postmortem_id}`, which would otherwise claim `….md` and answer 422.
@router.get("/postmortems/{postmortem_id}.md", response_class=PlainTextResponse)
async def export_markdown(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID
) -> PlainTextResponse:
    """Export the postmortem as Markdown."""
    pm = await service.get(session=session, postmortem_id=postmortem_id, user=user)
    items = await action_items.titles_for_export(session=session, postmortem_id=pm.id)
    return PlainTextResponse(
        export.to_markdown(pm, items),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="postmortem-{pm.id}.md"'},
    )


@router.get("/postmortems/{postmortem_id}", response_model=PostmortemPublic)
async def get_postmortem(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID
) -> PostmortemPublic:
    """Return one postmortem."""
    pm = await service.get(session=session, postmortem_id=postmortem_id, user=user)
    return service.public(pm)


@router.patch("/postmortems/{postmortem_id}", response_model=PostmortemPublic)
async def update_postmortem(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID, pm_in: PostmortemUpdate
) -> PostmortemPublic:
    """Edit; an edit of a published postmortem makes it a draft again."""
    pm = await service.update(
        session=session, postmortem_id=postmortem_id, pm_in=pm_in, user=user, actor=actor_of(user)
    )
    return service.public(pm)


@router.delete("/postmortems/{postmortem_id}", status_code=204)
async def delete_postmortem(
    session: SessionDep,
    user: CurrentUser,
    postmortem_id: UUID,
    request: Request,
) -> Response:
    """Delete a postmortem (admins, or the owner of a draft); its reminders end."""
    items = await action_items.list_items(session=session, user=user, postmortem_id=postmortem_id)
    await service.delete(
        session=session, postmortem_id=postmortem_id, user=user, actor=actor_of(user)
    )
    for item in items:
        if item.due_at is not None and item.status != ActionItemStatus.completed.value:
            await reminders.stop(client=await get_temporal(request), item=item)
    return Response(status_code=204)


async def _transition(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID, name: str
) -> PostmortemPublic:
    pm = await service.transition(
        session=session, postmortem_id=postmortem_id, name=name, user=user, actor=actor_of(user)
    )
    return service.public(pm)


@router.post("/postmortems/{postmortem_id}/review", response_model=PostmortemPublic)
async def submit_for_review(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID
) -> PostmortemPublic:
    """Move a draft to review."""
    return await _transition(session, user, postmortem_id, "review")


@router.post("/postmortems/{postmortem_id}/publish", response_model=PostmortemPublic)
async def publish(session: SessionDep, user: CurrentUser, postmortem_id: UUID) -> PostmortemPublic:
    """Publish a reviewed postmortem; records who and when."""
    return await _transition(session, user, postmortem_id, "publish")


@router.post("/postmortems/{postmortem_id}/reopen", response_model=PostmortemPublic)
async def reopen(session: SessionDep, user: CurrentUser, postmortem_id: UUID) -> PostmortemPublic:
    """Send a postmortem in review back to draft."""
    return await _transition(session, user, postmortem_id, "reopen")


@router.get("/postmortems/{postmortem_id}/versions", response_model=list[PostmortemVersionPublic])
async def list_versions(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID
) -> list[PostmortemVersionPublic]:
    """Return the postmortem's version history, oldest first."""
    rows = await service.versions(session=session, postmortem_id=postmortem_id, user=user)
    return [
        PostmortemVersionPublic.model_validate({**v.model_dump(), "timeline": v.timeline or []})
        for v in rows
    ]


@router.post(
    "/postmortems/{postmortem_id}/timeline", response_model=PostmortemPublic, status_code=201
)
async def add_timeline_entry(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID, entry_in: TimelineEntryIn
) -> PostmortemPublic:
    """Add a timeline entry by hand."""
    pm = await timeline_edits.add_entry(
        session=session,
        postmortem_id=postmortem_id,
        entry_in=entry_in,
        user=user,
        actor=actor_of(user),
    )
    return service.public(pm)


@router.patch("/postmortems/{postmortem_id}/timeline/{entry_id}", response_model=PostmortemPublic)
async def update_timeline_entry(
    session: SessionDep,
    user: CurrentUser,
    postmortem_id: UUID,
    entry_id: str,
    entry_in: TimelineEntryUpdate,
) -> PostmortemPublic:
    """Edit, hide or restore a timeline entry."""
    pm = await timeline_edits.update_entry(
        session=session,
        postmortem_id=postmortem_id,
        entry_id=entry_id,
        entry_in=entry_in,
        user=user,
        actor=actor_of(user),
    )
    return service.public(pm)


# --- action items ---------------------------------------------------------------------------


@router.post(
    "/postmortems/{postmortem_id}/action-items", response_model=ActionItemPublic, status_code=201
)
async def create_action_item(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    postmortem_id: UUID,
    item_in: ActionItemCreate,
    request: Request,
) -> ActionItemPublic:
    """Add an action item; one with a due date gets a durable reminder."""
    item = await action_items.create(
        session=session,
        postmortem_id=postmortem_id,
        item_in=item_in,
        user=user,
        actor=actor_of(user),
    )
    if item.due_at is not None:
        await reminders.sync(client=await get_temporal(request), settings=settings, item=item)
    return action_items.public(item)


@router.get("/postmortems/{postmortem_id}/action-items", response_model=list[ActionItemPublic])
async def list_postmortem_items(
    session: SessionDep, user: CurrentUser, postmortem_id: UUID
) -> list[ActionItemPublic]:
    """Return a postmortem's action items."""
    await service.get(session=session, postmortem_id=postmortem_id, user=user)
    rows = await action_items.list_items(session=session, user=user, postmortem_id=postmortem_id)
    return [action_items.public(i) for i in rows]


@router.get("/action-items", response_model=Page[ActionItemPublic])
async def list_action_items(
    session: SessionDep,
    user: CurrentUser,
    assignee_id: UUID | None = None,
    status_: ActionItemStatus | None = Query(default=None, alias="status"),
    overdue: bool | None = None,
    limit: int = Query(default=200, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[ActionItemPublic]:
    """Filter action items across postmortems: assignee, status, overdue."""
    rows = await action_items.list_items(
        session=session,
        user=user,
        assignee_id=assignee_id,
        status=status_,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return Page(data=[action_items.public(i) for i in rows], count=len(rows))


@router.get("/action-items/{item_id}", response_model=ActionItemPublic)
async def get_action_item(
    session: SessionDep, user: CurrentUser, item_id: UUID
) -> ActionItemPublic:
    """Return one action item."""
    return action_items.public(await action_items.get(session=session, item_id=item_id, user=user))


@router.patch("/action-items/{item_id}", response_model=ActionItemPublic)
async def update_action_item(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    item_id: UUID,
    item_in: ActionItemUpdate,
    request: Request,
) -> ActionItemPublic:
    """Edit an item or move it: open → in_progress → completed, reopen; otherwise 409."""
    item, remind = await action_items.update(
        session=session, item_id=item_id, item_in=item_in, user=user, actor=actor_of(user)
    )
    if remind:
        await reminders.sync(client=await get_temporal(request), settings=settings, item=item)
    return action_items.public(item)


@router.post("/action-items/{item_id}/push", response_model=ActionItemPublic)
async def push_action_item(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    item_id: UUID,
    body: push.PushBody,
) -> ActionItemPublic:
    """Create a Jira or Linear issue for the item through a connection; keep its link."""
    item = await push.push(
        session=session,
        settings=settings,
        item_id=item_id,
        body=body,
        user=user,
        actor=actor_of(user),
    )
    return action_items.public(item)


# --- templates ------------------------------------------------------------------------------


@router.get("/postmortem-templates", response_model=list[TemplatePublic])
async def list_templates(session: SessionDep, _: CurrentUser) -> list[TemplatePublic]:
    """Return the postmortem templates, the default first."""
    return [template_admin.public(t) for t in await template_admin.list_templates(session=session)]


@router.post("/postmortem-templates", response_model=TemplatePublic, status_code=201)
async def create_template(
    session: SessionDep, admin: AdminUser, template_in: TemplateCreate
) -> TemplatePublic:
    """Create a template (admins only)."""
    created = await template_admin.create(
        session=session, template_in=template_in, actor=actor_of(admin)
    )
    return template_admin.public(created)


@router.get("/postmortem-templates/{template_id}", response_model=TemplatePublic)
async def get_template(session: SessionDep, _: CurrentUser, template_id: UUID) -> TemplatePublic:
    """Return one template."""
    return template_admin.public(await template_admin.get(session=session, template_id=template_id))


@router.patch("/postmortem-templates/{template_id}", response_model=TemplatePublic)
async def update_template(
    session: SessionDep, admin: AdminUser, template_id: UUID, template_in: TemplateUpdate
) -> TemplatePublic:
    """Change a template (admins only)."""
    updated = await template_admin.update_template(
        session=session, template_id=template_id, template_in=template_in, actor=actor_of(admin)
    )
    return template_admin.public(updated)


@router.delete("/postmortem-templates/{template_id}", status_code=204)
async def delete_template(session: SessionDep, admin: AdminUser, template_id: UUID) -> Response:
    """Delete a template (admins only)."""
    await template_admin.delete(session=session, template_id=template_id, actor=actor_of(admin))
    return Response(status_code=204)
