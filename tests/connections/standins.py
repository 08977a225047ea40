"""Local stand-ins for Jira Cloud (REST v3) and Linear (GraphQL), speaking their wire formats."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-api-token-0123456789"
LINEAR_KEY = "lin_api_0123456789abcdef"


@dataclass
class Recorded:
    requests: list[dict[str, Any]] = field(default_factory=list)


def jira(recorded: Recorded) -> Starlette:
    """Jira Cloud: `POST /rest/api/3/issue`, `GET /rest/api/3/myself`, basic auth."""

    def authorised(request: Request) -> bool:
        expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def unauthorised() -> JSONResponse:
        # Jira answers a bad API token with 401 and a plain message list.
        return JSONResponse(
            {"errorMessages": ["You are not authenticated."], "errors": {}}, status_code=401
        )

    async def create_issue(request: Request) -> JSONResponse:
        if not authorised(request):
            return unauthorised()
        body = await request.json()
        recorded.requests.append({"path": request.url.path, "body": body})
        fields = body.get("fields", {})
        if not fields.get("summary"):
            return JSONResponse(
                {
                    "errorMessages": [],
                    "errors": {"summary": "You must specify a summary of the issue."},
                },
                status_code=400,
            )
        if fields.get("project", {}).get("key") != "OPS":
            return JSONResponse(
                {"errorMessages": [], "errors": {"project": "valid project is required"}},
                status_code=400,
            )
        base = str(request.base_url).rstrip("/")
        n = len(recorded.requests)
        return JSONResponse(
            {
                "id": str(10000 + n),
                "key": f"OPS-{n}",
                "self": f"{base}/rest/api/3/issue/{10000 + n}",
            },
            status_code=201,
        )

    async def myself(request: Request) -> JSONResponse:
        if not authorised(request):
            return unauthorised()
        return JSONResponse(
            {
                "accountId": "5b10ac8d82e05b22cc7d4ef5",
                "emailAddress": JIRA_EMAIL,
                "displayName": "Jira Bot",
            }
        )

    return Starlette(
        routes=[
            Route("/rest/api/3/issue", create_issue, methods=["POST"]),
            Route("/rest/api/3/myself", myself, methods=["GET"]),
        ]
    )


def linear(recorded: Recorded) -> Starlette:
    """Linear: one GraphQL endpoint; a personal API key as the bare Authorization header."""

    async def graphql(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != LINEAR_KEY:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Authentication required, not authenticated",
                            "extensions": {
                                "type": "authentication error",
                                "code": "AUTHENTICATION_ERROR",
                            },
                        }
                    ]
                },
                status_code=400,
            )
        body = json.loads(await request.body())
        recorded.requests.append(body)
        query = body.get("query", "")
        if "viewer" in query:
            return JSONResponse({"data": {"viewer": {"id": "u-1", "name": "Lin Bot"}}})
        if "issueCreate" in query:
            data = body["variables"]["input"]
            if data.get("teamId") != "team-eng":
                return JSONResponse(
                    {
                        "errors": [
                            {
                                "message": "Entity not found: Team",
                                "extensions": {"type": "invalid input", "code": "INPUT_ERROR"},
                            }
                        ],
                        "data": None,
                    }
                )
            n = len(recorded.requests)
            return JSONResponse(
                {
                    "data": {
                        "issueCreate": {
                            "success": True,
                            "issue": {
                                "id": f"9cfb482a-81e3-4154-b5b9-2c805e70a02{n}",
                                "identifier": f"ENG-{n}",
                                "url": f"https://linear.app/acme/issue/ENG-{n}/title",
                            },
                        }
                    }
                }
            )
        return JSONResponse({"errors": [{"message": "unknown query"}]}, status_code=400)

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
