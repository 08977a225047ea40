"""The incident's rules: every transition as a pure function of (state, input, now).

No Temporal here and no I/O. Each transition returns the new state and the commands the
workflow carries out (page a level, start or stop notification chains, announce a page).
Timeline events a transition records wait in `state.outbox` until the workflow writes them;
deadlines are fields of the state, and `next_deadline` says when the workflow must wake up.
The input state is never changed: a transition works on a copy.

`workflows/incident.py` feeds signals, Updates and timer fires in here; the tests in
`tests/workflows/test_incident_rules.py` check these rules without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workflows import limits
from workflows.automation_types import Facts
from workflows.incident_types import (
    ActionIn,
    Actor,
    AlertIn,
    AlertRef,
    AnnouncePage,
    Chain,
    IncidentInput,
    IncidentState,
    IncidentView,
    NoteIn,
    NotificationStep,
    OpenedIncident,
    PagedLevel,
    PolicySnapshot,
    ReassignIn,
    SendNotification,
    Severity,
    SeverityIn,
    SnoozeIn,
    Target,
    TimelineEventIn,
)

# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Resolve these targets now and page whom they lead to (the current level)."""

    level: int  # 1-based, as people count
    targets: list[Target]
    page_key: str  # 'paged' events get ids "{page_key}:{user_id}"
    position: int
    at: datetime  # the instant the level fired: its deadline counts from here


@dataclass(frozen=True)
class StopChains:
    """Stop every pending notification (a send under way completes and is logged)."""


@dataclass(frozen=True)
class StartChains:
    chains: list[Chain]
    # The chain whose first steps go out at once (its page_id; None when every first step
    # waits). Its first send also carries the level's chat `announce`ment and, when the
    # incident opens, its first Slack post (`sync_chat`): one activity instead of three.
    first_send: int | None = None
    announce: AnnouncePage | None = None
    sync_chat: bool = False


@dataclass(frozen=True)
class Announce:
    """Announce the level in chat on its own: no paged user's first step is due at once."""

    page: AnnouncePage


Command = Page | StopChains | StartChains | Announce


@dataclass(frozen=True)
class Outcome:
    state: IncidentState
    commands: list[Command] = field(default_factory=list)


class Rejected(Exception):
    """An action that is not allowed in this state (the API answers 409)."""


# --- building blocks --------------------------------------------------------------------------


def new_state(inp: IncidentInput) -> IncidentState:
    """Return the state of a fresh run (or the carried one after continue-as-new)."""
    if inp.carried is not None:
        return inp.carried.model_copy(update={"inbox": [*inp.carried.inbox, *inp.carried_alerts]})
    return IncidentState(
        incident_id=inp.incident_id,
        service_id=inp.service_id,
        dedup_key=inp.dedup_key,
        max_history_events=inp.max_history_events,
        inbox=list(inp.carried_alerts),
    )


def _copy(s: IncidentState) -> IncidentState:
    # Shallow: transitions replace lists and nested models, they never change them in place.
    return s.model_copy()


def new_event(
    s: IncidentState, type_: str, actor: Actor, now: datetime, **detail: Any
) -> TimelineEventIn:
    """Number the next timeline event (mutates the working copy `s`)."""
    s.seq += 1
    return TimelineEventIn(
        id=f"{s.incident_id}:{s.seq}",
        at=now,
        position=s.seq,
        type=type_,
        actor=actor,
        detail=detail,
    )


def _record(s: IncidentState, type_: str, actor: Actor, now: datetime, **detail: Any) -> None:
    s.outbox = [*s.outbox, new_event(s, type_, actor, now, **detail)]
    s.changes += 1


# --- alerts -----------------------------------------------------------------------------------


def receive(s: IncidentState, batch: list[AlertIn]) -> IncidentState:
    """Take a batch of alert events from the signal (the run loop handles them next)."""
    s = _copy(s)
    if s.status == "resolved":
        # Too late for this incident: triggers open the next one (see the end of the run).
        s.after_resolve = [*s.after_resolve, *(a for a in batch if a.action == "trigger")]
    else:
        s.inbox = [*s.inbox, *batch]
    return s


def has_trigger(alerts: list[AlertIn]) -> bool:
    return any(a.action == "trigger" for a in alerts)


