"""Runbook run activities: render and note the start, one signed HTTP call, record the end."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import update
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.config import Settings
from app.connections import providers
from app.db import SessionMaker, utcnow
from app.errors import DomainError
from app.incidents import projection
from app.incidents.models import Incident
from app.ingest.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from app.runbooks import definition as rules
from app.runbooks import service as runbooks
from app.runbooks.models import Runbook, RunbookRun, RunbookStatus
from app.runbooks.runs import incident_context
from workflows.incident_types import Actor, TimelineEventIn
from workflows.runbook_types import (
    EXCERPT_CHARS,
    AttemptIn,
    AttemptOut,
    FinishIn,
    RunbookRunInput,
    is_retryable_status,
)

USER_AGENT = "PageFree-Runbook/1"


def _final(message: str) -> ApplicationError:
    return ApplicationError(message, type="RunbookRefused", non_retryable=True)


def signed_headers(
    *, secret: str, body: bytes, run_id: str, headers: dict[str, str], now: float
) -> dict[str, str]:
    """Return the headers of a call: the definition's, then the signature and idempotency key."""
    timestamp = str(int(now))
    return {
        "User-Agent": USER_AGENT,
        **headers,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        rules.IDEMPOTENCY_HEADER: run_id,  # stable across retries: the runner may dedupe
    }


class RunbookActivities:
    """Activities of RunbookRunWorkflow, on the app's database and settings."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._http: httpx.AsyncClient | None = None

    def http(self) -> httpx.AsyncClient:
        """Return the shared HTTP client (building one costs 30-200 ms: the CA bundle)."""
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def _event(self, incident_id: str, event_id: str, type_: str, **detail: Any) -> None:
        async with self.sessionmaker() as session:
            await projection.insert_events(
                session,
                incident_id,
                [
                    TimelineEventIn(
                        id=event_id,
                        at=utcnow(),
                        type=type_,
                        actor=Actor(type="system", via="runbook"),
                        detail=detail,
                    )
                ],
            )
            await projection.notify(session, incident_id, type_)
            await session.commit()

    @activity.defn(name="prepare_runbook_run")
    async def prepare_runbook_run(self, run: RunbookRunInput) -> str:
        """Render the pinned body for the incident; put `runbook_started` on its timeline."""
        async with self.sessionmaker() as session:
            incident = await session.get(Incident, UUID(run.incident_id))
            runbook = await session.get(Runbook, UUID(run.runbook_id))
            if incident is None or runbook is None:
                raise _final("the incident or the runbook no longer exists")
            if runbook.status == RunbookStatus.deprecated:
                raise _final("the runbook was deprecated")
            try:
                body = rules.render_body(
                    run.request.body, incident=incident_context(incident), params=run.parameters
                )
            except DomainError as exc:
                raise _final(exc.detail) from None
        await self._event(
            run.incident_id,
            f"runbook-run:{run.run_id}:started",
            "runbook_started",
            run_id=run.run_id,
            runbook_id=run.runbook_id,
            runbook=run.runbook_name,
            version=run.version,
            content_hash=run.content_hash,
            started_by=run.started_by,
        )
        return body

    @activity.defn(name="send_runbook_request")
    async def send_runbook_request(self, attempt: AttemptIn) -> AttemptOut:
        """Make one signed call to the runbook's target; record the attempt on the run."""
        request = attempt.request
        async with self.sessionmaker() as session:
            runbook = await session.get(Runbook, UUID(attempt.runbook_id))
            if runbook is None or runbook.status == RunbookStatus.deprecated:
                return await self._record(attempt, None, "", "the runbook was deprecated", False)
            secret = runbooks.secret_of(self.settings, runbook)
        try:
            await providers.check(self.settings, request.url, "definition.url")
        except DomainError as exc:
            return await self._record(attempt, None, "", exc.detail, False)
        body = request.body.encode()
        headers = signed_headers(
            secret=secret,
            body=body,
            run_id=attempt.run_id,
            headers=request.headers,
            now=time.time(),
        )
        try:
            response = await self.http().request(
                request.method,
                request.url,
                content=body,
                headers=headers,
                timeout=request.timeout,
            )
        except httpx.HTTPError as exc:
            return await self._record(attempt, None, "", f"{type(exc).__name__}: {exc}", True)
        status = response.status_code
        ok = 200 <= status < 300
        error = None if ok else f"the target answered {status}"
        return await self._record(
            attempt, status, response.text[:EXCERPT_CHARS], error, is_retryable_status(status)
        )

    async def _record(
        self,
        attempt: AttemptIn,
        status: int | None,
        excerpt: str,
        error: str | None,
        retryable: bool,
    ) -> AttemptOut:
        async with self.sessionmaker() as session:
            await session.execute(
                update(RunbookRun)
                .where(col(RunbookRun.id) == UUID(attempt.run_id))
                .values(
                    attempts=attempt.attempt,
                    response_status=status,
                    response_excerpt=excerpt or None,
                    error=error,
                )
            )
            await session.commit()
        ok = status is not None and 200 <= status < 300
        return AttemptOut(ok=ok, retryable=retryable and not ok, status=status, error=error)

    @activity.defn(name="finish_runbook_run")
    async def finish_runbook_run(self, finish: FinishIn) -> None:
        """Record the run's outcome; put `runbook_finished` on the incident's timeline."""
        async with self.sessionmaker() as session:
            await session.execute(
                update(RunbookRun)
                .where(col(RunbookRun.id) == UUID(finish.run_id))
                .values(
                    status=finish.status,
                    attempts=finish.attempts,
                    finished_at=utcnow(),
                    **({"error": finish.error} if finish.error else {}),
                )
            )
            await session.commit()
        await self._event(
            finish.incident_id,
            f"runbook-run:{finish.run_id}:finished",
            "runbook_finished",
            run_id=finish.run_id,
            status=finish.status,
            attempts=finish.attempts,
            response_status=finish.response_status,
        )
