"""Activities of automation runs: begin, one step (any type), an `if` test, finish.

Steps are named by path; the activity reads the pinned version's step and the incident
fresh, renders the texts in the sandbox, and reads any secret (connection) itself, so none
lands in the workflow history. Failures say whether retrying can help: `PermanentFailure`
(4xx other than 408/429, a bad config) is not retried; anything else is.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.audit.models import Actor as AuditActor
from app.automations import context, outbound, runs, templating
from app.automations.definition import Definition, IfStep, WaitStep, step_at
from app.automations.models import AutomationVersion
from app.config import Settings
from app.connections import providers
from app.connections import service as connections
from app.connections.models import JiraConfig, LinearConfig
from app.db import SessionMaker
from app.errors import Conflict, DomainError, Invalid, NotFound
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.runbooks import runs as runbook_runs
from app.runbooks.models import RunCreate
from app.slack import service as slack
from app.statuspages import incidents as page_incidents
from app.statuspages.models import IncidentStatus, PageIncident, PageIncidentCreate, UpdateCreate
from workflows import automation_rules
from workflows.automation_types import (
    AutomationRunInput,
    BeginOut,
    ConditionSpec,
    FinishIn,
    PlanStep,
    StepIn,
    StepOut,
)
from workflows.incident import IncidentWorkflow
from workflows.incident_types import ActionIn, NoteIn, ReassignIn, ResolveIn, SeverityIn
from workflows.incident_types import Actor as IncidentActor

PERMANENT = "PermanentFailure"
TRANSIENT = "TransientFailure"
ACTOR = IncidentActor(type="system", id="automation", via="automation")


def plan_of(steps: list[Any], prefix: str = "steps") -> list[PlanStep]:
    """Return the control shape of steps (types, waits, branches): no texts, no secrets."""
    out = []
    for i, step in enumerate(steps):
        path = f"{prefix}[{i}]"
        plan = PlanStep(
            path=path,
            type=step.type,
            label=label_of(step),
            run_to_completion=step.run_to_completion,
        )
        if isinstance(step, WaitStep):
            plan.wait_seconds = step.duration.total_seconds()
        if isinstance(step, IfStep):
            plan.then = plan_of(step.then, f"{path}.then")
            plan.else_ = plan_of(step.else_, f"{path}.else")
        out.append(plan)
    return out


def label_of(step: Any) -> str:
    """Return a step's activity summary for the Temporal UI (no texts: they may be secret)."""
    kind = step.type
    if kind == "webhook":
        return f"webhook {step.method}"
    if kind == "slack_message":
        return f"Slack message to {step.channel}"
    if kind == "jira_issue":
        return f"Jira issue in {step.project_key}"
    if kind == "linear_issue":
        return "Linear issue"
    if kind == "set_severity":
        return f"set severity {step.severity}"
    if kind == "wait":
        return f"wait {step.duration}"
    if kind == "if":
        return "if " + " and ".join(f"{c.field} {c.op} {c.value}" for c in step.conditions)[:80]
    return str(kind).replace("_", " ")


def _http_permanent(status: int | None) -> bool:
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def _provider_failure(exc: providers.ProviderFailed) -> ApplicationError:
    """Classify a Jira/Linear refusal: 'answered 4xx' (not 408/429) is final, the rest retried."""
    detail = exc.detail
    status = None
    if "answered " in detail:
        try:
            status = int(detail.split("answered ", 1)[1][:3])
        except ValueError:
            status = None
    kind = PERMANENT if _http_permanent(status) else TRANSIENT
    return ApplicationError(detail, type=kind, non_retryable=kind == PERMANENT)


