"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.identity import service as identity
from app.problems import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answer 200 while the process is up."""
    return {"status": "ok"}


async def _check_database(request: Request) -> str | None:
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=3)
    except Exception as exc:
        return f"PostgreSQL: {type(exc).__name__}"
    return None


async def _check_temporal(request: Request) -> str | None:
    try:
        client = await request.app.state.temporal.get()
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
    except Exception as exc:
        return f"Temporal: {getattr(exc, 'detail', None) or type(exc).__name__}"
    return None


async def _signed_in(request: Request) -> bool:
    """Return whether the caller sent a valid API token (PostgreSQL down: anonymous)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        async with request.app.state.sessionmaker() as session:
            user = await identity.authenticate_token(session=session, token=token.strip())
            await session.commit()
    except Exception:
        return False
    return user is not None


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Answer 200 only when PostgreSQL and Temporal are reachable.

    Anyone (a load balancer) sees the verdict per dependency; the providers' error text and
    the notification channels' configuration only callers with an API token.
    """
    db, temporal = await asyncio.gather(_check_database(request), _check_temporal(request))
    checks = {"postgresql": "down" if db else "ok", "temporal": "down" if temporal else "ok"}
    detailed = await _signed_in(request)
    channels = getattr(request.app.state, "channels", None)
    # A disabled channel is a warning, not unreadiness: escalation goes on through the others.
    notifications = (
        {"channels": channels.status(), "warnings": channels.warnings}
        if channels and detailed
        else None
    )
    down = [d for d in (db, temporal) if d]
    if down:
        return problem_response(
            503,
            "Service unavailable",
            "; ".join(down)
            if detailed
            else "not ready: "
            + ", ".join(name for name, state in checks.items() if state == "down"),
            type_="/problems/not-ready",
            checks=checks,
            notifications=notifications,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "checks": checks, "notifications": notifications})
