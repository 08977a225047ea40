"""Admin-managed postmortem templates: at most one default, every body a valid template."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, NotFound
from app.postmortems import templates as bodies
from app.postmortems.models import (
    PostmortemTemplate,
    TemplateCreate,
    TemplatePublic,
    TemplateUpdate,
)


def public(template: PostmortemTemplate) -> TemplatePublic:
    """Return the API view of a template."""
    return TemplatePublic.model_validate(template.model_dump())


async def list_templates(*, session: AsyncSession) -> list[PostmortemTemplate]:
    """Return every template, the default first."""
    rows = await session.scalars(
        select(PostmortemTemplate).order_by(
            col(PostmortemTemplate.is_default).desc(), col(PostmortemTemplate.name)
        )
    )
    return list(rows.all())


async def get(*, session: AsyncSession, template_id: UUID) -> PostmortemTemplate:
    """Return a template or raise NotFound."""
    template = await session.get(PostmortemTemplate, template_id)
    if template is None:
        raise NotFound(f"postmortem template {template_id} does not exist")
    return template


async def _clear_default(session: AsyncSession, except_id: UUID) -> None:
    await session.execute(
        update(PostmortemTemplate)
        .where(col(PostmortemTemplate.id) != except_id)
        .values(is_default=False)
    )


async def create(
    *, session: AsyncSession, template_in: TemplateCreate, actor: Actor
) -> PostmortemTemplate:
    """Create a template (its body must parse)."""
    bodies.check(template_in.body)
    if await name_taken(session, PostmortemTemplate, template_in.name):
        raise Conflict(f"a template named {template_in.name!r} exists")
    template = PostmortemTemplate(**template_in.model_dump())
    session.add(template)
    await flush_unique(session, f"a template named {template_in.name!r} exists")
    if template.is_default:
        await _clear_default(session, template.id)
    await session.refresh(template)
    await audit.record(
        session=session,
        actor=actor,
        action="postmortem_template.create",
        entity_type="postmortem_template",
        entity_id=template.id,
        after=public(template),
    )
    return template


async def update_template(
    *, session: AsyncSession, template_id: UUID, template_in: TemplateUpdate, actor: Actor
) -> PostmortemTemplate:
    """Change a template."""
    template = await get(session=session, template_id=template_id)
    before = public(template)
    changes = template_in.model_dump(exclude_unset=True, exclude_none=True)
    if "body" in changes:
        bodies.check(changes["body"])
    if "name" in changes and await name_taken(
        session, PostmortemTemplate, changes["name"], template.id
    ):
        raise Conflict(f"a template named {changes['name']!r} exists")
    for key, value in changes.items():
        setattr(template, key, value)
    template.updated_at = utcnow()
    session.add(template)
    await flush_unique(session, "a template with that name exists")
    if template.is_default:
        await _clear_default(session, template.id)
    await audit.record(
        session=session,
        actor=actor,
        action="postmortem_template.update",
        entity_type="postmortem_template",
        entity_id=template.id,
        before=before,
        after=public(template),
    )
    return template


async def delete(*, session: AsyncSession, template_id: UUID, actor: Actor) -> None:
    """Delete a template; postmortems made from it keep their text."""
    template = await get(session=session, template_id=template_id)
    await audit.record(
        session=session,
        actor=actor,
        action="postmortem_template.delete",
        entity_type="postmortem_template",
        entity_id=template.id,
        before=public(template),
    )
    await session.delete(template)
    await session.flush()
