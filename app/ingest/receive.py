"""The receiver pipeline shared by every format.

limit the client IP → find the integration → limit its key → check the content type and size
→ verify the signature (generic) → parse → normalize → route and hand off → answer.
Every request, whatever happens, gets one delivery-log row and an answer in its format's
own error shape (PagerDuty's for /v2/enqueue, problem+json elsewhere); nothing is handed to
a workflow unless it passed every check, and nothing is answered 202 unless Temporal took it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse

from app import metrics
from app.errors import DomainError
from app.ingest import signing
from app.ingest.handoff import NotRoutable, dispatch
from app.ingest.normalizers import NORMALIZERS, InvalidPayload
from app.ingest.normalizers.pagerduty import routing_key
from app.ingest.payload import parse_json
from app.ingest.runtime import IngestRuntime, Snapshot, runtime_of
from app.problems import PROBLEM_JSON

log = logging.getLogger(__name__)

KB = 1024
MAX_BODY = {"pagerduty": 512 * KB, "alertmanager": 1024 * KB, "grafana": 1024 * KB}
DEFAULT_MAX_BODY = 512 * KB
RETRY_AFTER_UNAVAILABLE = 5


class Rejected(Exception):
    """A request refused with `status`; rendered in the format's error shape."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str,
        errors: list[dict[str, str]] | None = None,
        retry_after: float | None = None,
        outcome: str = "rejected",
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.errors = errors or []
        self.retry_after = retry_after
        self.outcome = outcome

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


def _invalid(exc: InvalidPayload) -> Rejected:
    return Rejected(
        400,
        "Invalid payload",
        str(exc) or "the payload is invalid",
        type_="/problems/invalid-payload",
        errors=[e.as_dict() for e in exc.errors],
    )


def _unavailable(detail: str) -> Rejected:
    return Rejected(
        503,
        "Service unavailable",
        detail,
        type_="/problems/unavailable",
        retry_after=RETRY_AFTER_UNAVAILABLE,
        outcome="unavailable",
    )


def _render(fmt: str, rej: Rejected) -> JSONResponse:
    if fmt == "pagerduty":
        # PagerDuty's documented answers: 400 for any invalid event, 429, and 5xx.
        status = rej.status if rej.status in (413, 429) or rej.status >= 500 else 400
        body: dict[str, Any] = {
            "status": {429: "throttle event", 503: "unavailable"}.get(rej.status, "invalid event"),
            "message": rej.title if rej.status < 500 else rej.detail,
            "errors": [
                f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in rej.errors
            ]
            or [rej.detail],
        }
        return JSONResponse(body, status_code=status, headers=rej.headers)
    problem: dict[str, Any] = {
        "type": rej.type,
        "title": rej.title,
        "status": rej.status,
        "detail": rej.detail,
    }
    if rej.errors:
        problem["errors"] = rej.errors
    return JSONResponse(
        problem, status_code=rej.status, media_type=PROBLEM_JSON, headers=rej.headers
    )


class Delivery:
    """One request through the pipeline, and what the log will say about it."""

    def __init__(self, request: Request, rt: IngestRuntime, fmt: str) -> None:
        self.request, self.rt, self.fmt = request, rt, fmt
        self.snap: Snapshot | None = None
        self.detail: dict[str, Any] = {}
        self.alerts = 0
        self.received_at = datetime.now(UTC)
        self.client_ip = request.client.host if request.client else "unknown"

    async def limit(self, scope: str, ident: str, rate: Any) -> None:
        wait = await self.rt.limiter.hit(scope, ident, rate)
        if wait > 0:
            raise Rejected(
                429,
                "Too many requests",
                f"this {'integration key' if scope == 'key' else 'client'} sends too fast; retry",
                type_="/problems/rate-limited",
                retry_after=wait,
                outcome="rate_limited",
            )

    async def find(self, key: str) -> Snapshot:
        self.detail["key_prefix"] = key[:6]
        snap = await self.rt.integration(key)
        if snap is None or snap.integration.type != self.fmt:
            what = "routing key" if self.fmt == "pagerduty" else "integration key"
            raise Rejected(
                404,
                "Unknown integration",
                f"no {self.fmt} integration has this {what}",
                type_="/problems/unknown-integration",
                errors=[{"field": "routing_key", "message": "unknown"}]
                if self.fmt == "pagerduty"
                else [],
            )
        self.snap = snap
        if not snap.integration.enabled:
            raise Rejected(
                403,
                "Integration disabled",
                "this integration is disabled",
                type_="/problems/integration-disabled",
            )
        await self.limit("key", str(snap.integration.id), snap.rate)
        return snap

    async def body(self) -> bytes:
        ctype = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype and ctype != "application/json" and not ctype.endswith("+json"):
            raise Rejected(
                415,
                "Unsupported media type",
                "send JSON (Content-Type: application/json)",
                type_="/problems/unsupported-media-type",
            )
        encoding = self.request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise Rejected(
                415,
                "Unsupported media type",
                f"Content-Encoding {encoding} is not accepted",
                type_="/problems/unsupported-media-type",
            )
        limit = MAX_BODY.get(self.fmt, DEFAULT_MAX_BODY)
        too_large = Rejected(
            413,
            "Payload too large",
            f"the body is larger than {limit // KB} KB",
            type_="/problems/payload-too-large",
        )
        declared = self.request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        self.detail["bytes"] = size
        return b"".join(chunks)

    async def verify(self, snap: Snapshot, body: bytes) -> str:
        """Check a generic webhook's signature and claim it; return its digest."""
        i = snap.integration
        secrets = [i.secret] if i.secret else []
        expiry = i.previous_secret_expires_at
        if i.previous_secret and expiry and expiry > datetime.now(UTC):
            secrets.append(i.previous_secret)
        headers = self.request.headers
        try:
            ts = signing.verify(
                secrets=secrets,
                timestamp=headers.get(signing.TIMESTAMP_HEADER),
                signature=headers.get(signing.SIGNATURE_HEADER),
                body=body,
                now=time.time(),
            )
        except signing.SignatureError as exc:
            raise Rejected(
                401, "Invalid signature", str(exc), type_="/problems/invalid-signature"
            ) from exc
        digest = hashlib.sha256(
            f"{i.id}:{headers[signing.SIGNATURE_HEADER].strip()}".encode()
        ).hexdigest()
        expires = datetime.fromtimestamp(ts, UTC) + timedelta(seconds=signing.WINDOW_SECONDS + 60)
        if not await self.rt.reserve_signature(digest, expires):
            raise Rejected(
                409,
                "Replayed request",
                "a request with this signature was already received",
                type_="/problems/replayed",
            )
        return digest

    def log(self, status: int, outcome: str, error: str | None, started: float) -> None:
        self.rt.deliveries.record(
            integration_id=self.snap.integration.id if self.snap else None,
            received_at=self.received_at,
            endpoint=self.fmt[:16],
            outcome=outcome,
            status_code=status,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            alert_count=self.alerts,
            error=error[:2000] if error else None,
            client_ip=self.client_ip[:64],
            request_id=str(structlog.contextvars.get_contextvars().get("request_id", ""))[:64]
            or None,
            detail=self.detail,
        )


