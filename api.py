"""ASGI entry: `uvicorn api:app`. Assembles every domain's router."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import devstack, health, logs, metrics, problems
from app.audit.routes import router as audit_router
from app.automations.routes import router as automations_router
from app.bodylimit import BodyLimit
from app.catalog.routes import router as catalog_router
from app.config import Settings, get_settings
from app.connections.routes import router as connections_router
from app.db import check_migrated, make_engine, make_sessionmaker
from app.escalation.routes import router as escalation_router
from app.heartbeats.routes import ping_router as heartbeat_ping_router
from app.heartbeats.routes import router as heartbeats_router
from app.identity.routes import router as identity_router
from app.incidents.routes import router as incidents_router
from app.ingest.receivers import router as ingest_receivers
from app.ingest.routes import router as ingest_router
from app.insight.routes import router as insight_router
from app.maintenance.routes import router as maintenance_router
from app.notify.channels import build_channels
from app.notify.routes import router as notify_router
from app.notify.webhooks import router as notify_webhooks
from app.oncall.routes import router as oncall_router
from app.postmortems.routes import router as postmortems_router
from app.runbooks.routes import router as runbooks_router
from app.schedules.routes import router as schedules_router
from app.slack import routes as slack_routes
from app.statuspages.partner_routes import router as partners_router
from app.statuspages.public_routes import router as status_public_router
from app.statuspages.routes import router as status_pages_router
from app.temporal import LazyClient
from app.web.routes import install as install_web

log = structlog.get_logger("pagefree.api")


def _temporal_address(settings: Settings) -> str | None:
    try:
        return devstack.temporal_address(settings)
    except devstack.StackError as exc:
        log.warning("temporal not configured", reason=str(exc))
        return None


class RequestLog:
    """Log one line per request and tag it with an X-Request-ID.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in an extra task and re-streams its response, a measurable cost in webhook storms.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            # Only method, path and status: headers and bodies may carry tokens.
            log.info(
                "request",
                method=scope["method"],
                path=logs.loggable_path(scope),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
                request_id=request_id,
            )


def freeze_startup_heap() -> None:
    """Exempt everything built at startup from the garbage collector's full passes.

    The imported libraries (FastAPI, SQLAlchemy, pydantic, the Temporal SDK) and the routes
    leave several hundred thousand long-lived objects; every full collection walked them all:
    stops of the event loop of ~150 ms, several times a second during a webhook storm
    (measured with gc.callbacks). Frozen, they are never scanned again; they live as long as
    the process anyway.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the FastAPI application; connections are made when it starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or devstack.database_url(settings)
        engine = make_engine(url)
        await check_migrated(engine)
        app.state.engine = engine
        app.state.database_url = url
        app.state.sessionmaker = make_sessionmaker(engine)
        if not hasattr(app.state, "temporal"):
            app.state.temporal = LazyClient(settings, _temporal_address(settings))
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="PageFree",
        version="0.1.0",
        summary="On-call and incident response: alerts escalate until a human acknowledges.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.channels = build_channels(settings)
    for warning in app.state.channels.warnings:
        log.warning("notification channel", detail=warning)
    problems.install(app)

    app.add_middleware(BodyLimit)
    app.add_middleware(RequestLog)
    # Webhook receivers first: routes are matched in order, and in a storm nearly every
    # request is for one of them (their paths overlap no other route).
    app.include_router(ingest_receivers)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(identity_router)
    app.include_router(audit_router)
    app.include_router(escalation_router)
    app.include_router(catalog_router)
    app.include_router(heartbeats_router)
    app.include_router(heartbeat_ping_router)
    app.include_router(maintenance_router)
    app.include_router(incidents_router)
    app.include_router(ingest_router)
    app.include_router(schedules_router)
    app.include_router(oncall_router)
    app.include_router(insight_router)
    slack_routes.mount(app, settings)
    app.include_router(notify_router)
    app.include_router(notify_webhooks)
    app.include_router(postmortems_router)
    app.include_router(connections_router)
    app.include_router(status_pages_router)
    app.include_router(status_public_router)
    app.include_router(partners_router)
    app.include_router(runbooks_router)
    app.include_router(automations_router)
    # The web UI last: its pages live at `/` and must not shadow any API path.
    install_web(app)
    return app


def _build() -> FastAPI:
    settings = get_settings()
    logs.configure(settings)
    logging.getLogger(__name__).debug("building app")
    application = create_app(settings)
    freeze_startup_heap()
    return application


app = _build()
