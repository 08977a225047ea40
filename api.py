"""ASGI entry: `uvicorn api:app`. Assembles every domain's router."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response

from app import devstack, errors, health, logs
from app.audit.routes import router as audit_router
from app.catalog.routes import router as catalog_router
from app.config import Settings, get_settings
from app.db import check_migrated, make_engine, make_sessionmaker
from app.escalation.routes import router as escalation_router
from app.identity.routes import router as identity_router
from app.incidents.routes import router as incidents_router
from app.ingest.receivers import router as ingest_receivers
from app.ingest.routes import router as ingest_router
from app.schedules.routes import router as schedules_router
from app.temporal import LazyClient
from app.web.routes import install as install_web

log = structlog.get_logger("pagefree.api")


def _temporal_address(settings: Settings) -> str | None:
    try:
        return devstack.temporal_address(settings)
    except devstack.StackError as exc:
        log.warning("temporal not configured", reason=str(exc))
        return None


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
    errors.install(app)

    @app.middleware("http")
    async def request_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response.headers["X-Request-ID"] = request_id
        # Only method, path and status: headers and bodies may carry tokens.
        log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
            request_id=request_id,
        )
        return response

    app.include_router(health.router)
    app.include_router(identity_router)
    app.include_router(audit_router)
    app.include_router(escalation_router)
    app.include_router(catalog_router)
    app.include_router(incidents_router)
    app.include_router(ingest_router)
    app.include_router(ingest_receivers)
    app.include_router(schedules_router)
    # The web UI last: its pages live at `/` and must not shadow any API path.
    install_web(app)
    return app


def _build() -> FastAPI:
    settings = get_settings()
    logs.configure(settings)
    logging.getLogger(__name__).debug("building app")
    return create_app(settings)


app = _build()
