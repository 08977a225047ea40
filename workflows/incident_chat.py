"""Keep an incident's chat messages (Slack) in step with its state, never delaying a page.

A mixin of the incident workflow. After each projection write the workflow asks for a sync;
one background task runs the `sync_chat` activity, coalescing requests that arrive while it
runs, with bounded retries. The run loop never awaits it, so a Slack outage cannot hold up
escalation; only the end of the run waits for the last sync, so the message shows "resolved".
Deterministic, no I/O.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.incident_types import IncidentState, SyncChat

PATCH_CHAT_SYNC = "slack-sync"
CHAT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=4,
    non_retryable_error_types=["SlackPermanentError"],
)
CHAT_TIMEOUT = timedelta(seconds=20)


class ChatSync:
    """The chat-sync task of the incident workflow."""

    s: IncidentState
    _chat_task: asyncio.Task[None] | None
    _chat_wanted: bool
    _chat_on: bool | None  # the patch decision, taken once per run

    def _want_chat_sync(self) -> None:
        """Ask for the incident's messages to be brought up to date (soon, in the background)."""
        if not self.s.chat:
            return
        if self._chat_on is None:
            self._chat_on = workflow.patched(PATCH_CHAT_SYNC)
        if not self._chat_on:
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