def group_repeats(alerts: list[AlertIn]) -> list[AlertIn]:
    """Fold each run of stored triggers that differ only in id and received time into its
    first alert, which carries the others' ids as `repeats` (ingestion, before it signals).

    A storm of one alert is then carried in history as one alert per batch and an id per
    event, not fifty copies of the same fields: the incident's history grows ~10x slower and
    continues-as-new (racing the storm's signals) ~10x less often.
    """
    out: list[AlertIn] = []
    last: dict[str, Any] | None = None
    for a in alerts:
        key = _repeat_key(a)
        if key is not None and key == last:
            out[-1].repeats.extend([a.id, *a.repeats])
        else:
            out.append(a if key is None else a.model_copy(update={"repeats": list(a.repeats)}))
        last = key
    return out


def _repeat_key(a: AlertIn) -> dict[str, Any] | None:
    if not a.stored or a.action != "trigger":
        return None
    return a.model_dump(exclude={"id", "received_at", "repeats"})


def events_in(alerts: list[AlertIn]) -> int:
    """How many alert events `alerts` hold, repeats included."""
    return sum(1 + len(a.repeats) for a in alerts)


def head(alert: AlertIn) -> tuple[AlertIn, list[AlertIn]]:
    """Split the first event off an alert with repeats: (that event, the rest as an alert)."""
    if not alert.repeats:
        return alert, []
    first, *more = alert.repeats
    return alert.model_copy(update={"repeats": []}), [
        alert.model_copy(update={"id": first, "repeats": more})
    ]


def take_alerts(s: IncidentState, now: datetime) -> Outcome:
    """Count the received triggers, and apply the acknowledges and resolves among them."""
    if not s.inbox:
        return Outcome(s)
    s = _copy(s)
    batch, s.inbox = s.inbox, []
    triggers = [a for a in batch if a.action == "trigger"]
    commands: list[Command] = []
    if triggers:
        count = events_in(triggers)
        s.alert_count += count
        s.unwritten_alerts = [*s.unwritten_alerts, *triggers]
        _record(
            s,
            "alert",
            triggers[0].actor,
            now,
            count=count,
            summary=triggers[-1].summary,
            alert_ids=[i for a in triggers[:10] for i in (a.id, *a.repeats[:9])][:10],
        )
        if s.in_maintenance:
            s.outbox[-1].detail["maintenance"] = NOT_PAGED
    for a in batch:
        if a.action == "acknowledge" and s.status == "triggered":
            out = acknowledge(s, a.actor, now)
        elif a.action == "resolve" and s.status != "resolved":
            out = resolve(s, a.actor, a.summary or None, now)
        else:
            continue
        s = out.state
        commands += out.commands
    return Outcome(s, commands)


# --- opening and paging -----------------------------------------------------------------------


def opening(
    s: IncidentState, first: AlertIn, now: datetime, run_id: str
) -> tuple[IncidentState, TimelineEventIn, Page]:
    """Take the first trigger (its first event: `head`); return the 'triggered' event and
    level 1's page key.

    Both go to the one activity that writes the incident row and pages level 1 (it knows
    the targets: it reads the policy).
    """
    s = _copy(s)
    at = next(i for i, a in enumerate(s.inbox) if a is first)
    s.inbox = [*s.inbox[:at], *head(first)[1], *s.inbox[at + 1 :]]  # its repeats stay
    s.title, s.severity, s.created_at = first.summary, first.severity, now
    s.first_run_id = run_id
    s.alert_count = 1
    event = new_event(s, "triggered", first.actor, now, summary=first.summary)
    s.seq += 1
    page = Page(
        level=1, targets=[], page_key=f"{s.incident_id}:page{s.seq}", position=s.seq, at=now
    )
    return s, event, page


def opened(s: IncidentState, result: OpenedIncident, page: Page, now: datetime) -> Outcome:
    """Apply the snapshot the first activity returned, and level 1 as it paged it."""
    s = _copy(s)
    s.number, s.service_name, s.urgency = result.number, result.service_name, result.urgency
    s.policy = result.policy
    s.ack_timeout_seconds = result.ack_timeout_seconds
    s.auto_resolve_seconds = result.auto_resolve_seconds
    s.chat = result.chat
    if result.auto_resolve_seconds:
        s.auto_resolve_deadline = now + timedelta(seconds=result.auto_resolve_seconds)
    s.opened = True
    s.pending_page = False
    if result.maintenance_window_id is not None or s.early_maintenance is not None:
        return _opened_in_maintenance(s, result, page, now)
    # The incident's first Slack post goes out with its first pages.
    out = level_paged(s, page, result.paged, now, sync_chat=s.chat)
    if result.paged.users:
        # The activity wrote the row with these assignees: nothing to write until a change.
        out.state.projected = projection_fields(out.state)
    return out


