"""IncidentWorkflow: one per incident; its timers drive escalation until a human acknowledges.

Deterministic and free of I/O: every read and write goes through an activity.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.incident_engine import DB_RETRY, DB_TIMEOUT, IncidentEngine

# Plain data types and pure functions: imported once, outside the sandbox,
# instead of again for every workflow run (that cost ~25 ms and ~700 KiB each).
with workflow.unsafe.imports_passed_through():
    from workflows import incident_state as rules
    from workflows.incident_types import (
        INVALID_TRANSITION,
        ActionIn,
        AlertIn,
        IncidentInput,
        IncidentState,
        IncidentView,
        LoadPolicy,
        NoteIn,
        OpenedIncident,
        OpenIncident,
        PolicySnapshot,
        ReassignIn,
        ResolveIn,
        SnoozeIn,
        TimelineEventIn,
    )
    from workflows.limits import MAX_SNOOZE


def _reject(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_TRANSITION, non_retryable=True)


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow(IncidentEngine):
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self.s = inp.carried or IncidentState(
            incident_id=inp.incident_id,
            service_id=inp.service_id,
            dedup_key=inp.dedup_key,
            max_history_events=inp.max_history_events,
        )
        self._inbox: list[AlertIn] = list(inp.carried_alerts)
        self._after_resolve: list[AlertIn] = []
        self._dirty = False
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._opened = inp.carried is not None
        self._events: list[TimelineEventIn] = []  # not yet written to PostgreSQL
        self._alerts: list[AlertIn] = []
        self._projected: dict[str, object] | None = None
        self._override_targets: list[str] | None = None
        self._stopped: set[int] = set()
        self._sending = 0
        self._announce_tasks: list[asyncio.Task[None]] = []
        self._changes = 0  # counts recorded changes; _flushed_changes trails it
        self._flushed_changes = 0
        self._overlap: bool | None = None
        self._step_tasks: list[asyncio.Task[None]] = []
        self._chat_task = None
        self._chat_wanted = False
        self._chat_on = None

    # --- signals, queries, updates ----------------------------------------------------------

    @workflow.signal
    def alerts(self, batch: list[AlertIn]) -> None:
        """Receive alert events (a batch: storms arrive together)."""
        if self.s.status == "resolved":
            # Too late for this incident: they open the next one (see the end of run).
            self._after_resolve.extend(a for a in batch if a.action == "trigger")
            return
        self._inbox.extend(batch)
        self._dirty = True

    @workflow.query
    def view(self) -> IncidentView:
        """Return the live state."""
        return rules.view(self.s)

    @workflow.update
    async def acknowledge(self, inp: ActionIn) -> IncidentView:
        """Acknowledge: stop escalating and cancel pending notifications."""
        await self._wait_opened()
        if self.s.status == "triggered":
            self._acknowledge(inp.actor)
            await self._projected_soon()
        return rules.view(self.s)

    @acknowledge.validator
    def _validate_acknowledge(self, inp: ActionIn) -> None:
        self._check_target(inp)
        if self.s.status == "resolved":
            raise _reject("the incident is resolved")

    @workflow.update
    async def resolve(self, inp: ResolveIn) -> IncidentView:
        """Resolve, with an optional note."""
        await self._wait_opened()
        if self.s.status != "resolved":
            self._resolve(inp.actor, inp.note)
            await self._projected_soon()
        return rules.view(self.s)

    @resolve.validator
    def _validate_resolve(self, inp: ResolveIn) -> None:
        self._check_target(inp)
        if self.s.status == "resolved":
            raise _reject("the incident is already resolved")

    @workflow.update
    async def reassign(self, inp: ReassignIn) -> IncidentView:
        """Reassign to users (paged now) or to another escalation policy (from level 1)."""
        await self._wait_opened()
        if inp.escalation_policy_id:
            policy = await workflow.execute_activity(
                "load_policy",
                LoadPolicy(policy_id=inp.escalation_policy_id),
                result_type=PolicySnapshot,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
                summary="load escalation policy",
            )
            if self.s.status == "resolved":
                return rules.view(self.s)
            self._cancel_chains()
            self.s.policy = policy
            self.s.level_index, self.s.cycle = 0, 0
            self._event("reassigned", inp.actor, escalation_policy_id=policy.id, policy=policy.name)
        else:
            self._cancel_chains()
            users = list(dict.fromkeys(inp.user_ids or []))
            # Direct assignees take the current level's place; escalation goes on from there.
            self._event("reassigned", inp.actor, user_ids=users)
            self._override_targets = users
        self._retrigger(inp.actor, reason="reassigned")
        await self._projected_soon()
        return rules.view(self.s)

    @reassign.validator
    def _validate_reassign(self, inp: ReassignIn) -> None:
        self._check_target(inp)
        if self.s.status == "resolved":
            raise _reject("the incident is resolved")
        if bool(inp.user_ids) == bool(inp.escalation_policy_id):
            raise _reject("give either user_ids or escalation_policy_id")

    @workflow.update
    async def escalate(self, inp: ActionIn) -> IncidentView:
        """Escalate now to the next level; an acknowledged incident becomes triggered again."""
        await self._wait_opened()
        self._cancel_chains()
        self._retrigger(inp.actor, reason="escalated")
        self.s.level_index, self.s.cycle = rules.next_level(self.s, wrap=True)
        self._event("escalated", inp.actor, level=self.s.level_index + 1, manual=True)
        await self._projected_soon()
        return rules.view(self.s)

    @escalate.validator
    def _validate_escalate(self, inp: ActionIn) -> None:
        self._check_target(inp)
        if self.s.status == "resolved":
            raise _reject("the incident is resolved")

    @workflow.update
    async def snooze(self, inp: SnoozeIn) -> IncidentView:
        """Snooze: quiet until the duration passes, then trigger again."""
        await self._wait_opened()
        if self.s.status == "triggered":
            self._acknowledge(inp.actor)
        self.s.snoozed_until = workflow.now() + timedelta(seconds=inp.seconds)
        self.s.ack_deadline = None
        self._event("snoozed", inp.actor, until=self.s.snoozed_until.isoformat())
        await self._projected_soon()
        return rules.view(self.s)

    @snooze.validator
    def _validate_snooze(self, inp: SnoozeIn) -> None:
        self._check_target(inp)
        if self.s.status == "resolved":
            raise _reject("the incident is resolved")
        if not 0 < inp.seconds <= MAX_SNOOZE.total_seconds():
            raise _reject("snooze between 1 second and 7 days")

    @workflow.update
    async def add_note(self, inp: NoteIn) -> IncidentView:
        """Add a note to the timeline."""
        await self._wait_opened()
        self._event("note", inp.actor, body=inp.body)
        await self._projected_soon()
        return rules.view(self.s)

    @add_note.validator
    def _validate_note(self, inp: NoteIn) -> None:
        self._check_target(inp)
        if self.s.status == "resolved":
            raise _reject("the incident is resolved")
        if not inp.body.strip():
            raise _reject("a note needs a body")

    def _check_target(self, inp: ActionIn) -> None:
        if inp.incident_id and inp.incident_id != self.s.incident_id:
            raise _reject("the incident is resolved")

    # --- main loop --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentView:
        if inp.carried is None:
            await workflow.wait_condition(lambda: bool(self._inbox))
            if not any(a.action == "trigger" for a in self._inbox):
                # An acknowledge or resolve for an incident that does not exist: nothing to open.
                return rules.view(self.s)
            await self._open()
        else:
            self._resume_chains()
            # A sync in flight when the previous run continued as new was abandoned.
            self._want_chat_sync()
        while True:
            self._take_alerts()
            if self.s.status == "resolved":
                break
            if self.s.pending_page and self.s.status == "triggered":
                await self._page_current_level()
                continue
            await self._flush()
            if self._history_full():
                await self._continue_as_new()
            deadline = rules.next_deadline(self.s)
            timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
            try:
                await workflow.wait_condition(
                    lambda: self._dirty, timeout=timeout, timeout_summary=rules.wait_label(self.s)
                )
            except TimeoutError:
                pass
            self._dirty = False
            self._on_deadlines(workflow.now())
        self._cancel_chains()
        await self._flush()
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._sending and self._chat_idle()
        )
        if self._after_resolve:
            # Alerts that arrived as the incident resolved open a new incident in a new run.
            workflow.continue_as_new(
                IncidentInput(
                    incident_id=str(workflow.uuid4()),
                    service_id=self.s.service_id,
                    dedup_key=self.s.dedup_key,
                    carried_alerts=self._after_resolve,
                    max_history_events=self.s.max_history_events,
                )
            )
        return rules.view(self.s)

    async def _wait_opened(self) -> None:
        await workflow.wait_condition(lambda: self._opened)

    async def _open(self) -> None:
        first = next(a for a in self._inbox if a.action == "trigger")
        info = workflow.info()
        now = workflow.now()
        s = self.s
        s.title, s.severity, s.created_at = first.summary, first.severity, now
        s.first_run_id = info.run_id
        opened_event = self._new_event("triggered", first.actor, summary=first.summary)
        opened = await workflow.execute_activity(
            "open_incident",
            OpenIncident(
                incident_id=s.incident_id,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                service_id=s.service_id,
                dedup_key=s.dedup_key,
                title=s.title,
                severity=s.severity,
                opened_at=now,
                alerts=[first],
                event=opened_event,
            ),
            result_type=OpenedIncident,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary="open incident",
        )
        self._inbox.remove(first)
        s.number, s.service_name, s.urgency = opened.number, opened.service_name, opened.urgency
        s.policy = opened.policy
        s.alert_count = 1
        s.ack_timeout_seconds = opened.ack_timeout_seconds
        s.chat = opened.chat
        s.auto_resolve_seconds = opened.auto_resolve_seconds
        if opened.auto_resolve_seconds:
            s.auto_resolve_deadline = now + timedelta(seconds=opened.auto_resolve_seconds)
        self._opened = True
        self._upsert_search_attributes()
