"""PagerDuty REST API v2 objects → PageFree inputs; pure functions, every loss named.

A `Skip` says what could not be carried over and why; the importer prints them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import ValidationError

from app.catalog.models import ServiceCreate, ServiceStatus
from app.escalation.models import MAX_REPEAT, EscalationPolicyCreate
from app.identity.models import Role, TeamCreate, TeamMemberIn, TeamRole, UserCreate
from app.notify.models import ContactMethodCreate, ContactType, NotificationRuleCreate
from app.schedules.models import LayerIn, OverrideIn, RestrictionIn, ScheduleCreate

PD = dict[str, Any]
Ids = dict[str, UUID]  # PagerDuty id → PageFree id, per kind

ROLES = {
    "owner": Role.admin,
    "admin": Role.admin,
    "user": Role.responder,
    "limited_user": Role.responder,
    "team_responder": Role.responder,
    "observer": Role.observer,
    "restricted_access": Role.observer,
    "read_only_user": Role.observer,
    "read_only_limited_user": Role.observer,
}
CONTACT_TYPES = {
    "email_contact_method": ContactType.email,
    "sms_contact_method": ContactType.sms,
    "phone_contact_method": ContactType.voice,
}
EVENT_INTEGRATIONS = {"events_api_v2_inbound_integration", "generic_events_api_inbound_integration"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # ISO 1..7
T = TypeVar("T")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Skip:
    kind: str
    external_id: str
    name: str
    reason: str


@dataclass
class Converted(Generic[T]):
    """A PageFree input (None when the whole object is skipped) and what was left out."""

    value: T | None
    skips: list[Skip] = field(default_factory=list)


def _why(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())


def _name(obj: PD) -> str:
    return str(obj.get("name") or obj.get("summary") or obj.get("id"))


def user(pd: PD) -> Converted[UserCreate]:
    """Return a user: name, e-mail, time zone and role (PagerDuty's roles mapped to three)."""
    try:
        return Converted(
            UserCreate(
                name=_name(pd)[:200],
                email=pd["email"],
                timezone=pd.get("time_zone") or "UTC",
                role=ROLES.get(str(pd.get("role")), Role.responder),
            )
        )
    except (ValidationError, KeyError) as exc:
        why = _why(exc) if isinstance(exc, ValidationError) else "no e-mail address"
        return Converted(None, [Skip("user", pd["id"], _name(pd), why)])


def e164(pd: PD) -> str | None:
    """Return a phone contact method's number in E.164, or None when it cannot be one."""
    address = re.sub(r"[\s().-]", "", str(pd.get("address", "")))
    if not address.startswith("+"):
        address = f"+{pd.get('country_code', '')}{address.lstrip('0')}"
    return address if E164.match(address) else None


def contact_method(pd: PD) -> Converted[ContactMethodCreate]:
    """Return a contact method (verified: PagerDuty already pages it), or why not."""
    kind = CONTACT_TYPES.get(str(pd.get("type")).removesuffix("_reference"))
    label = str(pd.get("label") or pd.get("summary") or "")[:100] or None
    if kind is None:
        return Converted(
            None,
            [
                Skip(
                    "contact_method",
                    pd["id"],
                    label or "?",
                    f"{pd.get('type')} cannot be moved (push devices re-register)",
                )
            ],
        )
    address = str(pd.get("address", ""))
    if kind in (ContactType.sms, ContactType.voice):
        number = e164(pd)
        if number is None:
            return Converted(
                None,
                [
                    Skip(
                        "contact_method",
                        pd["id"],
                        label or "?",
                        "the phone number is not a valid E.164 number",
                    )
                ],
            )
        address = number
    try:
        return Converted(
            ContactMethodCreate(type=kind, address=address, label=label, verified=True)
        )
    except ValidationError as exc:
        return Converted(None, [Skip("contact_method", pd["id"], label or "?", _why(exc))])


def notification_rule(pd: PD, methods: Ids) -> Converted[NotificationRuleCreate]:
    """Return a notification rule on an imported contact method."""
    method = (pd.get("contact_method") or {}).get("id")
    if method not in methods:
        return Converted(
            None,
            [
                Skip(
                    "notification_rule",
                    pd["id"],
                    str(method),
                    "its contact method was not imported",
                )
            ],
        )
    try:
        return Converted(
            NotificationRuleCreate(
                contact_method_id=methods[method],
                delay=timedelta(minutes=float(pd.get("start_delay_in_minutes") or 0)),
                urgency=pd.get("urgency") if pd.get("urgency") in ("high", "low") else "high",
            )
        )
    except ValidationError as exc:
        return Converted(None, [Skip("notification_rule", pd["id"], str(method), _why(exc))])


def team(pd: PD, members: list[PD], users: Ids) -> Converted[TeamCreate]:
    """Return a team with its imported members (PagerDuty managers stay managers)."""
    skips = [
        Skip("team_member", m["user"]["id"], _name(m["user"]), "the user was not imported")
        for m in members
        if m["user"]["id"] not in users
    ]
    people = [
        TeamMemberIn(
            user_id=users[m["user"]["id"]],
            role=TeamRole.manager if m.get("role") == "manager" else TeamRole.member,
        )
        for m in members
        if m["user"]["id"] in users
    ]
    try:
        created = TeamCreate(
            name=_name(pd)[:200], description=pd.get("description"), members=people
        )
    except ValidationError as exc:
        return Converted(None, [*skips, Skip("team", pd["id"], _name(pd), _why(exc))])
    return Converted(created, skips)


def _restriction(pd: PD) -> RestrictionIn:
    start = str(pd.get("start_time_of_day", "00:00:00"))[:5]
    duration = timedelta(seconds=float(pd["duration_seconds"]))
    if pd.get("type") == "weekly_restriction":
        day = WEEKDAYS[int(pd.get("start_day_of_week", 1)) - 1]
        return RestrictionIn(type="weekly", start_time=start, duration=duration, start_day=day)
    return RestrictionIn(type="daily", start_time=start, duration=duration)


def layer(pd: PD, users: Ids, now: datetime) -> Converted[LayerIn]:
    """Return a schedule layer: rotation start, turn length, users in order, restrictions."""
    name = _name(pd)
    skips: list[Skip] = []
    end = pd.get("end")
    if end and datetime.fromisoformat(end) <= now:
        return Converted(None, [Skip("layer", pd["id"], name, "the layer ended")])
    if end:
        skips.append(
            Skip(
                "layer",
                pd["id"],
                name,
                f"PageFree layers do not end: the end {end} is not imported",
            )
        )
    members = [u["user"]["id"] for u in pd.get("users", [])]
    skips += [
        Skip("layer_user", m, name, "the user was not imported") for m in members if m not in users
    ]
    try:
        converted = LayerIn(
            name=name[:200],
            start=datetime.fromisoformat(pd.get("rotation_virtual_start") or pd["start"]),
            rotation_length=timedelta(seconds=int(pd["rotation_turn_length_seconds"])),
            users=[users[m] for m in members if m in users],
            restrictions=[_restriction(r) for r in pd.get("restrictions") or []],
        )
    except (ValidationError, KeyError, ValueError, IndexError) as exc:
        why = _why(exc) if isinstance(exc, ValidationError) else f"cannot read the layer: {exc}"
        return Converted(None, [*skips, Skip("layer", pd["id"], name, why)])
    return Converted(converted, skips)


def schedule(pd: PD, users: Ids, now: datetime) -> Converted[ScheduleCreate]:
    """Return a schedule; PagerDuty lists layers highest first, PageFree lowest first."""
    layers = [layer(x, users, now) for x in reversed(pd.get("schedule_layers") or [])]
    skips = [s for x in layers for s in x.skips]
    kept = [x.value for x in layers if x.value is not None]
    if not kept:
        return Converted(
            None, [*skips, Skip("schedule", pd["id"], _name(pd), "no layer could be imported")]
        )
    try:
        created = ScheduleCreate(
            name=_name(pd)[:200],
            description=pd.get("description"),
            timezone=pd.get("time_zone") or "UTC",
            layers=kept,
        )
    except ValidationError as exc:
        return Converted(None, [*skips, Skip("schedule", pd["id"], _name(pd), _why(exc))])
    return Converted(created, skips)


def override(pd: PD, users: Ids) -> Converted[OverrideIn]:
    """Return a schedule override for an imported user."""
    who = (pd.get("user") or {}).get("id")
    if who not in users:
        return Converted(None, [Skip("override", pd["id"], str(who), "the user was not imported")])
    try:
        return Converted(OverrideIn(user_id=users[who], start=pd["start"], end=pd["end"]))
    except ValidationError as exc:
        return Converted(None, [Skip("override", pd["id"], str(who), _why(exc))])


def policy(pd: PD, users: Ids, schedules: Ids) -> Converted[EscalationPolicyCreate]:
    """Return a policy: rules → levels (delay, user and schedule targets), num_loops → repeat."""
    skips: list[Skip] = []
    levels = []
    for n, rule in enumerate(pd.get("escalation_rules") or [], start=1):
        targets = []
        for t in rule.get("targets") or []:
            kind = str(t.get("type")).removesuffix("_reference")
            known = {"user": users, "schedule": schedules}.get(kind)
            if known is None or t["id"] not in known:
                why = "not imported" if known is not None else "PageFree cannot target it"
                skips.append(Skip("escalation_target", t["id"], f"{kind} in level {n}", why))
                continue
            targets.append({"type": kind, "id": known[t["id"]]})
        if not targets:
            skips.append(
                Skip(
                    "escalation_level",
                    rule.get("id", str(n)),
                    f"level {n}",
                    "none of its targets was imported",
                )
            )
            continue
        levels.append(
            {
                "delay": timedelta(minutes=float(rule["escalation_delay_in_minutes"])),
                "targets": targets,
            }
        )
    loops = int(pd.get("num_loops") or 0)
    if loops > MAX_REPEAT:
        skips.append(
            Skip(
                "escalation_policy",
                pd["id"],
                _name(pd),
                f"num_loops {loops} is capped at {MAX_REPEAT} repeats",
            )
        )
    try:
        created = EscalationPolicyCreate.model_validate(
            {
                "name": _name(pd)[:200],
                "description": pd.get("description"),
                "repeat": min(loops, MAX_REPEAT),
                "levels": levels,
            }
        )
    except ValidationError as exc:
        return Converted(None, [*skips, Skip("escalation_policy", pd["id"], _name(pd), _why(exc))])
    return Converted(created, skips)


def service(pd: PD, policies: Ids, teams: Ids) -> Converted[ServiceCreate]:
    """Return a service on its imported policy, with its acknowledgement and auto-resolve
    timeouts; a disabled PagerDuty service becomes deprecated."""
    ref = (pd.get("escalation_policy") or {}).get("id")
    if ref not in policies:
        return Converted(
            None, [Skip("service", pd["id"], _name(pd), "its escalation policy was not imported")]
        )
    team_ids = [teams[t["id"]] for t in pd.get("teams") or [] if t["id"] in teams]
    ack, auto = pd.get("acknowledgement_timeout"), pd.get("auto_resolve_timeout")
    try:
        created = ServiceCreate(
            name=_name(pd)[:200],
            description=pd.get("description"),
            escalation_policy_id=policies[ref],
            team_id=team_ids[0] if team_ids else None,
            status=ServiceStatus.deprecated
            if pd.get("status") == "disabled"
            else ServiceStatus.active,
            acknowledgement_timeout=timedelta(seconds=ack) if ack else None,
            auto_resolve_timeout=timedelta(seconds=auto) if auto else None,
        )
    except ValidationError as exc:
        return Converted(None, [Skip("service", pd["id"], _name(pd), _why(exc))])
    return Converted(created, [])