def chat_rides(outcome: Outcome) -> bool:
    """Whether a send of `outcome` carries the incident's chat sync (no sync of its own)."""
    return any(isinstance(c, StartChains) and c.sync_chat for c in outcome.commands)


def begin_page(s: IncidentState, now: datetime) -> tuple[IncidentState, Page]:
    """Take the pending page of the current level (or of the users it was reassigned to)."""
    s = _copy(s)
    assert s.policy is not None and s.pending_page
    s.pending_page = False
    targets = s.policy.levels[s.level_index].targets
    if s.override_targets is not None:
        targets = [Target(type="user", id=u) for u in s.override_targets]
        s.override_targets = None
    s.seq += 1
    page = Page(
        level=s.level_index + 1,
        targets=targets,
        page_key=f"{s.incident_id}:page{s.seq}",
        position=s.seq,
        at=now,
    )
    return s, page


def level_paged(
    s: IncidentState, page: Page, paged: PagedLevel, now: datetime, *, sync_chat: bool = False
) -> Outcome:
    """Start the paged users' notification chains and the level's deadline; the first send
    due at once carries the level's announcement and, given `sync_chat`, the chat sync."""
    if s.status != "triggered" or s.pending_page or s.level_index + 1 != page.level:
        return Outcome(s)  # acknowledged, resolved or re-routed while the targets resolved
    if page.position < s.maintenance_from_seq:
        return Outcome(s)  # begun before a maintenance window started: nobody is notified
    s = _copy(s)
    assert s.policy is not None
    if not paged.users:
        _record(s, "level_empty", Actor(), now, level=page.level, reasons=paged.unresolved)
        return Outcome(s, _advance(s, "level resolved to nobody", now))
    s.assigned_to = [u.user_id for u in paged.users]
    chains = []
    for user in paged.users:
        chains.append(
            Chain(
                page_id=s.seq,
                user_id=user.user_id,
                level=page.level,
                started_at=now,
                steps=user.steps,
            )
        )
        s.seq += 1
    s.chains = [*s.chains, *chains]
    commands: list[Command] = []
    announce = None
    if paged.announce:
        s.seq += 1
        announce = AnnouncePage(
            key=f"{s.incident_id}:announce{s.seq}",
            position=s.seq,
            incident_id=s.incident_id,
            number=s.number,
            title=s.title,
            service_name=s.service_name,
            severity=s.severity,
            level=page.level,
            user_names=[u.name for u in paged.users],
        )
    carrier = first_send(chains)
    commands.append(
        StartChains(
            chains,
            carrier,
            announce if carrier is not None else None,
            sync_chat=sync_chat and carrier is not None,
        )
    )
    if announce and carrier is None:
        commands.append(Announce(announce))
    # A level lasts its delay from when it fired, not from when its pages went out.
    s.level_deadline = page.at + timedelta(seconds=s.policy.levels[s.level_index].delay_seconds)
    if s.in_maintenance:
        s.level_deadline = None  # a person's page during maintenance: no escalation follows
    s.changes += 1
    return Outcome(s, commands)


def first_send(chains: list[Chain]) -> int | None:
    """Return the first chain whose first step is due at once (None when every paged user's
    first step waits): its send can carry what else goes out at that moment."""
    for chain in chains:
        if chain.steps and chain.steps[0].delay_seconds == 0:
            return chain.page_id
    return None


def due_together(steps: list[NotificationStep], index: int) -> int:
    """Return the end of the run of steps from `index` that share its delay (sent as one)."""
    end = index + 1
    while end < len(steps) and steps[end].delay_seconds == steps[index].delay_seconds:
        end += 1
    return end


def step_sends(
    s: IncidentState, chain: Chain, first: int, end: int, now: datetime
) -> list[SendNotification]:
    """Return the sends of steps `first`..`end` of a paged user's chain (one activity).

    A step's idempotency key names the incident, the page and the step, so a retried or
    replayed send is logged once.
    """
    return [
        SendNotification(
            idempotency_key=f"{s.incident_id}:{chain.page_id}:{index}",
            position=chain.page_id,
            incident_id=s.incident_id,
            number=s.number,
            title=s.title,
            service_name=s.service_name,
            severity=s.severity,
            user_id=chain.user_id,
            level=chain.level,
            step=chain.steps[index],
            attempt_at=now,
        )
        for index in range(first, end)
    ]


