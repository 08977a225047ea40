"""Prometheus metrics of the API and the worker: definitions, one-line recorders, exposition.

Every name starts with `pagefree_`; labels are bounded sets (integration type, channel,
outcome), never people, addresses or keys. With PROMETHEUS_MULTIPROC_DIR set (several API
worker processes) each process writes its values to files there and a scrape adds them up.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)
from temporalio.runtime import (
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
)

# --- definitions ---------------------------------------------------------------------------------

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ALERTS_RECEIVED = Counter(
    "pagefree_alerts_received_total",
    "Alerts accepted (handed to Temporal), by integration type.",
    ["integration_type"],
)
ALERTS_REJECTED = Counter(
    "pagefree_alerts_rejected_total",
    "Webhook requests refused, by integration type and outcome.",
    ["integration_type", "outcome"],
)
INCIDENTS_OPENED = Counter(
    "pagefree_incidents_opened_total", "Incidents opened, by severity.", ["severity"]
)
INCIDENTS_ACKNOWLEDGED = Counter(
    "pagefree_incidents_acknowledged_total", "Acknowledgements recorded."
)
INCIDENTS_RESOLVED = Counter("pagefree_incidents_resolved_total", "Resolutions recorded.")
PAGES = Counter("pagefree_pages_total", "People paged (one per user per level).")
NOTIFICATIONS_SENT = Counter(
    "pagefree_notifications_sent_total",
    "Notification attempts a provider accepted, by channel.",
    ["channel"],
)
NOTIFICATIONS_FAILED = Counter(
    "pagefree_notifications_failed_total",
    "Notification attempts that failed, by channel.",
    ["channel"],
)
PAGE_LATENCY = Histogram(
    "pagefree_page_latency_seconds",
    "From an incident's first alert to its first notification a provider accepted.",
    buckets=LATENCY_BUCKETS,
)
ESCALATION_LATENESS = Histogram(
    "pagefree_escalation_lateness_seconds",
    "From the instant the workflow fired a level to its pages being recorded.",
    buckets=LATENCY_BUCKETS,
)
WORKFLOW_TASK_LATENCY = Histogram(
    "pagefree_workflow_task_latency_seconds",
    "Temporal workflow tasks: schedule-to-start and execution, from the SDK's runtime metrics.",
    ["phase"],
    buckets=TASK_BUCKETS,
)
ACTIVITY_LATENCY = Histogram(
    "pagefree_activity_latency_seconds",
    "Temporal activities: schedule-to-start and execution, from the SDK's runtime metrics.",
    ["activity", "phase"],
    buckets=TASK_BUCKETS,
)

# --- recorders (one line at each instrumented place) -------------------------------------------

_INTEGRATION_TYPES = {"pagerduty", "alertmanager", "grafana", "datadog", "newrelic", "generic"}
_CHANNELS = {"email", "sms", "voice", "push", "slack", "log", "teams"}


def _bounded(value: str, allowed: set[str]) -> str:
    return value if value in allowed else "other"


def alerts_received(integration_type: str, count: int) -> None:
    """Count alerts handed to Temporal."""
    ALERTS_RECEIVED.labels(_bounded(integration_type, _INTEGRATION_TYPES)).inc(count)


def alert_rejected(integration_type: str, outcome: str) -> None:
    """Count a refused webhook request (outcome: rejected, rate_limited, unavailable …)."""
    ALERTS_REJECTED.labels(_bounded(integration_type, _INTEGRATION_TYPES), outcome[:32]).inc()


def incident_opened(severity: str) -> None:
    """Count an incident row written for the first time."""
    INCIDENTS_OPENED.labels(severity).inc()


def events_recorded(events: Iterable[tuple[str, datetime]]) -> None:
    """Count newly written timeline events: acknowledgements, resolutions, pages."""
    now = datetime.now(UTC)
    for type_, at in events:
        if type_ == "acknowledged":
            INCIDENTS_ACKNOWLEDGED.inc()
        elif type_ == "resolved":
            INCIDENTS_RESOLVED.inc()
        elif type_ == "paged":
            PAGES.inc()
            ESCALATION_LATENESS.observe(max(0.0, (now - at).total_seconds()))


def notification_recorded(channel: str, status: str) -> None:
    """Count a newly written delivery-log row."""
    counter = NOTIFICATIONS_FAILED if status == "failed" else NOTIFICATIONS_SENT
    counter.labels(_bounded(channel, _CHANNELS)).inc()


def first_page(first_alert_at: datetime, sent_at: datetime) -> None:
    """Observe the latency from an incident's first alert to its first accepted notification."""
    PAGE_LATENCY.observe(max(0.0, (sent_at - first_alert_at).total_seconds()))


# --- the Temporal SDK's runtime metrics ------------------------------------------------------

_TASK_PHASES = {
    "workflow_task_schedule_to_start_latency": "schedule_to_start",
    "workflow_task_execution_latency": "execution",
}
_ACTIVITY_PHASES = {
    "activity_schedule_to_start_latency": "schedule_to_start",
    "activity_execution_latency": "execution",
}


def sdk_runtime() -> tuple[Runtime, MetricBuffer]:
    """Return a Temporal runtime whose metrics are buffered for `drain_sdk_metrics`."""
    buffer = MetricBuffer(50_000, duration_format=MetricBufferDurationFormat.SECONDS)
    return Runtime(telemetry=TelemetryConfig(metrics=buffer)), buffer


def drain_sdk_metrics(buffer: MetricBuffer) -> None:
    """Move the SDK's buffered latencies into PageFree's histograms."""
    for update in buffer.retrieve_updates():
        name = update.metric.name.removeprefix("temporal_")
        value = float(update.value)
        if name in _TASK_PHASES:
            WORKFLOW_TASK_LATENCY.labels(_TASK_PHASES[name]).observe(value)
        elif name in _ACTIVITY_PHASES:
            activity = str(update.attributes.get("activity_type", "other"))[:64]
            ACTIVITY_LATENCY.labels(activity, _ACTIVITY_PHASES[name]).observe(value)


async def drain_sdk_metrics_forever(buffer: MetricBuffer, every: float = 1.0) -> None:
    """Drain the SDK's buffer every `every` seconds (it holds a bounded number of updates)."""
    while True:
        drain_sdk_metrics(buffer)
        await asyncio.sleep(every)


# --- exposition -------------------------------------------------------------------------------


def registry() -> CollectorRegistry:
    """Return the registry to expose: every process's values in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
        return reg
    return REGISTRY


def authorized(header: str | None, token: str | None) -> bool:
    """Return whether a request's Authorization header carries the metrics token (if any)."""
    if not token:
        return True
    return hmac.compare_digest((header or "").encode(), f"Bearer {token}".encode())


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Expose the metrics in Prometheus text format (a bearer token when one is set)."""
    secret = request.app.state.settings.metrics_token
    if not authorized(request.headers.get("authorization"), secret and secret.get_secret_value()):
        return Response("unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would flood the log


@dataclass
class MetricsServer:
    """The worker's /metrics HTTP server, running in a thread."""

    server: WSGIServer
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_worker_metrics(host: str, port: int, token: str | None) -> MetricsServer:
    """Serve this process's metrics on host:port (0: any free port) in a thread."""
    app = make_wsgi_app(registry())

    def guarded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not authorized(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b"unauthorized\n"]
        return app(environ, start_response)  # type: ignore[no-any-return]

    server = make_server(host, port, guarded, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return MetricsServer(server, server.server_port)
