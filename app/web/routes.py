"""The web UI's routes, mounted at `/` next to the API."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.insight import web as insight_pages
from app.web import (
    audit_pages,
    automation_pages,
    catalog_pages,
    config_pages,
    connection_pages,
    dashboard,
    heartbeat_pages,
    incident_pages,
    lifecycle_pages,
    login,
    oidc,
    oncall,
    people_pages,
    postmortem_pages,
    postmortem_template_pages,
    profile,
    push,
    pwa,
    runbook_pages,
    schedule_pages,
    service_pages,
    status_pages,
)
from app.web.render import HERE, error_page

ROUTERS = [
    login.router,
    oidc.router,
    dashboard.router,
    incident_pages.router,
    schedule_pages.router,  # before oncall's /schedules/{id}: /schedules/new
    oncall.router,
    service_pages.router,
    catalog_pages.router,
    heartbeat_pages.router,
    postmortem_pages.router,
    postmortem_template_pages.router,
    people_pages.router,  # before config_pages' /users/{id}: /users/invite
    config_pages.router,
    lifecycle_pages.router,
    audit_pages.router,
    status_pages.router,
    insight_pages.router,
    runbook_pages.router,
    automation_pages.router,
    connection_pages.router,
    profile.router,
    push.router,
    pwa.router,
]
# Paths of machines, not people: they keep their problem+json answers whatever they accept.
_MACHINE_PATHS = (
    "/api/",
    "/v2/",
    "/integrations/",
    "/slack/",
    "/webhooks/",
    "/heartbeat/",
    "/openapi.json",
)


def _wants_page(request: Request) -> bool:
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith(_MACHINE_PATHS)
    )


def install(app: FastAPI) -> None:
    """Add the web UI's pages and static files to `app`."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    problem_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        """A browser that asks for a page that does not exist gets a page, not JSON."""
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404:
            if _wants_page(request):
                return error_page(request, 404, "Page not found", "There is no such page.")
        answer = problem_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, not_found)
