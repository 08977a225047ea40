"""The incident workflow's machinery: escalation, transitions, notification chains, projection.

A mixin of IncidentWorkflow, kept apart so each file reads on its own. Deterministic, no I/O.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.incident_chat import ChatSync

# Plain data types and pure functions: imported once, outside the sandbox,
# instead of again for every workflow run (that cost ~25 ms and ~700 KiB each).
with workflow.unsafe.imports_passed_through():
    from workflows import incident_state as rules
    from workflows.incident_types import (
        Actor,
        AlertIn,
        AnnouncePage,
        Chain,
        DeliveryResult,
        IncidentInput,
        IncidentState,
        PagedLevel,
        PageLevel,
        Projection,
        SendNotification,
        TimelineEventIn,
    )
    from workflows.search_attributes import (
        ESCALATION_LEVEL,
        INCIDENT_NUMBER,
        INCIDENT_STATUS,
        SERVICE_NAME,
        SEVERITY,
    )

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
DB_TIMEOUT = timedelta(seconds=30)
PATCH_PROJECTION_CHUNKS = "projection-alert-chunks"
PATCH_DEADLINE_FROM_FIRE = "level-deadline-from-fire"
PATCH_ANNOUNCE = "announce-page-in-chat"
PATCH_OVERLAP_STEPS = "chain-steps-do-not-wait"
PROJECTION_MAX_ALERTS = 500
PROJECTION_MAX_BYTES = 400_000  # under the SDK's 512 KB warning, far under 2 MB
# How long an Update waits for its change to reach PostgreSQL before answering anyway.
PROJECTION_WAIT = timedelta(seconds=3)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=5,
    non_retryable_error_types=["PermanentDeliveryError"],
)


class IncidentEngine(ChatSync):
    """State transitions and side effects shared by the workflow's run loop and its Updates."""

    s: IncidentState
    _inbox: list[AlertIn]
    _dirty: bool
    _tasks: dict[int, asyncio.Task[None]]
    _opened: bool
    _events: list[TimelineEventIn]
    _alerts: list[AlertIn]
    _projected: dict[str, object] | None
    _override_targets: list[str] | None
    _stopped: set[int]  # page ids whose notification chains were stopped
    _sending: int  # notification sends under way; let them finish before closing the run
    _announce_tasks: list[asyncio.Task[None]]
    _changes: int
    _flushed_changes: int
    _overlap: bool | None  # PATCH_OVERLAP_STEPS, decided at the run's first notification step
    _step_tasks: list[asyncio.Task[None]]

    # --- escalation -------------------------------------------------------------------------

    async def _page_current_level(self) -> None:
        s = self.s
        assert s.policy is not None
        s.pending_page = False
        level = s.policy.levels[s.level_index]
        fired_at = workflow.now()
        targets = level.targets
        if self._override_targets is not None:
            targets = [rules.user_target(u) for u in self._override_targets]
            self._override_targets = None
        await self._flush()
        s.seq += 1
        paged = await workflow.execute_activity(
            "page_level",
            PageLevel(
                incident_id=s.incident_id,
                level=s.level_index + 1,
                targets=targets,
                urgency=s.urgency,
                page_key=f"{s.incident_id}:page{s.seq}",
                position=s.seq,
                at=workflow.now(),
            ),
            result_type=PagedLevel,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=f"page level {s.level_index + 1}",
        )
        if s.status != "triggered" or s.pending_page:
            return  # acknowledged, resolved or re-routed while we resolved the targets
        if not paged.users:
            self._event("level_empty", Actor(), level=s.level_index + 1, reasons=paged.unresolved)
            self._advance(reason="level resolved to nobody")
            return
        s.assigned_to = [u.user_id for u in paged.users]
        for user in paged.users:
            chain = Chain(
                page_id=s.seq,
                user_id=user.user_id,
                level=s.level_index + 1,
                started_at=workflow.now(),
                steps=user.steps,
            )
            s.seq += 1
            s.chains.append(chain)
            self._start_chain(chain)
        if paged.announce and workflow.patched(PATCH_ANNOUNCE):
            s.seq += 1
            announce = AnnouncePage(
                key=f"{s.incident_id}:announce{s.seq}",
                position=s.seq,
                incident_id=s.incident_id,
                number=s.number,
                title=s.title,
                service_name=s.service_name,
                severity=s.severity,
                level=s.level_index + 1,
                user_names=[u.name for u in paged.users],
            )
            self._announce_tasks = [t for t in self._announce_tasks if not t.done()]
            self._announce_tasks.append(asyncio.create_task(self._announce(announce)))
        # A level lasts its delay from when it fired, not from when its pages were sent.
        started = fired_at if workflow.patched(PATCH_DEADLINE_FROM_FIRE) else workflow.now()
        s.level_deadline = started + timedelta(seconds=level.delay_seconds)
        self._upsert_search_attributes()

    def _advance(self, *, reason: str) -> None:
        s = self.s
        index, cycle = rules.next_level(s, wrap=False)
        if (index, cycle) == (s.level_index, s.cycle):
            s.level_deadline = None
            if not s.escalation_exhausted:
                s.escalation_exhausted = True
                self._event("escalation_exhausted", Actor(), level=s.level_index + 1)
            return
        s.level_index, s.cycle = index, cycle
        s.pending_page = True
        self._event("escalated", Actor(), level=index + 1, reason=reason, cycle=cycle)

    def _on_deadlines(self, now: datetime) -> None:
        s = self.s
        if s.status == "resolved":
            return
        if s.auto_resolve_deadline and now >= s.auto_resolve_deadline:
            self._resolve(Actor(), "auto-resolved after the service's auto-resolve timeout")
            return
        if s.snoozed_until and now >= s.snoozed_until:
            self._retrigger(Actor(), reason="snooze ended")
            return
        if s.status == "acknowledged" and s.ack_deadline and now >= s.ack_deadline:
            self._retrigger(Actor(), reason="acknowledgement timed out")
            return
        if s.status == "triggered" and s.level_deadline and now >= s.level_deadline:
            self._cancel_chains()
            self._advance(reason="not acknowledged in time")

    # --- transitions ------------------------------------------------------------------------

    def _acknowledge(self, actor: Actor) -> None:
        s = self.s
        self._cancel_chains()
        s.status, s.acknowledged_at, s.acknowledged_by = "acknowledged", workflow.now(), actor.id
        s.level_deadline = None
        if s.ack_timeout_seconds:
            s.ack_deadline = workflow.now() + timedelta(seconds=s.ack_timeout_seconds)
        self._event("acknowledged", actor)
        self._upsert_search_attributes()

    def _resolve(self, actor: Actor, note: str | None) -> None:
        s = self.s
        self._cancel_chains()
        s.status, s.resolved_at, s.resolved_by = "resolved", workflow.now(), actor.id
        s.level_deadline = s.ack_deadline = s.snoozed_until = None
        s.auto_resolve_deadline = None
        self._event("resolved", actor, **({"note": note} if note else {}))
        self._dirty = True
        self._upsert_search_attributes()

    def _retrigger(self, actor: Actor, *, reason: str) -> None:
        s = self.s
        if s.status == "acknowledged":
            self._event("unacknowledged", actor, reason=reason)
        s.status = "triggered"
        s.acknowledged_at = s.acknowledged_by = None
        s.snoozed_until = s.ack_deadline = None
        s.escalation_exhausted = False
        s.pending_page = True
        self._dirty = True
        self._upsert_search_attributes()

    def _take_alerts(self) -> None:
        if not self._inbox:
            return
        batch, self._inbox = self._inbox, []
        triggers = [a for a in batch if a.action == "trigger"]
        if triggers:
            self.s.alert_count += len(triggers)
            self._alerts.extend(triggers)
            self._event(
                "alert",
                triggers[0].actor,
                count=len(triggers),
                summary=triggers[-1].summary,
                alert_ids=[a.id for a in triggers[:10]],
            )
        for a in batch:
            if a.action == "acknowledge" and self.s.status == "triggered":
                self._acknowledge(a.actor)
            elif a.action == "resolve" and self.s.status != "resolved":
                self._resolve(a.actor, a.summary or None)

    # --- notification chains ----------------------------------------------------------------

    def _start_chain(self, chain: Chain) -> None:
        self._tasks[chain.page_id] = asyncio.create_task(self._run_chain(chain))

    def _resume_chains(self) -> None:
        for chain in self.s.chains:
            self._start_chain(chain)

    def _cancel_chains(self) -> None:
        """Stop every pending notification; a send already under way completes and is logged."""
        self._stopped.update(self._tasks)
        self._tasks.clear()
        self.s.chains = []

    async def _run_chain(self, chain: Chain) -> None:
        s = self.s
        stopped = lambda: chain.page_id in self._stopped  # noqa: E731
        while chain.next_step < len(chain.steps) and not stopped():
            step = chain.steps[chain.next_step]
            due = chain.started_at + timedelta(seconds=step.delay_seconds)
            if due > workflow.now():
                try:
                    await workflow.wait_condition(
                        stopped,
                        timeout=due - workflow.now(),
                        timeout_summary=f"wait for {step.channel}",
                    )
                    return  # stopped while waiting
                except TimeoutError:
                    pass
            index = chain.next_step
            # In-flight sends are counted in _sending (now, not when a task first runs), which
            # the end of the run and continue-as-new wait for.
            self._sending += 1
            if self._overlap_steps():
                # The next step never waits for this one: a channel that hangs or retries for
                # minutes must not hold up "SMS after 2 minutes".
                chain.next_step += 1
                self._step_tasks = [t for t in self._step_tasks if not t.done()]
                self._step_tasks.append(asyncio.create_task(self._send_step(chain, index)))
            else:
                await self._send_step(chain, index)
                chain.next_step += 1
        self._tasks.pop(chain.page_id, None)
        if chain in s.chains:
            s.chains.remove(chain)

    def _overlap_steps(self) -> bool:
        if self._overlap is None:
            self._overlap = workflow.patched(PATCH_OVERLAP_STEPS)
        return self._overlap

    async def _send_step(self, chain: Chain, index: int) -> None:
        """Send one step of a chain (an activity with retries); a failure is logged, not raised.

        The caller counted it in _sending; this ends the count.
        """
        s = self.s
        step = chain.steps[index]
        try:
            await workflow.execute_activity(
                "send_notification",
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
                    step=step,
                    attempt_at=workflow.now(),
                ),
                result_type=DeliveryResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=SEND_RETRY,
                summary=f"notify via {step.channel}",
            )
        except ActivityError:
            # A channel that keeps failing must not stop the chain or the escalation: the
            # failure is in the delivery log, and the next step (or level) goes on.
            workflow.logger.warning("notification step failed", exc_info=True)
        finally:
            self._sending -= 1

    async def _announce(self, inp: AnnouncePage) -> None:
        """Post the page to the team's chat channels; a failure never stops the escalation."""
        self._sending += 1
        try:
            await workflow.execute_activity(
                "announce_page",
                inp,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=SEND_RETRY,
                summary="announce in chat",
            )
        except ActivityError:
            workflow.logger.warning("announcing the page failed", exc_info=True)
        finally:
            self._sending -= 1

    # --- projection, timeline, search attributes --------------------------------------------

    def _new_event(self, type_: str, actor: Actor, **detail: object) -> TimelineEventIn:
        self.s.seq += 1
        return TimelineEventIn(
            id=f"{self.s.incident_id}:{self.s.seq}",
            at=workflow.now(),
            position=self.s.seq,
            type=type_,
            actor=actor,
            detail=detail,
        )

    def _event(self, type_: str, actor: Actor, **detail: object) -> None:
        self._events.append(self._new_event(type_, actor, **detail))
        self._changes += 1
        self._dirty = True  # every recorded change may move a deadline: the main loop re-plans

    async def _projected_soon(self) -> None:
        """Let the run loop write this Update's change, so the caller reads what it did.

        Bounded: an Update never waits on PostgreSQL longer than PROJECTION_WAIT; during an
        outage it answers from the workflow's state and the projection catches up later.
        """
        mine = self._changes
        try:
            await workflow.wait_condition(
                lambda: self._flushed_changes >= mine,
                timeout=PROJECTION_WAIT,
                timeout_summary="projection",
            )
        except TimeoutError:
            workflow.logger.warning("projection is behind; answering from workflow state")

    async def _flush(self) -> None:
        """Write what changed since the last flush to PostgreSQL (one activity).

        Only the run loop calls this, so projection writes never race each other.
        """
        if not self._opened:
            return
        upto = self._changes
        fields = rules.projection_fields(self.s)
        if not self._events and not self._alerts and fields == self._projected:
            self._flushed_changes = upto
            return
        self.s.version += 1
        events, alerts = self._events, self._alerts
        self._events, self._alerts = [], []
        self._projected = fields
        alerts = await self._write_alert_chunks(alerts)
        await workflow.execute_activity(
            "record_incident",
            Projection(
                incident_id=self.s.incident_id,
                version=self.s.version,
                fields=fields,
                events=events,
                alerts=alerts,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=", ".join(e.type for e in events) or "update",
        )
        self._flushed_changes = max(self._flushed_changes, upto)
        self._want_chat_sync()

    async def _write_alert_chunks(self, alerts: list[AlertIn]) -> list[AlertIn]:
        """Write all but the last chunk of a storm's alerts; return what is left to write.

        One activity input must stay under Temporal's payload limit (2 MB): thousands of
        alerts that arrived while the worker was busy go out in chunks.
        """
        chunks = rules.chunks(alerts, PROJECTION_MAX_ALERTS, PROJECTION_MAX_BYTES)
        if len(chunks) < 2 or not workflow.patched(PATCH_PROJECTION_CHUNKS):
            return alerts
        for chunk in chunks[:-1]:
            await workflow.execute_activity(
                "record_incident",
                Projection(incident_id=self.s.incident_id, version=self.s.version, alerts=chunk),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
                summary=f"{len(chunk)} alerts",
            )
        return chunks[-1]

    def _upsert_search_attributes(self) -> None:
        s = self.s
        workflow.upsert_search_attributes(
            [
                INCIDENT_NUMBER.value_set(s.number),
                INCIDENT_STATUS.value_set(s.status),
                SERVICE_NAME.value_set(s.service_name),
                SEVERITY.value_set(s.severity),
                ESCALATION_LEVEL.value_set(s.level_index + 1),
            ]
        )
        workflow.set_current_details(rules.details_markdown(s))

    def _history_full(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self.s.max_history_events
        )

    async def _continue_as_new(self) -> None:
        await self._flush()  # Updates in flight wait for this before they finish
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._sending
        )
        await self._flush()
        if len(rules.chunks(self._inbox, PROJECTION_MAX_ALERTS, PROJECTION_MAX_BYTES)) > 1:
            if workflow.patched(PATCH_PROJECTION_CHUNKS):
                # Too many alerts piled up to carry in one input: the run loop takes and
                # writes them first, then comes back here.
                self._dirty = True
                return
        workflow.continue_as_new(
            IncidentInput(
                incident_id=self.s.incident_id,
                service_id=self.s.service_id,
                dedup_key=self.s.dedup_key,
                carried=self.s,
                carried_alerts=self._inbox,
                max_history_events=self.s.max_history_events,
            )
        )
