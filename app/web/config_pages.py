"""Organisation pages: escalation policies, teams and users."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from app.deps import SessionDep, SettingsDep
from app.escalation import service as escalation
from app.escalation.models import (
    MAX_LEVELS,
    EscalationLevel,
    EscalationPolicyCreate,
    EscalationPolicyUpdate,
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
from app.problems import Problem
from app.web.auth import WebAdmin, WebViewer
from app.web.lookups import lookups
from app.web.render import WebRoute, page, parse_uuid, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)


# --- escalation policies --------------------------------------------------------------------


@router.get("/policies", response_class=HTMLResponse)
async def policies_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List escalation policies with their levels; admins add and edit them here."""
    rows, _ = await escalation.list_policies(session=session, limit=500)
    names = await lookups(session)
    policies = [escalation.policy_public(p) for p in rows]
    return page(
        request,
        "policies.html",
        viewer,
        policies=policies,
        names=names,
        new_levels=[None] * NEW_POLICY_LEVELS,
        # An edit form shows the policy's levels and room for SPARE_LEVELS more.
        edit_levels={
            str(p.id): [*p.levels, *[None] * min(SPARE_LEVELS, MAX_LEVELS - len(p.levels))]
            for p in policies
        },
    )


NEW_POLICY_LEVELS = 3
SPARE_LEVELS = 2


def _levels_from_form(form: FormData) -> list[EscalationLevel]:
    """Read `level{n}_target` (one or more `kind:id`) and `level{n}_delay` (minutes).

    A level with no target chosen is left out, so an edit form's spare levels stay empty and a
    level is removed by clearing its targets.
    """
    levels = []
    for n in range(1, MAX_LEVELS + 1):
        chosen = [str(v) for v in form.getlist(f"level{n}_target") if str(v)]
        if not chosen:
            continue
        targets = []
        for value in chosen:
            kind, _, raw = value.partition(":")
            if kind not in ("user", "schedule", "team"):
                raise Problem(422, "Please check your input", f"level {n}: choose whom it pages")
            targets.append(EscalationTarget(type=TargetType(kind), id=parse_uuid(raw, "target")))
        if len(set(chosen)) != len(chosen):
            raise Problem(422, "Please check your input", f"level {n}: a target is chosen twice")
        try:
            minutes = float(str(form.get(f"level{n}_delay") or ""))
        except ValueError:
            raise Problem(422, "Please check your input", f"level {n}: delay in minutes") from None
        if not 0 < minutes <= MAX_DELAY_MINUTES:
            raise Problem(
                422,
                "Please check your input",
                f"level {n}: a delay of more than 0 and at most {MAX_DELAY_MINUTES} minutes",
            )
        levels.append(EscalationLevel(delay=timedelta(minutes=minutes), targets=targets))
    if not levels:
        raise Problem(422, "Please check your input", "give the policy at least one level")
    return levels


MAX_DELAY_MINUTES = 7 * 24 * 60


def _repeat_from_form(form: FormData) -> int:
    repeat = str(form.get("repeat") or "0")
    return int(repeat) if repeat.isdigit() else -1  # -1: the model's 422 names the field


@router.post("/policies")
async def create_policy(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebAdmin
) -> Response:
    """Create a policy: levels of one or more targets, each with a delay in minutes."""
    form = await request.form()
    policy = await escalation.create_policy(
        session=session,
        policy_in=EscalationPolicyCreate(
            name=str(form.get("name") or "").strip(),
            repeat=_repeat_from_form(form),
            levels=_levels_from_form(form),
        ),
        actor=viewer.actor,
        settings=settings,
    )
    return see_other(f"/policies#p-{policy.id}")


@router.post("/policies/{policy_id}")
async def edit_policy(
    policy_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
) -> Response:
    """Replace a policy's name, repeat count and levels (audited like the API's PATCH)."""
    form = await request.form()
    policy = await escalation.update_policy(
        session=session,
        policy_id=parse_uuid(policy_id, "policy"),
        policy_in=EscalationPolicyUpdate(
            name=str(form.get("name") or "").strip(),
            repeat=_repeat_from_form(form),
            levels=_levels_from_form(form),
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


@router.post("/teams/{team_id}/default-policy")
async def update_team_default_policy(
    session: SessionDep,
    viewer: WebAdmin,
    team_id: UUID,
    default_escalation_policy_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Set or clear the policy of the team's services that name none of their own."""
    chosen = default_escalation_policy_id
    await identity.update_team(
        session=session,
        team_id=team_id,
        team_in=TeamUpdate(
            default_escalation_policy_id=parse_uuid(chosen, "escalation policy") if chosen else None
        ),
        actor=viewer.actor,
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