def steps_started(s: IncidentState, page_id: int, count: int) -> IncidentState:
    """A chain's next `count` steps went out: move the chain on (carried across continue-as-new)."""
    s = _copy(s)
    s.chains = [
        c.model_copy(update={"next_step": c.next_step + count}) if c.page_id == page_id else c
        for c in s.chains
    ]
    return s


def chain_done(s: IncidentState, page_id: int) -> IncidentState:
    s = _copy(s)
    s.chains = [c for c in s.chains if c.page_id != page_id]
    return s


def _advance(s: IncidentState, reason: str, now: datetime) -> list[Command]:
    """Move the working copy `s` to the next level (or stay on the last one)."""
    index, cycle = next_level(s, wrap=False)
    if (index, cycle) == (s.level_index, s.cycle):
        s.level_deadline = None
        if not s.escalation_exhausted:
            s.escalation_exhausted = True
            _record(s, "escalation_exhausted", Actor(), now, level=s.level_index + 1)
        return []
    s.level_index, s.cycle = index, cycle
    s.pending_page = True
    _record(s, "escalated", Actor(), now, level=index + 1, reason=reason, cycle=cycle)
    return []


def _stop_chains(s: IncidentState) -> list[Command]:
    s.chains = []
    return [StopChains()]


# --- deadlines --------------------------------------------------------------------------------


def on_deadlines(s: IncidentState, now: datetime) -> Outcome:
    """Act on the deadline that passed, if any (the workflow calls this whenever it wakes)."""
    if s.status == "resolved":
        return Outcome(s)
    if s.auto_resolve_deadline and now >= s.auto_resolve_deadline:
        return resolve(s, Actor(), "auto-resolved after the service's auto-resolve timeout", now)
    if s.snoozed_until and now >= s.snoozed_until:
        return _held(retrigger(s, Actor(), "snooze ended", now), now)
    if s.status == "acknowledged" and s.ack_deadline and now >= s.ack_deadline:
        return _held(retrigger(s, Actor(), "acknowledgement timed out", now), now)
    if s.status == "triggered" and s.level_deadline and now >= s.level_deadline:
        s = _copy(s)
        commands = _stop_chains(s)
        return Outcome(s, commands + _advance(s, "not acknowledged in time", now))
    return Outcome(s)


# --- what people do ---------------------------------------------------------------------------


def acknowledge(s: IncidentState, actor: Actor, now: datetime) -> Outcome:
    """Stop escalating and stop pending notifications; a no-op unless triggered."""
    if s.status != "triggered":
        return Outcome(s)
    s = _copy(s)
    commands = _stop_chains(s)
    s.status, s.acknowledged_at, s.acknowledged_by = "acknowledged", now, actor.id
    s.level_deadline = None
    s.pending_page = False
    if s.ack_timeout_seconds:
        s.ack_deadline = now + timedelta(seconds=s.ack_timeout_seconds)
    _record(s, "acknowledged", actor, now)
    return Outcome(s, commands)


def resolve(s: IncidentState, actor: Actor, note: str | None, now: datetime) -> Outcome:
    """Resolve: final. Nothing pages again in this run."""
    if s.status == "resolved":
        return Outcome(s)
    s = _copy(s)
    commands = _stop_chains(s)
    s.status, s.resolved_at, s.resolved_by = "resolved", now, actor.id
    s.level_deadline = s.ack_deadline = s.snoozed_until = s.auto_resolve_deadline = None
    s.pending_page = False
    s.override_targets = None
    _record(s, "resolved", actor, now, **({"note": note} if note else {}))
    return Outcome(s, commands)


def retrigger(s: IncidentState, actor: Actor, reason: str, now: datetime) -> Outcome:
    """Page the current level again (an acknowledged incident becomes triggered again)."""
    if s.status == "resolved":
        return Outcome(s)
    s = _copy(s)
    commands = _stop_chains(s)
    _retrigger(s, actor, reason, now)
    return Outcome(s, commands)


def _retrigger(s: IncidentState, actor: Actor, reason: str, now: datetime) -> None:
    if s.status == "acknowledged":
        _record(s, "unacknowledged", actor, now, reason=reason)
    s.status = "triggered"
    s.acknowledged_at = s.acknowledged_by = None
    s.snoozed_until = s.ack_deadline = None
    s.level_deadline = None
    s.escalation_exhausted = False
    s.pending_page = True
    s.changes += 1


