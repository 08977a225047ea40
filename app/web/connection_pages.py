"""Connections page (admins): credentials that automation steps use, by id; secrets write-only."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections import service as connections
from app.connections.models import (
    CONFIGS,
    SECRET_KEYS,
    ConnectionCreate,
    ConnectionTest,
    ConnectionType,
)
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError
from app.problems import Problem, problem_of
from app.web.auth import Viewer, WebAdmin
from app.web.forms import errors_of, roll_back
from app.web.render import WebRoute, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LABELS = {
    ConnectionType.jira: "Jira Cloud (e-mail and API token)",
    ConnectionType.linear: "Linear (API key)",
    ConnectionType.oauth2: "OAuth2 client credentials",
    ConnectionType.hmac: "HMAC signing secret",
    ConnectionType.basic: "HTTP basic auth",
}


def kinds() -> list[dict[str, Any]]:
    """Each connection type with its config fields (secret ones marked) for the forms."""
    out = []
    for kind, model in CONFIGS.items():
        fields = [
            {
                "key": key,
                "secret": key in SECRET_KEYS[kind],
                "required": info.is_required(),
            }
            for key, info in model.model_fields.items()
        ]
        out.append({"type": kind.value, "label": LABELS[kind], "fields": fields})
    return out


async def _render(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    *,
    status_code: int = 200,
    errors: list[dict[str, Any]] | None = None,
    typed: dict[str, Any] | None = None,
    tested: tuple[UUID, ConnectionTest] | None = None,
) -> Response:
    rows = [connections.public(c) for c in await connections.list_connections(session=session)]
    return page(
        request,
        "connections.html",
        viewer,
        status_code=status_code,
        connections=rows,
        kinds=kinds(),
        errors=errors or [],
        typed=typed or {},
        tested=tested,
    )


@router.get("/connections", response_class=HTMLResponse)
async def connections_page(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    """List connections (never their secrets) and offer a form per type."""
    return await _render(request, session, viewer)


@router.post("/connections", response_class=HTMLResponse)
async def add_connection(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebAdmin
) -> Response:
    """Store a connection; a refusal is shown at its field, the typed non-secret values kept."""
    form = await request.form()
    kind = str(form.get("type") or "")
    name = str(form.get("name") or "").strip()
    config: dict[str, Any] = {}
    known = {k["type"]: k for k in kinds()}
    for f in known.get(kind, {"fields": []})["fields"]:
        value = str(form.get(f["key"]) or "").strip()
        if value:
            config[f["key"]] = value
    try:
        connection_in = ConnectionCreate.model_validate(
            {"type": kind, "name": name, "config": config}
        )
        await connections.create(
            session=session, settings=settings, connection_in=connection_in, actor=viewer.actor
        )
    except (Problem, DomainError, ValidationError) as exc:
        status = 422 if isinstance(exc, ValidationError) else problem_of(exc).status
        if "application/problem+json" in request.headers.get("accept", ""):
            raise
        await roll_back(session, viewer)
        errors = errors_of(exc)
        if status == 409:
            errors = [{"field": "name", "message": e["message"]} for e in errors]
        secret = {f["key"] for f in known.get(kind, {"fields": []})["fields"] if f["secret"]}
        typed = {"type": kind, "name": name} | {k: v for k, v in config.items() if k not in secret}
        return await _render(
            request, session, viewer, status_code=status, errors=errors, typed=typed
        )
    return see_other("/connections?done=saved")


@router.post("/connections/{connection_id}/test", response_class=HTMLResponse)
async def test_connection(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    connection_id: UUID,
) -> Response:
    """Try a connection's credentials against its provider; the answer is shown on the list."""
    result = await connections.test(
        session=session, settings=settings, connection_id=connection_id, actor=viewer.actor
    )
    return await _render(request, session, viewer, tested=(connection_id, result))


@router.post("/connections/{connection_id}/delete")
async def delete_connection(session: SessionDep, viewer: WebAdmin, connection_id: UUID) -> Response:
    """Delete a connection."""
    await connections.delete(session=session, connection_id=connection_id, actor=viewer.actor)
    return see_other("/connections?done=deleted")
