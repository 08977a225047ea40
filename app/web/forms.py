"""Helpers for pages that show a refused change on the form instead of an error page."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.problems import Problem, as_problem
from app.web.auth import Viewer


async def roll_back(session: AsyncSession, viewer: Viewer) -> None:
    """Undo the failed change and reload the viewer, whom the page still shows."""
    await session.rollback()
    await session.refresh(viewer.user)
    await session.refresh(viewer.session)


def problem_of(exc: Problem | DomainError) -> Problem:
    """Return the RFC 7807 problem of a refusal, whichever way the service raised it."""
    return as_problem(exc) if isinstance(exc, DomainError) else exc


def errors_of(exc: Problem | DomainError | ValidationError) -> list[dict[str, Any]]:
    """Return a refusal's field errors (`{"field", "message"}`); one without fields has ''."""
    if isinstance(exc, ValidationError):
        return [
            {
                "field": ".".join(str(p) for p in e["loc"]),
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
    problem = problem_of(exc)
    if problem.errors:
        return [
            {"field": str(e.get("field", "")), "message": str(e.get("message", ""))}
            for e in problem.errors
        ]
    return [{"field": "", "message": problem.detail or problem.title}]
