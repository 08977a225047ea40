"""Domain errors map to RFC 7807 problems in one place, with the statuses and types promised."""

import ast
from pathlib import Path

import pytest

from app import errors
from app.problems import as_problem, problem_of

SENT = "Could not send the code"
CASES = [
    (errors.NotFound("service x does not exist"), 404, "Not found", "/problems/not-found"),
    (errors.Conflict("taken"), 409, "Conflict", "/problems/conflict"),
    (errors.ChannelDisabled("off"), 409, "Channel disabled", "/problems/channel-disabled"),
    (errors.Invalid("bad"), 422, "Invalid request", "/problems/validation"),
    (errors.InvalidCode("wrong"), 422, "Invalid code", "/problems/verification"),
    (errors.ActionFailed("no"), 422, "Action failed", "/problems/action-failed"),
    (errors.Forbidden("no"), 403, "Forbidden", "/problems/forbidden"),
    (errors.Unauthorized("who"), 401, "Unauthorized", "/problems/unauthorized"),
    (errors.RateLimited("slow", retry_after=3), 429, "Too many requests", "/problems/rate-limited"),
    (errors.Busy("retry", retry_after=1), 429, "Too many requests", "about:blank"),
    (errors.Unavailable("down"), 503, "Service unavailable", "about:blank"),
    (
        errors.DeliveryFailed("x", permanent=False),
        502,
        "Could not send the code",
        "/problems/delivery-failed",
    ),
    (
        errors.DeliveryFailed("x", permanent=True),
        422,
        "Could not send the code",
        "/problems/delivery-failed",
    ),
]


@pytest.mark.parametrize(("exc", "status", "title", "type_"), CASES)
def test_each_domain_error_maps_to_its_problem(
    exc: errors.DomainError, status: int, title: str, type_: str
) -> None:
    problem = as_problem(exc)
    assert (problem.status, problem.title, problem.type, problem.detail) == (
        status,
        title,
        type_,
        exc.detail,
    )


def test_retry_after_and_extras_reach_the_problem() -> None:
    assert as_problem(errors.Unavailable("down")).headers == {"Retry-After": "5"}
    assert as_problem(errors.Busy("again", retry_after=1)).headers == {"Retry-After": "1"}
    conflict = as_problem(errors.Conflict("overlap", conflicts_with=["a"]))
    assert conflict.extra == {"conflicts_with": ["a"]}
    assert conflict.headers is None


def test_field_errors_make_the_detail_line() -> None:
    problem = problem_of(errors.invalid([{"field": "name", "message": "cannot be null"}]))
    assert problem.detail == "name: cannot be null"
    assert problem.errors == [{"field": "name", "message": "cannot be null"}]


def test_domain_errors_import_no_http_and_no_app_module() -> None:
    tree = ast.parse(Path(errors.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"fastapi", "starlette", "app"}