def escalate(s: IncidentState, actor: Actor, now: datetime) -> Outcome:
    """Escalate now to the next level, wrapping to level 1 after the last."""
    check_escalate(s, ActionIn(actor=actor))
    s = _copy(s)
    commands = _stop_chains(s)
    _retrigger(s, actor, "escalated", now)
    s.level_index, s.cycle = next_level(s, wrap=True)
    _record(s, "escalated", actor, now, level=s.level_index + 1, manual=True)
    return Outcome(s, commands)


def snooze(s: IncidentState, actor: Actor, seconds: float, now: datetime) -> Outcome:
    """Acknowledge (if needed) and stay quiet until the snooze ends; then trigger again."""
    check_snooze(s, SnoozeIn(actor=actor, seconds=seconds))
    out = acknowledge(s, actor, now)
    s = _copy(out.state)
    s.snoozed_until = now + timedelta(seconds=seconds)
    s.ack_deadline = None
    _record(s, "snoozed", actor, now, until=s.snoozed_until.isoformat())
    return Outcome(s, out.commands)


def note(s: IncidentState, actor: Actor, body: str, now: datetime) -> Outcome:
    check_note(s, NoteIn(actor=actor, body=body))
    s = _copy(s)
    _record(s, "note", actor, now, body=body)
    return Outcome(s)


def reassign_users(s: IncidentState, actor: Actor, user_ids: list[str], now: datetime) -> Outcome:
    """Page these users now in the current level's place; escalation goes on from there."""
    check_reassign(s, ReassignIn(actor=actor, user_ids=user_ids))
    s = _copy(s)
    commands = _stop_chains(s)
    users = list(dict.fromkeys(user_ids))
    _record(s, "reassigned", actor, now, user_ids=users)
    s.override_targets = users
    _retrigger(s, actor, "reassigned", now)
    return Outcome(s, commands)


def reassign_policy(
    s: IncidentState, actor: Actor, policy: PolicySnapshot, now: datetime
) -> Outcome:
    """Follow another escalation policy from its level 1."""
    if s.status == "resolved":
        return Outcome(s)  # resolved while the policy was loading
    s = _copy(s)
    commands = _stop_chains(s)
    s.policy = policy
    s.level_index, s.cycle = 0, 0
    s.override_targets = None
    _record(s, "reassigned", actor, now, escalation_policy_id=policy.id, policy=policy.name)
    _retrigger(s, actor, "reassigned", now)
    return Outcome(s, commands)


# --- maintenance windows ----------------------------------------------------------------------
# While the service is in a maintenance window, alerts are recorded but nothing pages by itself:
# no level timer runs, and a snooze's end or an acknowledgement timeout does not page. A
# person's escalate or reassign still pages (they asked for it), without a timer after it.
# When the window ends, an incident that is still triggered pages again from level 1.

NOT_PAGED = "alert received during maintenance, not paged"
PAGING_STOPPED = "maintenance started, paging stopped"
MAINTENANCE_STARTED = "maintenance started"
FROM_LEVEL_ONE = "maintenance ended, paging from level 1"
MAINTENANCE_ENDED = "maintenance ended"


def maintenance(s: IncidentState, window_id: str, active: bool, now: datetime) -> Outcome:
    """A window over the service started (`active`) or the service left maintenance."""
    if s.status == "resolved" or (s.opened and active == s.in_maintenance):
        return Outcome(s)  # nothing changes (another window while in one, a repeated signal)
    s = _copy(s)
    s.maintenance_window_id = window_id
    if not s.opened:
        # The opening activity may have read the window before this: `opened` applies it.
        s.early_maintenance = active
        return Outcome(s)
    s.in_maintenance = active
    if active:
        paging = s.status == "triggered"
        stop = _stop_chains(s)
        s.level_deadline = None
        s.pending_page = False
        text = PAGING_STOPPED if paging else MAINTENANCE_STARTED
        _record(s, "maintenance", Actor(), now, window_id=window_id, active=True, maintenance=text)
        s.maintenance_from_seq = s.seq  # pages begun before now are dropped when they return
        return Outcome(s, stop)
    commands: list[Command] = []
    firing = s.status == "triggered"
    if firing:
        # Its alerts still fire: page as if it had just opened (a person's page in the window
        # gives way to level 1).
        commands = _stop_chains(s)
        s.level_index, s.cycle = 0, 0
        s.override_targets = None
        s.escalation_exhausted = False
        s.level_deadline = None
        s.pending_page = True
    text = FROM_LEVEL_ONE if firing else MAINTENANCE_ENDED
    _record(s, "maintenance", Actor(), now, window_id=window_id, active=False, maintenance=text)
    return Outcome(s, commands)


