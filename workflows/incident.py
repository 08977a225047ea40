"""IncidentWorkflow: one per incident; its timers drive escalation until a human acknowledges.

This class only feeds inputs (signals, Updates, timer fires) to the pure rules in
`workflows/incident_rules.py` and carries out the commands they return, through activities.
Deterministic and free of I/O. Read it top to bottom: inputs, the run loop, commands,
projection, chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

# Plain data types and pure functions: imported once, outside the sandbox,
# instead of again for every workflow run (that cost ~25 ms and ~700 KiB each).
# Spelled `import workflows.x as y`, not `from workflows import x`: the sandbox decides
# passthrough by the imported name, and for `from workflows import x` that name is the
# package, so the submodule was executed inside the sandbox again for every run.
with workflow.unsafe.imports_passed_through():
    import workflows.automation_rules as automation_rules
    import workflows.incident_rules as rules
    from workflows.automation_types import (
        INCIDENT_STATUS_SIGNAL,
        AutomationRunInput,
        Play,
        RunningPlay,
    )
    from workflows.automation_types import WORKFLOW_NAME as AUTOMATION_WORKFLOW
    from workflows.incident_rules import Announce, Outcome, Page, Rejected, StartChains, StopChains
    from workflows.incident_types import (
        INVALID_TRANSITION,
        ActionIn,
        AlertIn,
        AnnouncePage,
        Chain,
        Deliveries,
        IncidentInput,
        IncidentState,
        IncidentView,
        LoadPolicy,
        NoteIn,
        OpenedIncident,
        OpenIncident,
        PagedLevel,
        PageLevel,
        PolicySnapshot,
        Projection,
        ReassignIn,
        ResolveIn,
        SendNotifications,
        SeverityIn,
        SnoozeIn,
        SyncChat,
    )
    from workflows.maintenance_window_types import INCIDENT_SIGNAL as MAINTENANCE_SIGNAL
    from workflows.maintenance_window_types import MaintenanceChange
    from workflows.runbook_types import WORKFLOW_NAME as RUNBOOK_RUN
    from workflows.runbook_types import StartRunbookIn, run_details, run_summary, workflow_id
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
# A database write takes milliseconds, but seconds on a saturated worker; one that died while
# running one is noticed after this long and the write retried elsewhere (part of the
# crash-recovery bound, docs/design.md; it was 30 s).
DB_TIMEOUT = timedelta(seconds=10)
SEND_TIMEOUT = timedelta(seconds=30)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=5,
    non_retryable_error_types=["PermanentDeliveryError"],
)
CHAT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=4,
    non_retryable_error_types=["SlackPermanentError"],
)
CHAT_TIMEOUT = timedelta(seconds=20)
PROJECTION_MAX_ALERTS = 500
PROJECTION_MAX_BYTES = 400_000  # under the SDK's 512 KB warning, far under 2 MB
# How long an Update waits for its change to reach PostgreSQL before answering anyway.
PROJECTION_WAIT = timedelta(seconds=3)


def _reject(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_TRANSITION, non_retryable=True)


def _checked(check: Callable[[], object]) -> None:
    try:
        check()
    except Rejected as exc:
        raise _reject(str(exc)) from None


def _seen(child: asyncio.Future[Any]) -> None:
    # A run records its own outcome; the incident only takes it, so that a failed or
    # cancelled run is not logged as an exception nobody retrieved.
    if not child.cancelled():
        child.exception()


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self.s: IncidentState = rules.new_state(inp)
        self._dirty = False  # something changed: the run loop plans again
        self._chains: dict[int, asyncio.Task[None]] = {}  # running chains by page id
        self._stopped: set[int] = set()  # page ids whose chains were stopped
        self._sending = 0  # sends under way: the run's end and continue-as-new wait for them
        self._background: list[asyncio.Task[None]] = []  # sends and announcements in flight
        self._searched: tuple[object, ...] | None = None  # search attributes as last upserted
        self._details = ""  # the Markdown shown in the Temporal UI, as last set
        self._chat_task: asyncio.Task[None] | None = None
        self._chat_wanted = False
        self._facts = rules.automation_facts(self.s)  # as automations last saw the incident
        self._last_alert_at: datetime | None = None  # when the last alerts signal came

    # --- inputs: the signal, the query, the Updates -----------------------------------------

    @workflow.signal
    def alerts(self, batch: list[AlertIn]) -> None:
        """Receive alert events (a batch: storms arrive together)."""
        self.s = rules.receive(self.s, batch)
        self._last_alert_at = workflow.now()  # a storm defers continue-as-new (continue_now)
        self._dirty = True

    @workflow.query
    def view(self) -> IncidentView:
        """Return the live state."""
        return rules.view(self.s)

    @workflow.update
    async def acknowledge(self, inp: ActionIn) -> IncidentView:
        """Acknowledge: stop escalating and cancel pending notifications."""
        return await self._act(lambda: rules.acknowledge(self.s, inp.actor, workflow.now()))

    @acknowledge.validator
    def _validate_acknowledge(self, inp: ActionIn) -> None:
        _checked(lambda: rules.check_acknowledge(self.s, inp))

    @workflow.update
    async def resolve(self, inp: ResolveIn) -> IncidentView:
        """Resolve, with an optional note."""
        return await self._act(lambda: rules.resolve(self.s, inp.actor, inp.note, workflow.now()))

    @resolve.validator
    def _validate_resolve(self, inp: ResolveIn) -> None:
        _checked(lambda: rules.check_resolve(self.s, inp))

    @workflow.update
    async def reassign(self, inp: ReassignIn) -> IncidentView:
        """Reassign to users (paged now) or to another escalation policy (from level 1)."""
        if not inp.escalation_policy_id:
            users = inp.user_ids or []
            return await self._act(
                lambda: rules.reassign_users(self.s, inp.actor, users, workflow.now())
            )
        await self._wait_opened()
        policy = await workflow.execute_activity(
            "load_policy",
            LoadPolicy(policy_id=inp.escalation_policy_id),
            result_type=PolicySnapshot,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary="load escalation policy",
        )
        return await self._act(
            lambda: rules.reassign_policy(self.s, inp.actor, policy, workflow.now())
        )

    @reassign.validator
    def _validate_reassign(self, inp: ReassignIn) -> None:
        _checked(lambda: rules.check_reassign(self.s, inp))

    @workflow.update
    async def escalate(self, inp: ActionIn) -> IncidentView:
        """Escalate now to the next level; an acknowledged incident becomes triggered again."""
        return await self._act(lambda: rules.escalate(self.s, inp.actor, workflow.now()))

    @escalate.validator
    def _validate_escalate(self, inp: ActionIn) -> None:
        _checked(lambda: rules.check_escalate(self.s, inp))

    @workflow.update
    async def snooze(self, inp: SnoozeIn) -> IncidentView:
        """Snooze: quiet until the duration passes, then trigger again."""
        return await self._act(lambda: rules.snooze(self.s, inp.actor, inp.seconds, workflow.now()))

    @snooze.validator
    def _validate_snooze(self, inp: SnoozeIn) -> None:
        _checked(lambda: rules.check_snooze(self.s, inp))

    @workflow.update
    async def add_note(self, inp: NoteIn) -> IncidentView:
        """Add a note to the timeline."""
        return await self._act(lambda: rules.note(self.s, inp.actor, inp.body, workflow.now()))

    @add_note.validator
    def _validate_note(self, inp: NoteIn) -> None:
        _checked(lambda: rules.check_note(self.s, inp))

    @workflow.update
    async def start_runbook(self, inp: StartRunbookIn) -> IncidentView:
        """Start a runbook run as this incident's child; answer once it has started.

        ABANDON: resolving the incident must not stop a failover half-way; cancelling a run
        is explicit (`runbook-runs/{id}/cancel`, deprecation).
        """
        await self._wait_opened()
        run = inp.run
        try:
            child = await workflow.start_child_workflow(
                RUNBOOK_RUN,
                run,
                id=workflow_id(run.run_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=run_summary(run, self.s.number),
                static_details=run_details(run),
            )
            child.add_done_callback(_seen)
        except WorkflowAlreadyStartedError:
            pass  # the same run asked twice (a retried Update): it runs once
        return rules.view(self.s)

    @start_runbook.validator
    def _validate_start_runbook(self, inp: StartRunbookIn) -> None:
        _checked(lambda: rules.check_start_runbook(self.s, inp))

    @workflow.update
    async def set_severity(self, inp: SeverityIn) -> IncidentView:
        """Change the severity (automations' set_severity step)."""
        return await self._act(
            lambda: rules.set_severity(self.s, inp.actor, inp.severity, workflow.now())
        )

    @set_severity.validator
    def _validate_set_severity(self, inp: SeverityIn) -> None:
        _checked(lambda: rules.check_set_severity(self.s, inp))

    async def _act(self, transition: Callable[[], Outcome]) -> IncidentView:
        """Apply an Update's transition once the incident is open; answer once it is written."""
        await self._wait_opened()
        try:
            self._apply(transition())
        except Rejected as exc:  # the state changed between the validator and now
            raise _reject(str(exc)) from None
        await self._written_soon()
        return rules.view(self.s)

    async def _wait_opened(self) -> None:
        await workflow.wait_condition(lambda: self.s.opened)

    # --- the run loop -----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IncidentInput) -> IncidentView:
        if not self.s.opened:
            await workflow.wait_condition(lambda: bool(self.s.inbox))
            if not rules.has_trigger(self.s.inbox):
                # An acknowledge or resolve for an incident that does not exist: nothing to open.
                return rules.view(self.s)
            await self._open()
        else:
            for chain in self.s.chains:
                self._start_chain(chain)
            self._want_chat_sync()  # a sync in flight when the last run continued was dropped
        while True:
            self._apply(rules.take_alerts(self.s, workflow.now()))
            if self.s.status == "resolved":
                break
            if self.s.pending_page and self.s.status == "triggered":
                await self._flush()  # the timeline shows what led to this page before it
                await self._page()
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
            self._apply(rules.on_deadlines(self.s, workflow.now()))
        await self._flush()
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._sending and self._chat_idle()
        )
        if self.s.after_resolve:
            # Alerts that arrived as the incident resolved open a new incident in a new run.
            workflow.continue_as_new(
                IncidentInput(
                    incident_id=str(workflow.uuid4()),
                    service_id=self.s.service_id,
                    dedup_key=self.s.dedup_key,
                    carried_alerts=self.s.after_resolve,
                    max_history_events=self.s.max_history_events,
                )
            )
        return rules.view(self.s)

    async def _open(self) -> None:
        """One activity writes the incident row, its first alert and event, and pages level 1."""
        first = next(a for a in self.s.inbox if a.action == "trigger")
        info = workflow.info()
        now = workflow.now()
        self.s, event, page = rules.opening(self.s, first, now, info.run_id)
        whole, refs = rules.split_stored([rules.head(first)[0]])
        opened = await workflow.execute_activity(
            "open_incident",
            OpenIncident(
                incident_id=self.s.incident_id,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                service_id=self.s.service_id,
                dedup_key=self.s.dedup_key,
                title=self.s.title,
                severity=self.s.severity,
                opened_at=now,
                alerts=whole,
                alert_refs=refs,
                urgency=first.urgency,
                event=event,
                page_key=page.page_key,
                page_position=page.position,
            ),
            result_type=OpenedIncident,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary="open incident, page level 1",
        )
        outcome = rules.opened(self.s, opened, page, workflow.now())
        self._apply(outcome)
        if not rules.chat_rides(outcome):
            self._want_chat_sync()
        if opened.automations is not None and opened.automations.triggers:
            self.s = self.s.model_copy(update={"automations": opened.automations})
            self._automations_changed()

    async def _page(self) -> None:
        self.s, page = rules.begin_page(self.s, workflow.now())
        paged = await workflow.execute_activity(
            "page_level",
            PageLevel(
                incident_id=self.s.incident_id,
                level=page.level,
                targets=page.targets,
                urgency=self.s.urgency,
                page_key=page.page_key,
                position=page.position,
                at=page.at,
            ),
            result_type=PagedLevel,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=f"page level {page.level}",
        )
        self._apply(rules.level_paged(self.s, page, paged, workflow.now()))

    # --- carrying out commands --------------------------------------------------------------

    def _apply(self, outcome: Outcome) -> None:
        if outcome.state is not self.s:
            self._dirty = True  # every change may move a deadline: the run loop plans again
        self.s = outcome.state
        for command in outcome.commands:
            if isinstance(command, StopChains):
                self._stopped.update(self._chains)
                self._chains.clear()
            elif isinstance(command, StartChains):
                for chain in command.chains:
                    if chain.page_id == command.first_send:
                        self._start_chain(chain, command.announce, command.sync_chat)
                    else:
                        self._start_chain(chain)
            elif isinstance(command, Announce):
                self._in_background(self._announce(command.page))
            elif isinstance(command, Page):  # pragma: no cover - paging is the run loop's
                raise AssertionError("pages are taken by the run loop")
        if not self.s.opened:
            return
        searched = rules.search_fields(self.s)
        if searched != self._searched:
            self._searched = searched
            number, status, service, severity, level = searched
            workflow.upsert_search_attributes(
                [
                    INCIDENT_NUMBER.value_set(number),
                    INCIDENT_STATUS.value_set(status),
                    SERVICE_NAME.value_set(service),
                    SEVERITY.value_set(severity),
                    ESCALATION_LEVEL.value_set(level),
                ]
            )
        details = rules.details_markdown(self.s)
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)
        if self.s.automations is not None:
            self._automations_changed()

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        # Counted now, not when the task first runs: the run's end waits for it.
        self._sending += 1
        self._background = [t for t in self._background if not t.done()]
        self._background.append(asyncio.create_task(self._counted(work)))

    async def _counted(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        finally:
            self._sending -= 1

    def _start_chain(
        self, chain: Chain, announce: AnnouncePage | None = None, sync_chat: bool = False
    ) -> None:
        run = self._run_chain(chain, announce, sync_chat)
        self._chains[chain.page_id] = asyncio.create_task(run)

    async def _run_chain(
        self, chain: Chain, announce: AnnouncePage | None, sync_chat: bool
    ) -> None:
        """Send a paged user's steps at their delays until the chain is stopped. The first
        steps also carry the level's chat `announce`ment and the incident's first chat sync,
        when given."""

        def stopped() -> bool:
            return chain.page_id in self._stopped

        index = chain.next_step
        while index < len(chain.steps) and not stopped():
            step = chain.steps[index]
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
            # The next step never waits for this one: a channel that hangs or retries for
            # minutes must not hold up "SMS after 2 minutes". Steps due at the same moment
            # (push, e-mail and SMS at once) go out side by side in one activity.
            end = rules.due_together(chain.steps, index)
            self.s = rules.steps_started(self.s, chain.page_id, end - index)
            self._in_background(self._send_steps(chain, index, end, announce, sync_chat))
            announce, sync_chat = None, False
            index = end
        if announce is not None:  # stopped before its first send: announce the level alone
            self._in_background(self._announce(announce))
        if sync_chat:
            self._want_chat_sync()
        self._chains.pop(chain.page_id, None)
        self.s = rules.chain_done(self.s, chain.page_id)

    async def _send_steps(
        self, chain: Chain, first: int, end: int, announce: AnnouncePage | None, sync_chat: bool
    ) -> None:
        """Send steps `first`..`end` of a chain, the `announce`ment and the chat sync, if any
        (one activity, retried for what failed transiently); a failure is logged, not raised.
        A carried chat sync that did not succeed is left to the chat loop."""
        s = self.s
        sends = rules.step_sends(s, chain, first, end, workflow.now())
        chat = SyncChat(incident_id=s.incident_id, version=s.version) if sync_chat else None
        also = [what for what, carried in (("announce", announce), ("Slack", chat)) if carried]
        try:
            done = await workflow.execute_activity(
                "send_notifications",
                SendNotifications(sends=sends, announce=announce, sync_chat=chat),
                result_type=Deliveries,
                start_to_close_timeout=SEND_TIMEOUT,
                retry_policy=SEND_RETRY,
                summary="notify via " + ", ".join([str(x.step.channel) for x in sends] + also),
            )
            synced = done.chat_synced
        except ActivityError:
            # A channel that keeps failing must not stop the chain or the escalation: the
            # failure is in the delivery log, and the next step (or level) goes on.
            workflow.logger.warning("notification step failed", exc_info=True)
            synced = False
        if chat is not None and not synced:
            self._want_chat_sync()

    async def _announce(self, inp: AnnouncePage) -> None:
        """Post the page to the team's chat channels; a failure never stops the escalation."""
        try:
            await workflow.execute_activity(
                "announce_page",
                inp,
                start_to_close_timeout=SEND_TIMEOUT,
                retry_policy=SEND_RETRY,
                summary="announce in chat",
            )
        except ActivityError:
            workflow.logger.warning("announcing the page failed", exc_info=True)

    # --- the projection in PostgreSQL -------------------------------------------------------

    async def _written_soon(self) -> None:
        """Let the run loop write this Update's change, so the caller reads what it did.

        Bounded: an Update never waits on PostgreSQL longer than PROJECTION_WAIT; during an
        outage it answers from the workflow's state and the projection catches up later.
        """
        mine = self.s.changes
        try:
            await workflow.wait_condition(
                lambda: self.s.flushed_changes >= mine,
                timeout=PROJECTION_WAIT,
                timeout_summary="projection",
            )
        except TimeoutError:
            workflow.logger.warning("projection is behind; answering from workflow state")

    async def _flush(self) -> None:
        """Write what changed since the last write (one activity; a storm's alerts in chunks).

        Only the run loop calls this, so projection writes never race each other.
        """
        upto = self.s.changes
        taken = rules.take_writes(self.s)
        if taken is not None:
            self.s, fields, events, alerts = taken
            *first, last = rules.chunks(alerts, PROJECTION_MAX_ALERTS, PROJECTION_MAX_BYTES) or [[]]
            for chunk in first:  # one activity input must stay under Temporal's 2 MB limit
                whole, refs = rules.split_stored(chunk)
                early = Projection(
                    incident_id=self.s.incident_id,
                    version=self.s.version,
                    alerts=whole,
                    alert_refs=refs,
                )
                await self._record(early, f"{len(chunk)} alerts")
            whole, refs = rules.split_stored(last)
            projection = Projection(
                incident_id=self.s.incident_id,
                version=self.s.version,
                fields=fields,
                events=events,
                alerts=whole,
                alert_refs=refs,
            )
            await self._record(projection, ", ".join(e.type for e in events) or "update")
            self._want_chat_sync()
        self.s = rules.written(self.s, upto)

    async def _record(self, projection: Projection, summary: str) -> None:
        await workflow.execute_activity(
            "record_incident",
            projection,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=summary,
        )

    def _history_full(self) -> bool:
        info = workflow.info()
        return rules.continue_now(
            suggested=info.is_continue_as_new_suggested(),
            length=info.get_current_history_length(),
            max_events=self.s.max_history_events,
            last_alert_at=self._last_alert_at,
            now=workflow.now(),
        )

    async def _continue_as_new(self) -> None:
        await self._flush()  # Updates in flight wait for this before they finish
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._sending
        )
        await self._flush()
        if len(rules.chunks(self.s.inbox, PROJECTION_MAX_ALERTS, PROJECTION_MAX_BYTES)) > 1:
            # Too many alerts piled up to carry in one input: the run loop takes and writes
            # them first, then comes back here.
            self._dirty = True
            return
        workflow.continue_as_new(
            IncidentInput(
                incident_id=self.s.incident_id,
                service_id=self.s.service_id,
                dedup_key=self.s.dedup_key,
                carried=self.s,
                max_history_events=self.s.max_history_events,
            )
        )

    # --- the incident's chat messages (Slack) -----------------------------------------------
    # After each projection write, one background task brings the messages up to date,
    # coalescing requests that arrive while it runs. The run loop never awaits it, so a Slack
    # outage cannot hold up escalation; only the end of the run waits for its last sync.

    def _want_chat_sync(self) -> None:
        if not self.s.chat:
            return
        self._chat_wanted = True
        if self._chat_task is None:
            self._chat_task = asyncio.create_task(self._sync_chat_loop())

    async def _sync_chat_loop(self) -> None:
        try:
            while self._chat_wanted:
                self._chat_wanted = False
                try:
                    await workflow.execute_activity(
                        "sync_chat",
                        SyncChat(incident_id=self.s.incident_id, version=self.s.version),
                        start_to_close_timeout=CHAT_TIMEOUT,
                        retry_policy=CHAT_RETRY,
                        summary="update Slack",
                    )
                except ActivityError as err:
                    # Slack being down must never stop the incident: the next change tries again.
                    workflow.logger.warning("chat sync failed: %s", err.cause)
        finally:
            self._chat_task = None

    def _chat_idle(self) -> bool:
        return self._chat_task is None

    # --- maintenance windows (workflows/maintenance_window.py sends this) -------------------

    @workflow.signal(name=MAINTENANCE_SIGNAL)
    def maintenance(self, change: MaintenanceChange) -> None:
        """The service entered or left maintenance: stop paging, or page again from level 1."""
        self._apply(rules.maintenance(self.s, change.window_id, change.active, workflow.now()))

    # --- automations (docs/automation.md) ---------------------------------------------------
    # Each matching automation runs as an abandoned child workflow; the incident only starts
    # it (and later tells it of acknowledge/resolve), never waits for it. With no automation
    # enabled at open, `self.s.automations` is None and none of this runs.

    def _automations_changed(self) -> None:
        facts = rules.automation_facts(self.s)
        if facts is None or facts == self._facts or self.s.automations is None:
            return
        before, self._facts = self._facts, facts
        for event in automation_rules.changes(before, facts):
            if event in ("incident.acknowledged", "incident.resolved"):
                self._tell_plays(facts.status)
            triggers = self.s.automations.triggers
            for play in automation_rules.plays(
                triggers, event, facts, self.s.incident_id, self.s.seq
            ):
                self._in_background(self._start_play(play))

    async def _start_play(self, play: Play) -> None:
        t = play.trigger
        run_id = str(workflow.uuid4())
        waits = play.event == automation_rules.UNACKNOWLEDGED
        try:
            await workflow.start_child_workflow(
                AUTOMATION_WORKFLOW,
                AutomationRunInput(
                    run_id=run_id,
                    automation_id=t.automation_id,
                    version=t.version,
                    incident_id=self.s.incident_id,
                    event=play.event,
                    key_base=run_id,
                    after_seconds=t.after_seconds if waits else None,
                ),
                id=play.workflow_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=automation_rules.summary(t.name, self.s.number, play.event),
                static_details=f"Automation `{t.automation_id}` version {t.version}, incident "
                f"`{self.s.incident_id}`, run `{run_id}`.",
            )
        except WorkflowAlreadyStartedError:
            return  # once per incident: Temporal refused a second play with this id
        running = RunningPlay(workflow_id=play.workflow_id, event=play.event)
        self.s = self.s.model_copy(update={"automation_plays": [*self.s.automation_plays, running]})
        if self.s.status != "triggered" and play.event != "incident.resolved":
            self._in_background(self._tell(running.workflow_id, self.s.status))

    def _tell_plays(self, status: str) -> None:
        for play in self.s.automation_plays:
            if play.event == "incident.resolved":
                continue
            if status == "acknowledged" and play.event != automation_rules.UNACKNOWLEDGED:
                continue
            self._in_background(self._tell(play.workflow_id, status))

    async def _tell(self, workflow_id: str, status: str) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(
                INCIDENT_STATUS_SIGNAL, status
            )
        except Exception:  # the play has finished: nothing to tell
            workflow.logger.debug("automation play %s has finished", workflow_id)
