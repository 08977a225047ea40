"""Domain errors: what services raise when an operation cannot be done; no HTTP here.

`app.problems` maps each of them to an RFC 7807 response in one place. Services, activities
and workflows' callers raise and catch these, never the HTTP `Problem`.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure of a domain operation, raised by services.

    `errors` lists field problems (`{"field", "message"}`); `extra` adds members to the
    answer (e.g. the cycle a dependency would close, the incident's status in a conflict).
    """

    def __init__(
        self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class NotFound(DomainError):
    """The thing asked for does not exist."""


class Conflict(DomainError):
    """The request conflicts with the current state."""


class Invalid(DomainError):
    """The input is well-formed but not acceptable; name the field in `errors`."""


class Forbidden(DomainError):
    """The actor may not do this."""


class Unauthorized(DomainError):
    """The credential presented (e.g. a calendar feed token) is unknown or revoked."""


class RateLimited(DomainError):
    """Too many requests; try again after `retry_after` seconds."""

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = max(1, int(retry_after))


class Busy(RateLimited):
    """Too many actions on one incident at once (Temporal refused more Updates); retry."""


class Unavailable(DomainError):
    """A system the operation needs (Temporal) is unreachable; try again later."""

    def __init__(self, detail: str, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = max(1, int(retry_after))


class ChannelDisabled(Conflict):
    """A notification channel is not configured on this server."""


class InvalidCode(Invalid):
    """A verification code is wrong, spent or expired."""


class DeliveryFailed(DomainError):
    """A message could not be sent; `permanent` when retrying cannot help (bad address)."""

    def __init__(self, detail: str, *, permanent: bool, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.permanent = permanent


class ActionFailed(Invalid):
    """The incident's workflow refused an action (its validator or handler failed)."""


def not_found(what: str, ident: object) -> NotFound:
    """Return the error for a missing `what` (`"service"`, `"user"` …) with id `ident`."""
    return NotFound(f"{what} {ident} does not exist")


def invalid(errors: list[dict[str, Any]]) -> Invalid:
    """Return the error for field problems, its detail the problems on one line."""
    return Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
