"""RFC 7807 problem responses for every error path: the one mapping of domain errors to HTTP."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    ActionFailed,
    Busy,
    ChannelDisabled,
    Conflict,
    DeliveryFailed,
    DomainError,
    Forbidden,
    Invalid,
    InvalidCode,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from app.logs import loggable_path

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error the API answers with a problem+json body."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = errors
        self.headers = headers
        self.extra = extra


# Most specific first: an error takes the first entry its class is a subclass of.
_DOMAIN: list[tuple[type[DomainError], int, str, str]] = [
    (NotFound, 404, "Not found", "/problems/not-found"),
    (ChannelDisabled, 409, "Channel disabled", "/problems/channel-disabled"),
    (Conflict, 409, "Conflict", "/problems/conflict"),
    (InvalidCode, 422, "Invalid code", "/problems/verification"),
    (ActionFailed, 422, "Action failed", "/problems/action-failed"),
    (Invalid, 422, "Invalid request", "/problems/validation"),
    (Forbidden, 403, "Forbidden", "/problems/forbidden"),
    (Unauthorized, 401, "Unauthorized", "/problems/unauthorized"),
    (Busy, 429, "Too many requests", "about:blank"),
    (RateLimited, 429, "Too many requests", "/problems/rate-limited"),
    (Unavailable, 503, "Service unavailable", "about:blank"),
    (DeliveryFailed, 502, "Could not send the code", "/problems/delivery-failed"),
]


def as_problem(exc: DomainError) -> Problem:
    """Return the RFC 7807 problem for a domain error (the one mapping of them to HTTP)."""
    status, title, type_ = next(
        ((s, t, ty) for cls, s, t, ty in _DOMAIN if isinstance(exc, cls)),
        (400, "Bad request", "about:blank"),
    )
    if isinstance(exc, DeliveryFailed) and exc.permanent:
        status = 422
    headers = None
    if isinstance(exc, RateLimited | Unavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    return Problem(
        status, title, exc.detail, type_=type_, errors=exc.errors, headers=headers, **exc.extra
    )


def problem_of(exc: Problem | DomainError) -> Problem:
    """Return `exc` as a problem, for pages that show an error instead of answering JSON."""
    return exc if isinstance(exc, Problem) else as_problem(exc)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build an `application/problem+json` response."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        errors.append(
            {"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")}
        )
    return errors


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
}


def install(app: FastAPI) -> None:
    """Make every error path of `app` answer with a problem+json body."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return await _problem(request, as_problem(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            422,
            "Invalid request",
            detail,
            type_="/problems/validation",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(
            exc.status_code,
            title,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, loggable_path(request.scope))
        return problem_response(
            500,
            "Internal error",
            "an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )
