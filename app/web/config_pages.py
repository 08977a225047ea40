"""Organisation pages: escalation policies, teams and users."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from app.deps import SessionDep, SettingsDep
from app.errors import Problem
from app.escalation import service as escalation
from app.escalation.models import (
    EscalationLevel,
    EscalationPolicyCreate,
    EscalationTarget,
    TargetType,
)
from app.identity import service as identity
from app.identity.models import (
    Role,
    TeamCreate,
    TeamMemberIn,
    TeamRole,
    TeamUpdate,
    UserCreate,
    UserUpdate,
)
from app.web.auth import WebAdmin, WebViewer
from app.web.lookups import lookups
from app.web.render import WebRoute, page, parse_uuid, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)


# --- escalation policies --------------------------------------------------------------------


@router.get("/policies", response_class=HTMLResponse)
async def policies_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List escalation policies with their levels."""
    rows, _ = await escalation.list_policies(session=session, limit=500)
    names = await lookups(session)
    return page(
        request,
        "policies.html",
        viewer,
        policies=[escalation.policy_public(p) for p in rows],
        names=names,
        form_levels=range(1, POLICY_FORM_LEVELS + 1),
    )


POLICY_FORM_LEVELS = 3


@router.post("/policies")
async def create_policy(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebAdmin
) -> Response:
    """Create a policy from up to three levels, each one target and a delay in minutes."""
    form = await request.form()
    levels = []
    for n in range(1, POLICY_FORM_LEVELS + 1):
        target = str(form.get(f"level{n}_target") or "")
        if not target:
            continue
        kind, _, raw = target.partition(":")
        if kind not in ("user", "schedule", "team"):
            raise Problem(422, "Please check your input", f"level {n}: choose whom it pages")
        try:
            minutes = float(str(form.get(f"level{n}_delay") or ""))
        except ValueError:
            raise Problem(422, "Please check your input", f"level {n}: delay in minutes") from None
        levels.append(
            EscalationLevel(
                delay=timedelta(minutes=minutes),
                targets=[EscalationTarget(type=TargetType(kind), id=parse_uuid(raw, "target"))],
            )
        )
    if not levels:
        raise Problem(422, "Please check your input", "give the policy at least one level")
    repeat = str(form.get("repeat") or "0")
    policy = await escalation.create_policy(
        session=session,
        policy_in=EscalationPolicyCreate(
            name=str(form.get("name") or "").strip(),
            repeat=int(repeat) if repeat.isdigit() else -1,
            levels=levels,
        ),
        actor=viewer.actor,
        settings=settings,
    )
    return see_other(f"/policies#p-{policy.id}")


# --- teams and users ------------------------------------------------------------------------


@router.get("/teams", response_class=HTMLResponse)
async def teams_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List teams and their members, with a form to add one (admins)."""
    rows, _ = await identity.list_teams(session=session, limit=500)
    users, _ = await identity.list_users(session=session, limit=1000)
    return page(
        request,
        "teams.html",
        viewer,
        teams=[await identity.team_public(session=session, team=t) for t in rows],
        users=users,
        names=await lookups(session),
    )


@router.post("/teams")
async def create_team(
    request: Request,
    session: SessionDep,
    viewer: WebAdmin,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Create a team with the chosen members."""
    form = await request.form()
    members = [
        TeamMemberIn(user_id=parse_uuid(str(v), "members")) for v in form.getlist("member_ids") if v
    ]
    await identity.create_team(
        session=session,
        team_in=TeamCreate(name=name.strip(), members=members),
        actor=viewer.actor,
    )
    return see_other("/teams")


@router.post("/teams/{team_id}")
async def update_team_members(
    request: Request, session: SessionDep, viewer: WebAdmin, team_id: UUID
) -> Response:
    """Replace a team's members with those ticked; managers stay managers."""
    team = await identity.get_team(session=session, team_id=team_id)
    current = await identity.team_public(session=session, team=team)
    roles = {m.user_id: m.role for m in current.members}
    form = await request.form()
    ids = [parse_uuid(str(v), "members") for v in form.getlist("member_ids") if v]
    members = [TeamMemberIn(user_id=uid, role=roles.get(uid, TeamRole.member)) for uid in ids]
    await identity.update_team(
        session=session, team_id=team_id, team_in=TeamUpdate(members=members), actor=viewer.actor
    )
    return see_other(f"/teams#t-{team_id}")


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List users, with a form to add one (admins)."""
    rows, _ = await identity.list_users(session=session, limit=1000)
    return page(request, "users.html", viewer, users=rows, roles=[r.value for r in Role])


@router.post("/users")
async def create_user(
    session: SessionDep,
    viewer: WebAdmin,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[Role, Form()] = Role.responder,
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Create a user (a password is optional: single sign-on users need none)."""
    await identity.create_user(
        session=session,
        user_in=UserCreate(
            name=name.strip(),
            email=email.strip(),
            role=role,
            timezone=timezone.strip() or "UTC",
            password=password or None,
        ),
        actor=viewer.actor,
    )
    return see_other("/users")


@router.post("/users/{user_id}")
async def update_user(
    session: SessionDep,
    viewer: WebAdmin,
    user_id: UUID,
    role: Annotated[Role, Form()],
) -> Response:
    """Change a user's role."""
    if user_id == viewer.user.id and role != Role.admin:
        raise Problem(409, "Conflict", "you cannot take the admin role from yourself")
    await identity.update_user(
        session=session, user_id=user_id, user_in=UserUpdate(role=role), actor=viewer.actor
    )
    return see_other("/users")
