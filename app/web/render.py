"""Templates, formatting filters, and the route class that turns errors into friendly pages."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import DomainError
from app.identity.models import User
from app.problems import Problem, problem_of, problem_response
from app.web.auth import SignInRequired, Viewer

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: datetime | None, tz: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an instant in the viewer's time zone."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone(tz)).strftime(fmt)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """Return a short relative age: `5 min ago`."""
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def duration(value: timedelta | float | None) -> str:
    """Format a duration for people: `5 min`, `1 h 30 min`."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    text = " ".join(p for p in parts if p)
    return text or f"{secs} s"


def pretty_json(value: Any) -> str:
    """Return indented JSON for raw payloads."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


templates.env.filters["localtime"] = localtime
templates.env.filters["ago"] = ago
templates.env.filters["duration"] = duration
templates.env.filters["pretty_json"] = pretty_json


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a template with the viewer and the common page context."""
    settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "me": viewer.user if viewer else None,
            "tz": viewer.user.timezone if viewer else "UTC",
            "csrf": viewer.csrf if viewer else "",
            "oidc_enabled": settings.oidc_enabled,
            "oidc_name": settings.oidc_provider_name,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"} if viewer else None,
    )


def see_other(url: str) -> RedirectResponse:
    """Redirect after a successful form post (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, detail: str | None) -> HTMLResponse:
    """Render the friendly error page."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {"viewer": None, "me": None, "status": status, "title": title, "detail": detail},
        status_code=status,
    )


async def names_of(session: AsyncSession, ids: Iterable[object]) -> dict[str, str]:
    """Return user id (as text) → name for the given ids, in one query; bad ids are skipped."""
    wanted: set[UUID] = set()
    for raw in ids:
        try:
            wanted.add(raw if isinstance(raw, UUID) else UUID(str(raw)))
        except ValueError:
            continue
    if not wanted:
        return {}
    users = await session.scalars(select(User).where(col(User.id).in_(wanted)))
    return {str(u.id): u.name for u in users.all()}


def parse_uuid(value: str, field: str) -> UUID:
    """Parse a form field's id, or answer with a friendly 422."""
    try:
        return UUID(value)
    except ValueError:
        raise Problem(
            422, "Please check your input", f"{field}: choose one from the list"
        ) from None


def field_errors(exc: RequestValidationError | ValidationError) -> str:
    """Return a validation error as one line for people: `field: message; …`."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc) or 'input'}: {message}")
    return "; ".join(parts)


def errors_list(exc: RequestValidationError | ValidationError) -> list[dict[str, Any]]:
    """Return a validation error as RFC 7807 `errors` (`field` without body/query/form)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append({"field": ".".join(loc), "message": message})
    return out


def _wants_problem(request: Request) -> bool:
    """Return whether our script posted a form and wants the refusal as problem+json, to show
    its errors at the fields without leaving the page (so what was typed stays)."""
    return request.method == "POST" and "application/problem+json" in request.headers.get(
        "accept", ""
    )


def _problem_json(
    status: int,
    title: str,
    detail: str | None,
    errors: list[dict[str, Any]] | None,
    type_: str = "/problems/validation",
) -> Response:
    return problem_response(status, title, detail, type_=type_, errors=errors or [])


# Pages load only our own files: no inline script, no other origin, never inside a frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class WebRoute(APIRoute):
    """A page route: sign-in redirects, and problems shown as pages instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def _handle(request: Request) -> Response:
            response: Response
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = RedirectResponse(exc.next_path, status_code=303)
            except (Problem, DomainError) as exc:
                problem = problem_of(exc)
                if _wants_problem(request):
                    response = _problem_json(
                        problem.status, problem.title, problem.detail, problem.errors
                    )
                else:
                    response = error_page(request, problem.status, problem.title, problem.detail)
                for name, value in (problem.headers or {}).items():
                    response.headers.setdefault(name, value)  # e.g. a 429's Retry-After
            except (RequestValidationError, ValidationError) as exc:
                if _wants_problem(request):
                    response = _problem_json(
                        422, "Please check your input", field_errors(exc), errors_list(exc)
                    )
                else:
                    response = error_page(
                        request, 422, "Please check your input", field_errors(exc)
                    )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return _handle
