"""`POST /slack/events`: the Slack app's one endpoint (events, interactivity, slash commands)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

from app.config import Settings
from app.problems import Problem, problem_response
from app.slack import service as slack
from app.slack.actions import SlackDeps
from app.slack.bolt import build_app

router = APIRouter(tags=["slack"])


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the Slack endpoint to `app`; it answers 404 until Slack is configured."""
    if slack.configured(settings):
        deps = SlackDeps(settings=settings, state=app.state)
        app.state.slack = AsyncSlackRequestHandler(build_app(deps))
    app.include_router(router)


@router.post("/slack/events", summary="Slack events, interactivity and slash commands")
async def slack_events(request: Request) -> Response:
    """Hand a request from Slack to the Bolt app, which verifies its signature first."""
    handler: AsyncSlackRequestHandler | None = getattr(request.app.state, "slack", None)
    if handler is None:
        raise Problem(
            404,
            "Not found",
            "the Slack app is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)",
            type_="/problems/not-found",
        )
    response = await handler.handle(request)
    if response.status_code == 401:
        return problem_response(
            401,
            "Unauthorized",
            "the request's Slack signature or timestamp is not valid",
            type_="/problems/slack-signature",
            instance=request.url.path,
        )
    return response