async def _process(d: Delivery, key: str | None) -> dict[str, Any]:
    await d.limit("ip", d.client_ip, d.rt.ip_rate)
    if d.fmt not in NORMALIZERS:
        raise Rejected(
            404,
            "Unknown format",
            f"formats: {', '.join(NORMALIZERS)}",
            type_="/problems/unknown-format",
        )
    if key is not None:
        await d.find(key)
    body = await d.body()
    digest = None
    if d.fmt == "generic":
        assert d.snap is not None
        digest = await d.verify(d.snap, body)
    try:
        payload = parse_json(body)
        if d.fmt == "pagerduty" and (rk := routing_key(payload)) is not None:
            await d.find(rk)
        normalized = NORMALIZERS[d.fmt](payload)
        if d.snap is None:  # unreachable: normalize refuses an event without a routing key
            raise Rejected(
                400, "Invalid payload", "no routing key", type_="/problems/invalid-payload"
            )
        d.detail.update({k: v for k, v in normalized.info.items() if k != "routing_key"})
        try:
            out = await dispatch(d.rt, d.snap, normalized, fmt=d.fmt, received_at=d.received_at)
        except NotRoutable as exc:
            raise Rejected(409, "Not routable", str(exc), type_="/problems/not-routable") from exc
        except DomainError as exc:
            raise _unavailable(exc.detail) from exc
        except Exception as exc:
            log.warning("hand-off to Temporal failed: %s", exc)
            raise _unavailable(f"Temporal did not accept the alert: {exc}") from exc
    except BaseException:
        if digest is not None:
            await d.rt.release_signature(digest)
        raise
    d.alerts = out.alerts
    d.detail.update(dedup_keys=out.dedup_keys[:20], workflow_ids=out.workflow_ids[:20])
    if out.no_incident:
        d.detail["no_incident"] = out.no_incident[:20]
    if d.fmt == "pagerduty":
        return {"status": "success", "message": "Event processed", "dedup_key": out.dedup_keys[0]}
    answer: dict[str, Any] = {
        "status": "accepted",
        "alerts": out.alerts,
        "dedup_keys": out.dedup_keys,
    }
    if "truncated_alerts" in normalized.info:
        answer["truncated_alerts"] = normalized.info["truncated_alerts"]
    return answer


async def receive(request: Request, fmt: str, key: str | None = None) -> JSONResponse:
    """Run one webhook request through the pipeline and log it."""
    rt = runtime_of(request)
    started = time.perf_counter()
    d = Delivery(request, rt, fmt)
    error: str | None = None
    try:
        answer = await _process(d, key)
    except Rejected as exc:
        refused = exc
    except InvalidPayload as exc:
        refused = _invalid(exc)
    except Exception as exc:  # a bug or a database outage: retryable, never a lost alert
        log.exception("receiver %s failed", fmt)
        refused = _unavailable("the alert was not accepted; retry")
        error = f"{type(exc).__name__}: {exc}"
    else:
        response = JSONResponse(answer, status_code=202)
        d.log(202, "accepted", None, started)
        metrics.alerts_received(fmt, d.alerts)
        return response
    metrics.alert_rejected(fmt, refused.outcome)
    response = _render(fmt, refused)
    d.log(response.status_code, refused.outcome, error or refused.detail, started)
    return response
