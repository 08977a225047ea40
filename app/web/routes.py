"""The web UI's routes, mounted at `/` next to the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.web import (
    config_pages,
    dashboard,
    incident_pages,
    login,
    oidc,
    oncall,
    profile,
    pwa,
    service_pages,
)
from app.web.render import HERE

ROUTERS = [
    login.router,
    oidc.router,
    dashboard.router,
    incident_pages.router,
    oncall.router,
    service_pages.router,
    config_pages.router,
    profile.router,
    pwa.router,
]


def install(app: FastAPI) -> None:
    """Add the web UI's pages and static files to `app`."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