class AutomationActivities:
    """Activities bound to the database and settings; the run workflow calls them by name."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._versions: dict[tuple[str, int], tuple[str, Definition]] = {}  # immutable: cached

    async def _version(
        self, session: AsyncSession, automation_id: str, version: int
    ) -> tuple[str, Definition]:
        key = (automation_id, version)
        if key not in self._versions:
            row = await session.get(AutomationVersion, (UUID(automation_id), version))
            if row is None:
                raise ApplicationError(
                    f"automation {automation_id} version {version} is gone",
                    type=PERMANENT,
                    non_retryable=True,
                )
            self._versions[key] = (row.name, Definition.model_validate(row.definition))
        return self._versions[key]

    async def _incident(self, session: AsyncSession, incident_id: str) -> Incident:
        incident = await session.get(Incident, UUID(incident_id), populate_existing=True)
        if incident is None:
            raise ApplicationError("the incident is gone", type=PERMANENT, non_retryable=True)
        return incident

    @activity.defn(name="begin_automation_run")
    async def begin_automation_run(self, inp: AutomationRunInput) -> BeginOut:
        """Record the run's start on the incident; return the steps' control shape."""
        async with self.sessionmaker() as session:
            name, definition = await self._version(session, inp.automation_id, inp.version)
            incident = await self._incident(session, inp.incident_id)
            await runs.begin(
                session=session, inp=inp, workflow_id=activity.info().workflow_id or "", name=name
            )
            await session.commit()
        return BeginOut(name=name, number=incident.number or 0, steps=plan_of(definition.steps))

    @activity.defn(name="automation_condition")
    async def automation_condition(self, inp: StepIn) -> StepOut:
        """Test an `if` step's conditions against the incident as it is now."""
        async with self.sessionmaker() as session:
            _, definition = await self._version(session, inp.automation_id, inp.version)
            step = step_at(definition, inp.path)
            incident = await self._incident(session, inp.incident_id)
            _, facts = await context.load(session, self.settings, incident)
            specs = [ConditionSpec(field=c.field, op=c.op, value=c.value) for c in step.conditions]
            branch = "then" if automation_rules.holds(specs, facts) else "else"
            run_id = UUID(inp.run_id)
            attempt = activity.info().attempt
            await runs.step_started(
                session=session, run_id=run_id, path=inp.path, type_="if", attempt=attempt
            )
            await runs.step_done(
                session=session,
                run_id=run_id,
                path=inp.path,
                status="succeeded",
                output={"branch": branch},
            )
            await session.commit()
        return StepOut(branch=branch, output={"branch": branch})

    @activity.defn(name="automation_step")
    async def automation_step(self, inp: StepIn) -> StepOut:
        """Carry out one step; record each attempt, its outcome, output or error."""
        attempt = activity.info().attempt
        run_id = UUID(inp.run_id)
        async with self.sessionmaker() as session:
            name, definition = await self._version(session, inp.automation_id, inp.version)
            step = step_at(definition, inp.path)
            incident = await self._incident(session, inp.incident_id)
            ctx, _ = await context.load(session, self.settings, incident)
            await runs.step_started(
                session=session, run_id=run_id, path=inp.path, type_=step.type, attempt=attempt
            )
            await session.commit()
        render_ctx = {
            "incident": ctx,
            "automation": {"id": inp.automation_id, "name": name, "version": inp.version},
            "run": {"id": inp.run_id},
        }
        try:
            texts = templating.render_step(inp.path, step, render_ctx)
            output = await self._do(step, texts, inp, incident)
        except ApplicationError as exc:
            final = exc.non_retryable or attempt >= inp.max_attempts
            await self._record(
                run_id, inp.path, "failed" if final else "retrying", None, exc.message
            )
            raise
        except DomainError as exc:  # a bad template, a vanished connection: retrying cannot help
            await self._record(run_id, inp.path, "failed", None, exc.detail)
            raise ApplicationError(exc.detail, type=PERMANENT, non_retryable=True) from None
        except Exception as exc:
            message = f"{type(exc).__name__}: {str(exc)[:300]}"
            final = attempt >= inp.max_attempts
            await self._record(run_id, inp.path, "failed" if final else "retrying", None, message)
            raise ApplicationError(message, type=TRANSIENT) from None
        await self._record(run_id, inp.path, "succeeded", output, None)
        if output.get("key") and output.get("url"):
            async with self.sessionmaker() as session:
                await runs.timeline_event(
                    session,
                    incident.id,
                    f"automation:{inp.run_id}:{inp.path}:ticket",
                    "ticket_created",
                    {**output, "run_id": inp.run_id, "automation": name},
                )
                await session.commit()
        return StepOut(output=output)

    async def _record(
        self, run_id: UUID, path: str, status: str, output: dict[str, Any] | None, error: str | None
    ) -> None:
        async with self.sessionmaker() as session:
            await runs.step_done(
                session=session, run_id=run_id, path=path, status=status, output=output, error=error
            )
            await session.commit()

    async def _do(
        self, step: Any, texts: dict[str, str], inp: StepIn, incident: Incident
    ) -> dict[str, Any]:
        kind = step.type
        if kind == "webhook":
            return await self._webhook(step, texts, inp)
        if kind == "slack_message":
            return await self._slack(step, texts)
        if kind in ("jira_issue", "linear_issue"):
            return await self._ticket(step, texts, inp)
        if kind == "status_page_update":
            return await self._status_page(step, texts, incident)
        if kind == "run_runbook":
            return await self._runbook(step, incident, inp)
        return await self._incident_action(step, texts, incident)

    async def _webhook(self, step: Any, texts: dict[str, str], inp: StepIn) -> dict[str, Any]:
        headers = {k: texts.get(f"headers.{k}", v) for k, v in step.headers.items()}
        connection_id = UUID(step.auth.connection_id) if step.auth else None
        try:
            result = await outbound.send_webhook(
                self.settings,
                self.sessionmaker,
                url=step.url,
                method=step.method,
                headers=headers,
                body=texts.get("body"),
                connection_id=connection_id,
                idempotency_key=inp.idempotency_key,
            )
        except outbound.PermanentFailure as exc:
            raise ApplicationError(exc.message, type=PERMANENT, non_retryable=True) from None
        except outbound.TransientFailure as exc:
            raise ApplicationError(str(exc), type=TRANSIENT) from None
        return {"status": result.status, "excerpt": result.excerpt[:500]}

    async def _slack(self, step: Any, texts: dict[str, str]) -> dict[str, Any]:
        if not slack.configured(self.settings):
            raise ApplicationError("Slack is not configured", type=PERMANENT, non_retryable=True)
        try:
            answer = await slack.web_client(self.settings).chat_postMessage(
                channel=step.channel, text=texts["text"]
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "error"))
            kind = TRANSIENT if status in (408, 429) or status >= 500 else PERMANENT
            raise ApplicationError(
                f"Slack: {error}", type=kind, non_retryable=kind == PERMANENT
            ) from None
        return {"channel": step.channel, "ts": str(answer.get("ts", ""))}

    async def _ticket(self, step: Any, texts: dict[str, str], inp: StepIn) -> dict[str, Any]:
        """Create a Jira or Linear issue, idempotently: a retried step finds what it created."""
        async with self.sessionmaker() as session:
            connection = await connections.get(
                session=session, connection_id=UUID(step.connection_id)
            )
            cfg = connections.config_of(self.settings, connection)
        try:
            if step.type == "jira_issue":
                if not isinstance(cfg, JiraConfig):
                    raise ApplicationError(
                        "not a Jira connection", type=PERMANENT, non_retryable=True
                    )
                key, url = await providers.jira_create_issue(
                    self.settings,
                    cfg,
                    project_key=step.project_key,
                    issue_type=step.issue_type,
                    summary=texts["summary"],
                    description=texts.get("description", ""),
                    idempotency_key=inp.idempotency_key,
                    retry=activity.info().attempt > 1,
                )
                return {"provider": "jira", "key": key, "url": url}
            if not isinstance(cfg, LinearConfig):
                raise ApplicationError(
                    "not a Linear connection", type=PERMANENT, non_retryable=True
                )
            key, url = await providers.linear_create_issue(
                self.settings,
                cfg,
                team_id=step.team_id,
                title=texts["title"],
                description=texts.get("description", ""),
                idempotency_key=inp.idempotency_key,
            )
            return {"provider": "linear", "key": key, "url": url}
        except providers.ProviderFailed as exc:
            raise _provider_failure(exc) from None

    async def _status_page(
        self, step: Any, texts: dict[str, str], incident: Incident
    ) -> dict[str, Any]:
        actor = AuditActor.system("automation")
        page_id = UUID(step.status_page_id)
        status = IncidentStatus(step.status)
        async with self.sessionmaker() as session:
            existing = await session.scalar(
                select(PageIncident)
                .where(col(PageIncident.page_id) == page_id)
                .where(col(PageIncident.incident_ids).any(incident.id))  # type: ignore[arg-type]
                .where(col(PageIncident.status) != IncidentStatus.resolved.value)
                .limit(1)
            )
            if existing is None:
                pi = await page_incidents.create_incident(
                    session=session,
                    page_id=page_id,
                    incident_in=PageIncidentCreate(
                        name=incident.title[:300],
                        status=status,
                        body=texts["body"],
                        incident_ids=[incident.id],
                    ),
                    actor=actor,
                )
            else:
                pi = await page_incidents.add_update(
                    session=session,
                    page_id=page_id,
                    incident_id=existing.id,
                    update_in=UpdateCreate(status=status, body=texts["body"]),
                    actor=actor,
                )
            await session.commit()
        return {"page_incident_id": str(pi.id), "status": status.value}

    async def _runbook(self, step: Any, incident: Incident, inp: StepIn) -> dict[str, Any]:
        """Start the runbook's approved version on the incident (app.runbooks.runs.start).

        The run's id derives from the step's idempotency key: a retried step finds the run it
        started before instead of starting a second one.
        """
        async with self.sessionmaker() as session:
            try:
                run = await runbook_runs.start(
                    session=session,
                    client=activity.client(),
                    incident_id=incident.id,
                    run_in=RunCreate(runbook_id=UUID(step.runbook_id), parameters=step.parameters),
                    actor=AuditActor.system("automation"),
                    run_id=uuid5(NAMESPACE_URL, f"pagefree:runbook-step:{inp.idempotency_key}"),
                )
            except (Conflict, Invalid, NotFound) as exc:  # not approved, bad parameters: final
                raise ApplicationError(exc.detail, type=PERMANENT, non_retryable=True) from None
            await session.commit()
        return {"runbook_run_id": str(run.id), "runbook_id": step.runbook_id}

    async def _incident_action(
        self, step: Any, texts: dict[str, str], incident: Incident
    ) -> dict[str, Any]:
        """add_note, page, set_severity, escalate, resolve: Updates of the incident workflow."""
        client = activity.client()
        kind = step.type
        try:
            if kind == "add_note":
                await incidents.act(
                    client=client,
                    incident=incident,
                    update=IncidentWorkflow.add_note,
                    arg=NoteIn(actor=ACTOR, body=texts["body"]),
                )
            elif kind == "resolve":
                await incidents.act(
                    client=client,
                    incident=incident,
                    update=IncidentWorkflow.resolve,
                    arg=ResolveIn(actor=ACTOR, note=texts.get("note")),
                )
            elif kind == "escalate":
                await incidents.act(
                    client=client,
                    incident=incident,
                    update=IncidentWorkflow.escalate,
                    arg=ActionIn(actor=ACTOR),
                )
            elif kind == "page":
                # Pages the targets now, keeping those already assigned (a reassignment).
                users = [*map(str, incident.assigned_to), *(t.id for t in step.targets)]
                await incidents.act(
                    client=client,
                    incident=incident,
                    update=IncidentWorkflow.reassign,
                    arg=ReassignIn(actor=ACTOR, user_ids=list(dict.fromkeys(users))),
                )
            elif kind == "set_severity":
                await incidents.act(
                    client=client,
                    incident=incident,
                    update=IncidentWorkflow.set_severity,
                    arg=SeverityIn(actor=ACTOR, severity=step.severity),
                )
            else:
                raise ApplicationError(f"unknown step {kind}", type=PERMANENT, non_retryable=True)
        except (Conflict, Invalid, NotFound) as exc:
            # The incident refused (resolved already, transition not allowed): final.
            raise ApplicationError(exc.detail, type=PERMANENT, non_retryable=True) from None
        except DomainError as exc:  # busy or unreachable: worth another attempt
            raise ApplicationError(exc.detail, type=TRANSIENT) from None
        return {"done": kind}

    @activity.defn(name="finish_automation_run")
    async def finish_automation_run(self, inp: FinishIn) -> None:
        """Record the steps the workflow ran itself, and the run's outcome on the incident."""
        run_id = UUID(inp.run_id)
        async with self.sessionmaker() as session:
            for r in inp.records:
                await runs.step_done(
                    session=session,
                    run_id=run_id,
                    path=r.path,
                    status=r.status,
                    error=r.error,
                    type_=r.type,
                )
            await runs.finish(session=session, run_id=run_id, status=inp.status, error=inp.error)
            await session.commit()
