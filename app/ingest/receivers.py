"""The ingestion endpoints monitoring tools post to; authenticated by integration key.

Each answers 202 only once its alerts are durably in Temporal (see app/ingest/receive.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.ingest.receive import receive

router = APIRouter(tags=["ingestion"])

_PROBLEM: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in (
        (400, "invalid payload"),
        (401, "bad or missing signature"),
        (403, "integration disabled"),
        (404, "unknown integration key"),
        (409, "replayed request, or nowhere to route"),
        (413, "body too large"),
        (415, "not JSON"),
        (429, "rate-limited; see Retry-After"),
        (503, "Temporal unreachable; retry after Retry-After"),
    )
}


@router.post(
    "/v2/enqueue",
    status_code=202,
    responses={
        202: {"description": '{"status": "success", "message": "Event processed", "dedup_key"}'},
        400: {"description": '{"status": "invalid event", "message", "errors": [...]}'},
        429: {"description": "rate-limited; see Retry-After"},
        503: {"description": "Temporal unreachable; retry"},
    },
)
async def pagerduty_enqueue(request: Request) -> JSONResponse:
    """PagerDuty Events API v2: `routing_key` is a PageFree pagerduty integration key."""
    return await receive(request, "pagerduty")


@router.post("/integrations/{key}/alertmanager", status_code=202, responses=_PROBLEM)
async def alertmanager_webhook(request: Request, key: str) -> JSONResponse:
    """Prometheus Alertmanager webhook (version 4): one incident per alert group."""
    return await receive(request, "alertmanager", key)


@router.post("/integrations/{key}/grafana", status_code=202, responses=_PROBLEM)
async def grafana_webhook(request: Request, key: str) -> JSONResponse:
    """Grafana alerting webhook (unified or legacy)."""
    return await receive(request, "grafana", key)


@router.post("/integrations/{key}/datadog", status_code=202, responses=_PROBLEM)
async def datadog_webhook(request: Request, key: str) -> JSONResponse:
    """Datadog webhook integration payload."""
    return await receive(request, "datadog", key)


@router.post("/integrations/{key}/newrelic", status_code=202, responses=_PROBLEM)
async def newrelic_webhook(request: Request, key: str) -> JSONResponse:
    """New Relic workflow webhook."""
    return await receive(request, "newrelic", key)


@router.post("/integrations/{key}/generic", status_code=202, responses=_PROBLEM)
async def generic_webhook(request: Request, key: str) -> JSONResponse:
    """Any JSON, signed: X-PageFree-Signature and X-PageFree-Timestamp."""
    return await receive(request, "generic", key)


@router.post("/integrations/{key}/{fmt}", status_code=404, responses=_PROBLEM)
async def unknown_format(request: Request, key: str, fmt: str) -> JSONResponse:
    """Any other format: 404, logged like every delivery."""
    return await receive(request, fmt, key)
