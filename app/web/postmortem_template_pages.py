"""Admins' page for postmortem templates: list, add, change, make default, delete."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from app.deps import SessionDep
from app.postmortems import template_admin
from app.postmortems.models import TemplateCreate, TemplateUpdate
from app.postmortems.templates import DEFAULT_TEMPLATE_BODY
from app.web.auth import WebAdmin
from app.web.postmortem_pages import PostmortemRoute
from app.web.render import page, see_other

router = APIRouter(route_class=PostmortemRoute, include_in_schema=False)


@router.get("/postmortem-templates", response_class=HTMLResponse)
async def templates_page(
    request: Request, session: SessionDep, viewer: WebAdmin, done: str | None = None
) -> Response:
    """List the templates with a form for each."""
    rows = await template_admin.list_templates(session=session)
    return page(
        request,
        "postmortem_templates.html",
        viewer,
        templates=rows,
        starter=DEFAULT_TEMPLATE_BODY,
        done="Saved." if done else None,
    )


@router.post("/postmortem-templates")
async def add_template(
    session: SessionDep,
    viewer: WebAdmin,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    body: Annotated[str, Form(min_length=1, max_length=200_000)],
    is_default: Annotated[str | None, Form()] = None,
) -> Response:
    """Add a template."""
    await template_admin.create(
        session=session,
        template_in=TemplateCreate(
            name=name.strip(), body=body.replace("\r\n", "\n"), is_default=is_default == "on"
        ),
        actor=viewer.actor,
    )
    return see_other("/postmortem-templates?done=1")


@router.post("/postmortem-templates/{template_id}")
async def change_template(
    session: SessionDep,
    viewer: WebAdmin,
    template_id: UUID,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    body: Annotated[str, Form(min_length=1, max_length=200_000)],
    is_default: Annotated[str | None, Form()] = None,
) -> Response:
    """Change a template (its name, body, and whether it is the default)."""
    await template_admin.update_template(
        session=session,
        template_id=template_id,
        template_in=TemplateUpdate(
            name=name.strip(), body=body.replace("\r\n", "\n"), is_default=is_default == "on"
        ),
        actor=viewer.actor,
    )
    return see_other("/postmortem-templates?done=1")


@router.post("/postmortem-templates/{template_id}/delete")
async def delete_template(session: SessionDep, viewer: WebAdmin, template_id: UUID) -> Response:
    """Delete a template."""
    await template_admin.delete(session=session, template_id=template_id, actor=viewer.actor)
    return see_other("/postmortem-templates?done=1")
