"""Archive and delete services, escalation policies, schedules, teams and users (admins).

Each button calls the same function as the API's DELETE (`app.references` for the entities
other configuration may refer to): same rules, same audit event. When something still refers
to the entity, the 409's detail and its lists (which policies, services, schedules) are shown
on a page that says what to change first.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.catalog.models import ServiceStatus, ServiceUpdate
from app.deps import SessionDep
from app.errors import DomainError
from app.escalation import service as escalation
from app.identity import service as identity
from app.problems import Problem
from app.references import service as references
from app.schedules import service as schedules
from app.web.auth import Viewer, WebAdmin
from app.web.forms import problem_of, roll_back
from app.web.render import WebRoute, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# The lists a 409 carries, and how the page names them.
_REFERRERS = {
    "escalation_policies": "Escalation policies",
    "services": "Services",
    "schedules": "Schedules",
}


async def _attempt(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    action: Awaitable[Any],
    *,
    what: str,
    back: str,
    done: str,
) -> Response:
    """Run a delete; on a refusal roll back and show why, with a link back."""
    try:
        await action
    except (Problem, DomainError) as exc:
        problem = problem_of(exc)
        if problem.status != 409:
            raise
        await roll_back(session, viewer)
        referrers = [
            (label, [str(n) for n in problem.extra.get(key) or []])
            for key, label in _REFERRERS.items()
            if problem.extra.get(key)
        ]
        return page(
            request,
            "blocked.html",
            viewer,
            status_code=409,
            what=what,
            detail=problem.detail,
            referrers=referrers,
            back=back,
        )
    return see_other(done)


@router.post("/schedules/{schedule_id}/delete", response_class=HTMLResponse)
async def delete_schedule(
    request: Request, session: SessionDep, viewer: WebAdmin, schedule_id: UUID
) -> Response:
    """Delete a schedule no escalation policy pages."""
    schedule = await schedules.get_schedule(session=session, schedule_id=schedule_id)
    return await _attempt(
        request,
        session,
        viewer,
        references.delete_schedule(session=session, schedule_id=schedule_id, actor=viewer.actor),
        what=f"The schedule {schedule.name} cannot be deleted",
        back=f"/schedules/{schedule_id}",
        done="/oncall?done=deleted",
    )


@router.post("/policies/{policy_id}/delete", response_class=HTMLResponse)
async def delete_policy(
    request: Request, session: SessionDep, viewer: WebAdmin, policy_id: UUID
) -> Response:
    """Delete an escalation policy no service uses."""
    policy = await escalation.get_policy(session=session, policy_id=policy_id)
    return await _attempt(
        request,
        session,
        viewer,
        references.delete_policy(session=session, policy_id=policy_id, actor=viewer.actor),
        what=f"The escalation policy {policy.name} cannot be deleted",
        back=f"/policies#p-{policy_id}",
        done="/policies?done=deleted",
    )


@router.post("/services/{service_id}/archive", response_class=HTMLResponse)
async def archive_service(session: SessionDep, viewer: WebAdmin, service_id: UUID) -> Response:
    """Archive a service: it keeps its incidents and history and stops taking new alerts."""
    await catalog.update_service(
        session=session,
        service_id=service_id,
        service_in=ServiceUpdate(status=ServiceStatus.archived),
        actor=viewer.actor,
    )
    return see_other("/services?done=archived")


@router.post("/services/{service_id}/delete", response_class=HTMLResponse)
async def delete_service(
    request: Request, session: SessionDep, viewer: WebAdmin, service_id: UUID
) -> Response:
    """Delete a service without incidents (one with incidents is archived instead)."""
    service = await catalog.get_service(session=session, service_id=service_id)
    return await _attempt(
        request,
        session,
        viewer,
        catalog.delete_service(session=session, service_id=service_id, actor=viewer.actor),
        what=f"The service {service.name} cannot be deleted",
        back="/services",
        done="/services?done=deleted",
    )


@router.post("/teams/{team_id}/delete", response_class=HTMLResponse)
async def delete_team(
    request: Request, session: SessionDep, viewer: WebAdmin, team_id: UUID
) -> Response:
    """Delete a team no service or policy refers to."""
    team = await identity.get_team(session=session, team_id=team_id)
    return await _attempt(
        request,
        session,
        viewer,
        references.delete_team(session=session, team_id=team_id, actor=viewer.actor),
        what=f"The team {team.name} cannot be deleted",
        back=f"/teams#t-{team_id}",
        done="/teams?done=deleted",
    )


@router.post("/users/{user_id}/delete", response_class=HTMLResponse)
async def delete_user(
    request: Request, session: SessionDep, viewer: WebAdmin, user_id: UUID
) -> Response:
    """Delete a user no policy, schedule or upcoming override needs (else: deactivate them)."""
    if user_id == viewer.user.id:
        raise Problem(409, "Conflict", "you cannot delete yourself")
    user = await identity.get_user(session=session, user_id=user_id)
    return await _attempt(
        request,
        session,
        viewer,
        references.delete_user(session=session, user_id=user_id, actor=viewer.actor),
        what=f"The user {user.name} cannot be deleted",
        back="/users",
        done="/users?done=deleted",
    )