def _opened_in_maintenance(
    s: IncidentState, result: OpenedIncident, page: Page, now: datetime
) -> Outcome:
    """Open an incident whose service is in maintenance, or whose window changed meanwhile.

    `s` is the working copy `opened` made. The activity found a window (nobody was paged), or
    a signal came while it ran (it is newer than the activity's answer, and wins).
    """
    told, s.early_maintenance = s.early_maintenance, None
    told_window = s.maintenance_window_id or ""
    held = result.maintenance_window_id is not None
    if held:
        s.in_maintenance = True
        s.maintenance_window_id = result.maintenance_window_id
        s.maintenance_from_seq = s.seq
        s.projected = projection_fields(s)  # the activity wrote the row so, with no assignee
        out = Outcome(s)
    else:
        out = level_paged(s, page, result.paged, now)
        if result.paged.users:
            out.state.projected = projection_fields(out.state)
    if told is None or told == held:
        return out
    later = maintenance(out.state, told_window, told, now)
    return Outcome(later.state, [*out.commands, *later.commands])


def _held(out: Outcome, now: datetime) -> Outcome:
    """Keep a retriggered incident quiet while its service is in maintenance."""
    s = out.state
    if not (s.in_maintenance and s.pending_page):
        return out
    s = _copy(s)
    s.pending_page = False
    text = "triggered again during maintenance, not paged"
    _record(s, "maintenance", Actor(), now, window_id=s.maintenance_window_id, maintenance=text)
    return Outcome(s, out.commands)


def set_severity(s: IncidentState, actor: Actor, severity: Severity, now: datetime) -> Outcome:
    """Change the severity (an automation's step, or a person); the timeline says from what."""
    check_set_severity(s, SeverityIn(actor=actor, severity=severity))
    if severity == s.severity:
        return Outcome(s)
    s = _copy(s)
    _record(s, "severity_changed", actor, now, old=s.severity, new=severity)
    s.severity = severity
    return Outcome(s)


# --- what is allowed (Update validators: a rejection writes nothing to history) ---------------


def _check_open(s: IncidentState, inp: ActionIn, message: str = "the incident is resolved") -> None:
    if inp.incident_id and inp.incident_id != s.incident_id:
        raise Rejected("the incident is resolved")  # the caller means an earlier incident
    if s.status == "resolved":
        raise Rejected(message)


def check_acknowledge(s: IncidentState, inp: ActionIn) -> None:
    _check_open(s, inp)


def check_resolve(s: IncidentState, inp: ActionIn) -> None:
    _check_open(s, inp, "the incident is already resolved")


def check_escalate(s: IncidentState, inp: ActionIn) -> None:
    _check_open(s, inp)


def check_reassign(s: IncidentState, inp: ReassignIn) -> None:
    _check_open(s, inp)
    refusal = limits.reassign_refusal(inp.user_ids, inp.escalation_policy_id)
    if refusal is not None:
        raise Rejected(refusal)


def check_snooze(s: IncidentState, inp: SnoozeIn) -> None:
    _check_open(s, inp)
    # The action limits live in workflows/limits.py: the API, web UI and Slack check the same.
    refusal = limits.snooze_refusal(timedelta(seconds=inp.seconds))
    if refusal is not None:
        raise Rejected(refusal)


def check_note(s: IncidentState, inp: NoteIn) -> None:
    _check_open(s, inp)
    if not inp.body.strip():
        raise Rejected("a note needs a body")


def check_start_runbook(s: IncidentState, inp: ActionIn) -> None:
    """Runbooks run on open incidents only: a resolved one refuses (API: 409)."""
    _check_open(s, inp, "the incident is resolved; runbooks run on open incidents")


def check_set_severity(s: IncidentState, inp: SeverityIn) -> None:
    _check_open(s, inp)


# --- writing the projection -------------------------------------------------------------------


def take_writes(
    s: IncidentState,
) -> tuple[IncidentState, dict[str, Any], list[TimelineEventIn], list[AlertIn]] | None:
    """Return what to write to PostgreSQL (fields, events, alerts), or None if nothing changed.

    The new state counts the write (`version`) and has an empty outbox.
    """
    fields = projection_fields(s)
    if not s.outbox and not s.unwritten_alerts and fields == s.projected:
        return None
    events, alerts = s.outbox, s.unwritten_alerts
    s = s.model_copy(
        update={"outbox": [], "unwritten_alerts": [], "projected": fields, "version": s.version + 1}
    )
    return s, fields, events, alerts


