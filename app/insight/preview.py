"""Who an escalation policy would page, when and how, if an incident opened at an instant.

The preview replays the workflow's rules without a workflow: the same target resolution, the
same notification plans and the same level arithmetic, so it cannot drift from real paging.
Instants are when a level fires plus each step's delay; a real send follows by the time the
level's paging activity takes (milliseconds, or seconds on a busy worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.escalation.models import EscalationPolicy
from app.identity.models import User

# isort: split
# --- the engine's own code: re-point these if it moves (e.g. to app/oncall/) ---------------------
from app.notify.delivery import plans as plan_notifications
from app.oncall.targets import resolve as resolve_targets
from workflows.incident_rules import next_level
from workflows.incident_types import IncidentState, PolicySnapshot, Target

# isort: split
# -------------------------------------------------------------------------------------------------

URGENCIES = ("high", "low")


@dataclass(frozen=True)
class PreviewStep:
    """One notification the workflow would send if nobody acknowledged."""

    at: datetime
    level: int  # 1-based, as in the timeline
    cycle: int  # 0 on the first pass, 1 on the first repeat …
    user_id: UUID
    user_name: str
    contact_method: UUID | None  # None: the user has no verified method ("log" channel)
    channel: str
    via: str  # user | schedule | team: the first target of the level that reached the user
    target_id: UUID
    delay_seconds: float  # after the level fired


@dataclass(frozen=True)
class LevelFiring:
    """A level firing at an instant: whom it reached (or why nobody)."""

    at: datetime
    level: int
    cycle: int
    delay_seconds: float
    users: int
    unresolved: list[str]


@dataclass
class Preview:
    at: datetime
    urgency: str
    service_id: UUID | None
    escalation_policy_id: UUID
    steps: list[PreviewStep]
    levels: list[LevelFiring]
    ends_at: datetime | None  # when the workflow stops paging (exhausted or auto-resolved)
    ends_because: str


def snapshot(policy: EscalationPolicy) -> PolicySnapshot:
    """Return the workflow's frozen copy of a policy row (as `open_incident` makes it)."""
    return PolicySnapshot.model_validate(
        {
            "id": str(policy.id),
            "name": policy.name,
            "repeat": policy.repeat,
            "levels": policy.levels,
        }
    )


async def _reach(
    session: AsyncSession, targets: list[Target], at: datetime
) -> tuple[list[tuple[User, Target]], list[str]]:
    """Resolve a level's targets as the workflow does, remembering which target reached whom.

    `resolve_targets` keeps users in target order, each once: resolving target by target and
    keeping a user's first target gives the same users in the same order.
    """
    found = await resolve_targets(session=session, targets=targets, at=at)
    first: dict[UUID, Target] = {}
    for target in targets:
        for user in (await resolve_targets(session=session, targets=[target], at=at)).users:
            first.setdefault(user.id, target)
    return [(u, first[u.id]) for u in found.users], found.unresolved


async def _level_steps(
    session: AsyncSession, state: IncidentState, fired: datetime, stop: datetime | None
) -> tuple[list[PreviewStep], LevelFiring]:
    """Return what the current level sends when it fires at `fired`."""
    assert state.policy is not None
    level = state.policy.levels[state.level_index]
    reached, unresolved = await _reach(session, level.targets, fired)
    n = state.level_index + 1
    steps: list[PreviewStep] = []
    plans = await plan_notifications(
        session=session, user_ids=[u.id for u, _ in reached], urgency=state.urgency
    )
    for user, target in reached:
        planned = plans[user.id]
        # No verified method: the workflow logs the page on the "log" channel at once.
        chain: list[tuple[str, UUID | None, float]] = [
            (p.channel, UUID(p.contact_method_id), p.delay_seconds) for p in planned
        ] or [("log", None, 0.0)]
        for channel, method, delay in chain:
            due = fired + timedelta(seconds=delay)
            # A step due when the level expires is cancelled with the level's chains.
            if delay >= level.delay_seconds or (stop is not None and due >= stop):
                continue
            steps.append(
                PreviewStep(
                    at=due,
                    level=n,
                    cycle=state.cycle,
                    user_id=user.id,
                    user_name=user.name,
                    contact_method=method,
                    channel=channel,
                    via=target.type,
                    target_id=UUID(target.id),
                    delay_seconds=delay,
                )
            )
    firing = LevelFiring(fired, n, state.cycle, level.delay_seconds, len(reached), unresolved)
    return steps, firing


async def preview(
    *, session: AsyncSession, service_id: UUID, at: datetime, urgency: str | None = None
) -> Preview:
    """Return every notification an unacknowledged incident of a service opened at `at` sends.

    `urgency` defaults to the service's; its auto-resolve timeout ends the paging.
    """
    service = await catalog.get_service(session=session, service_id=service_id)
    policy = (await catalog.effective_policy(session=session, service=service)).policy
    auto_resolve = service.auto_resolve_timeout_seconds
    return await preview_policy(
        session=session,
        policy=policy,
        at=at,
        urgency=urgency or str(service.urgency),
        service_id=service.id,
        stop=at + timedelta(seconds=auto_resolve) if auto_resolve else None,
    )


async def preview_policy(
    *,
    session: AsyncSession,
    policy: EscalationPolicy,
    at: datetime,
    urgency: str,
    service_id: UUID | None = None,
    stop: datetime | None = None,
) -> Preview:
    """Return every notification an unacknowledged incident on `policy` opened at `at` sends."""
    state = IncidentState(
        incident_id="preview",
        service_id=str(service_id),
        dedup_key="preview",
        policy=snapshot(policy),
        urgency=urgency,
    )
    out = Preview(at, urgency, service_id, policy.id, [], [], None, "exhausted")
    fired = at
    while stop is None or fired < stop:
        steps, firing = await _level_steps(session, state, fired, stop)
        out.steps.extend(steps)
        out.levels.append(firing)
        # A level that reaches nobody escalates at once; otherwise it waits for its delay.
        if firing.users:
            fired += timedelta(seconds=firing.delay_seconds)
        index, cycle = next_level(state, wrap=False)
        if (index, cycle) == (state.level_index, state.cycle):
            break  # exhausted: the last level's chains stop when it expires
        state.level_index, state.cycle = index, cycle
    out.steps.sort(key=lambda s: (s.at, s.level, s.cycle))
    if stop is not None and fired >= stop:
        out.ends_at, out.ends_because = stop, "auto-resolved"
    else:
        out.ends_at = fired
    return out