def written(s: IncidentState, upto: int) -> IncidentState:
    """The changes counted up to `upto` are in PostgreSQL (Updates waiting on them answer)."""
    return s.model_copy(update={"flushed_changes": max(s.flushed_changes, upto)})


# --- continuing as new ------------------------------------------------------------------------

# How long no alert must have come before a run continues as new because Temporal suggests it.
# A continue-as-new decided while a storm's signals keep coming races the next one: the server
# refuses that task (UNHANDLED_COMMAND), the worker replays the whole run, and the hand-off
# that raced it waits ~1 s (docs/benchmarks.md, "Signal storms"). Temporal suggests it early
# (the dev server at ~4,000 events or 4 MB; it refuses a run only at 51,200 events or 50 MB).
QUIET_BEFORE_CONTINUE = timedelta(seconds=1)


def continue_now(
    *,
    suggested: bool,
    length: int,
    max_events: int,
    last_alert_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether the run continues as new now: always past `max_events`; when Temporal suggests
    it, only once no alert came for QUIET_BEFORE_CONTINUE (after the storm, not during it)."""
    if length > max_events:
        return True
    if not suggested:
        return False
    return last_alert_at is None or now - last_alert_at >= QUIET_BEFORE_CONTINUE


# --- arithmetic and views ---------------------------------------------------------------------


def next_level(s: IncidentState, *, wrap: bool) -> tuple[int, int]:
    """Return (level index, cycle) after the current level.

    After the last level the policy starts again from level 1 while repeats remain; with
    `wrap` (a person escalating by hand) it always may. Otherwise it stays where it is.
    """
    assert s.policy is not None
    if s.level_index + 1 < len(s.policy.levels):
        return s.level_index + 1, s.cycle
    if s.cycle < s.policy.repeat:
        return 0, s.cycle + 1
    if wrap:
        return 0, s.cycle
    return s.level_index, s.cycle


def next_deadline(s: IncidentState) -> datetime | None:
    """Return the earliest instant at which the workflow must act without being asked."""
    candidates = [s.auto_resolve_deadline]
    if s.status == "triggered":
        candidates.append(s.level_deadline)
    elif s.status == "acknowledged":
        candidates += [s.snoozed_until, s.ack_deadline]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None


def wait_label(s: IncidentState) -> str:
    """Label the timer in the Temporal UI's event history."""
    if s.status == "triggered" and s.level_deadline:
        return f"level {s.level_index + 1} waits for acknowledgement"
    if s.snoozed_until:
        return "snoozed"
    if s.status == "acknowledged" and s.ack_deadline:
        return "acknowledgement timeout"
    return "waiting"


def view(s: IncidentState) -> IncidentView:
    """Return the public live view of the state."""
    return IncidentView(
        incident_id=s.incident_id,
        number=s.number,
        title=s.title,
        status=s.status,
        severity=s.severity,
        urgency=s.urgency,
        service_id=s.service_id,
        service_name=s.service_name,
        escalation_policy_id=s.policy.id if s.policy else None,
        escalation_level=s.level_index + 1,
        assigned_to=list(s.assigned_to),
        alert_count=s.alert_count,
        created_at=s.created_at,
        acknowledged_at=s.acknowledged_at,
        acknowledged_by=s.acknowledged_by,
        resolved_at=s.resolved_at,
        resolved_by=s.resolved_by,
        snoozed_until=s.snoozed_until,
    )


def projection_fields(s: IncidentState) -> dict[str, Any]:
    """Return the incident row's columns as the state says they are."""
    return {
        "status": s.status,
        "severity": s.severity,
        "escalation_level": s.level_index + 1,
        "escalation_policy_id": s.policy.id if s.policy else None,
        "assigned_to": list(s.assigned_to),
        "alert_count": s.alert_count,
        "acknowledged_at": s.acknowledged_at.isoformat() if s.acknowledged_at else None,
        "acknowledged_by": s.acknowledged_by,
        "resolved_at": s.resolved_at.isoformat() if s.resolved_at else None,
        "resolved_by": s.resolved_by,
        "snoozed_until": s.snoozed_until.isoformat() if s.snoozed_until else None,
    }


def search_fields(s: IncidentState) -> tuple[int, str, str, str, int]:
    """The values of the search attributes (number, status, service, severity, level)."""
    return s.number, s.status, s.service_name, s.severity, s.level_index + 1


def details_markdown(s: IncidentState) -> str:
    """Return the live details shown on the workflow's page in the Temporal UI."""
    lines = [
        f"**#{s.number} {s.title}**",
        "",
        f"- status: **{s.status}**"
        + (f" (snoozed until {s.snoozed_until:%Y-%m-%d %H:%M} UTC)" if s.snoozed_until else ""),
        f"- service: {s.service_name}",
        f"- severity: {s.severity}, urgency: {s.urgency}",
        f"- alerts: {s.alert_count}",
    ]
    if s.policy:
        lines.append(
            f"- escalation: {s.policy.name}, level {s.level_index + 1} of {len(s.policy.levels)}"
            + (f", repeat {s.cycle}/{s.policy.repeat}" if s.policy.repeat else "")
        )
    if s.level_deadline and s.status == "triggered":
        lines.append(f"- next escalation: {s.level_deadline:%Y-%m-%d %H:%M:%S} UTC")
    if s.in_maintenance:
        lines.append("- in maintenance: alerts are recorded, nobody is paged")
    if s.assigned_to:
        lines.append(f"- paged users: {len(s.assigned_to)}")
    return "\n".join(lines)


def chunks(alerts: list[AlertIn], max_count: int, max_bytes: int) -> list[list[AlertIn]]:
    """Split alerts, in order, into chunks of at most about `max_count` events (repeats
    count) and `max_bytes`; an alert is never split from its repeats."""
    out: list[list[AlertIn]] = []
    size = count = 0
    for alert in alerts:
        n = len(alert.model_dump_json())
        k = 1 + len(alert.repeats)
        if not out or (out[-1] and (count + k > max_count or size + n > max_bytes)):
            out.append([])
            size = count = 0
        out[-1].append(alert)
        size += n
        count += k
    return out


def split_stored(alerts: list[AlertIn]) -> tuple[list[AlertIn], list[AlertRef]]:
    """Split alerts to write into those carried whole and stored ones, attached by id.

    A stored alert's row (with its payload) was written by ingestion before it signalled:
    the write names it only, so the alert is carried once in history (in the signal).
    """
    whole = [a for a in alerts if not a.stored]
    refs = [AlertRef(id=a.id, alert_key=a.alert_key, repeats=a.repeats) for a in alerts if a.stored]
    return whole, refs


def invalid(s: IncidentState) -> list[str]:
    """Return what is wrong with a state (empty when it is consistent): for the tests."""
    wrong = []
    if s.status == "resolved":
        if s.resolved_at is None:
            wrong.append("resolved without resolved_at")
        if s.chains or s.pending_page:
            wrong.append("resolved but still paging")
        if any((s.level_deadline, s.ack_deadline, s.snoozed_until, s.auto_resolve_deadline)):
            wrong.append("resolved with a deadline left")
    if s.status == "acknowledged":
        if s.acknowledged_at is None:
            wrong.append("acknowledged without acknowledged_at")
        if s.chains or s.pending_page or s.level_deadline:
            wrong.append("acknowledged but still paging")
    if s.status == "triggered" and (s.acknowledged_at or s.snoozed_until or s.ack_deadline):
        wrong.append("triggered with acknowledgement fields")
    if s.snoozed_until and s.status != "acknowledged":
        wrong.append("snoozed but not acknowledged")
    if s.policy is not None:
        if not 0 <= s.level_index < len(s.policy.levels):
            wrong.append("level out of range")
        if not 0 <= s.cycle <= s.policy.repeat:
            wrong.append("cycle out of range")
    ids = [e.id for e in s.outbox]
    if len(ids) != len(set(ids)) or any(e.position > s.seq for e in s.outbox):
        wrong.append("timeline event ids repeat or run ahead of seq")
    if s.flushed_changes > s.changes:
        wrong.append("more written than changed")
    return wrong


# --- automations (workflows/automation_rules.py decides which fire) ---------------------------


def automation_facts(s: IncidentState) -> Facts | None:
    """Return what automations' conditions test, or None when no automation is enabled."""
    a = s.automations
    if a is None or not a.triggers or not s.opened:
        return None
    return Facts(
        severity=s.severity,
        urgency=s.urgency,
        service_id=s.service_id,
        team_id=a.team_id,
        title=s.title,
        escalation_level=s.level_index + 1,
        status=s.status,
        labels=a.labels,
    )
