"""Local stand-ins speaking their wire formats: Jira Cloud (REST v3), Linear (GraphQL), an
OAuth2 token endpoint (RFC 6749 client credentials) and a webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.ingest import signing

JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-api-token-0123456789"
LINEAR_KEY = "lin_api_0123456789abcdef"


@dataclass
class Recorded:
    """What a Jira or Linear stand-in received, the issues it holds, how it misbehaves."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of every request, in order
    issues: list[dict[str, Any]] = field(default_factory=list)  # created, in order
    searches: list[dict[str, Any]] = field(default_factory=list)  # Jira JQL search bodies
    hang_first: float = 0.0  # create the first issue, then wait this long before answering


async def hang(recorded: Recorded) -> None:
    """After the first issue is created, stall (the caller's timeout fires: it cannot know)."""
    if recorded.hang_first and len(recorded.issues) == 1:
        await asyncio.sleep(recorded.hang_first)


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
        recorded.headers.append({k.lower(): v for k, v in request.headers.items()})
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
        recorded.issues.append(
            {"id": str(10000 + n), "key": f"OPS-{n}", "labels": fields.get("labels", [])}
        )
        await hang(recorded)
        return JSONResponse(
            {
                "id": str(10000 + n),
                "key": f"OPS-{n}",
                "self": f"{base}/rest/api/3/issue/{10000 + n}",
            },
            status_code=201,
        )

    async def search(request: Request) -> JSONResponse:
        """`POST /rest/api/3/search/jql` (the enhanced search): only `labels = "…"` queries."""
        if not authorised(request):
            return unauthorised()
        recorded.headers.append({k.lower(): v for k, v in request.headers.items()})
        body = await request.json()
        recorded.searches.append(body)
        match = re.fullmatch(r'labels = "([^"]+)"( ORDER BY created ASC)?', body.get("jql", ""))
        if match is None:
            return JSONResponse(
                {"errorMessages": ["Error in the JQL Query."], "errors": {}}, status_code=400
            )
        found = [i for i in recorded.issues if match.group(1) in i["labels"]]
        issues = [{"id": i["id"], "key": i["key"], "fields": {}} for i in found]
        return JSONResponse({"issues": issues[: int(body.get("maxResults", 50))]})

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
            Route("/rest/api/3/search/jql", search, methods=["POST"]),
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
        recorded.headers.append({k.lower(): v for k, v in request.headers.items()})
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
            if any(i["id"] == data.get("id") for i in recorded.issues):
                # A client-chosen id Linear holds already: refused (assumed wording; the
                # provider does not depend on it, it looks the id up after any refusal).
                return JSONResponse(
                    {
                        "errors": [
                            {
                                "message": "Argument Validation Error: id already exists",
                                "extensions": {"type": "invalid input", "code": "INPUT_ERROR"},
                            }
                        ],
                        "data": None,
                    }
                )
            n = len(recorded.requests)
            issue = {
                "id": data.get("id") or f"9cfb482a-81e3-4154-b5b9-2c805e70a02{n}",
                "identifier": f"ENG-{n}",
                "url": f"https://linear.app/acme/issue/ENG-{n}/title",
            }
            recorded.issues.append(issue)
            await hang(recorded)
            return JSONResponse({"data": {"issueCreate": {"success": True, "issue": issue}}})
        if "issue(id:" in query:
            wanted = body["variables"]["id"]
            for issue in recorded.issues:
                if wanted in (issue["id"], issue["identifier"]):
                    return JSONResponse({"data": {"issue": issue}})
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Entity not found: Issue",
                            "extensions": {"type": "invalid input", "code": "INPUT_ERROR"},
                        }
                    ],
                    "data": None,
                }
            )
        return JSONResponse({"errors": [{"message": "unknown query"}]}, status_code=400)

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


# --- OAuth2 token endpoint (RFC 6749 §4.4) and a webhook receiver ---------------------------

OAUTH_CLIENT_ID = "pagefree client"  # a space: the Basic pair is form-encoded (§2.3.1)
OAUTH_CLIENT_SECRET = "oauth-client-secret+0123456789%2F&="  # "+" and "%": form-encoded
BASIC_USER = "hook-user"
BASIC_PASSWORD = "basic-password-0123456789"
HMAC_SECRET = "hmac-secret-0123456789abcdef"


@dataclass
class TokenEndpoint:
    """State of the token stand-in: grants made, tokens valid now, answers to give."""

    expires_in: int | None = 3600
    delay: float = 0.0  # seconds before answering (lets concurrent callers pile up)
    fail_first: int = 0  # answer `fail_status` to this many grant requests first
    fail_status: int = 503
    grants: int = 0
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    forms: list[dict[str, str]] = field(default_factory=list)

    def revoke_all(self) -> None:
        """Invalidate every issued token (the receiver answers them 401)."""
        self.valid.clear()


def oauth2_token(state: TokenEndpoint) -> Starlette:
    """`POST /token`, grant_type=client_credentials, client auth by HTTP Basic or form."""

    def client_of(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            user, _, password = pair.partition(":")
            return unquote_plus(user), unquote_plus(password)
        if "client_id" in form:
            return form["client_id"], form.get("client_secret", "")
        return None

    async def token(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0] != (
            "application/x-www-form-urlencoded"
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        form = {k: str(v) for k, v in (await request.form()).items()}
        state.forms.append({k: v for k, v in form.items() if k != "client_secret"})
        if state.delay:
            await asyncio.sleep(state.delay)
        if state.fail_first > 0:
            state.fail_first -= 1
            return JSONResponse(
                {"error": "temporarily_unavailable"},
                status_code=state.fail_status,
                headers={"Retry-After": "7"} if state.fail_status == 429 else None,
            )
        if client_of(request, form) != (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="token"'},
            )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        state.grants += 1
        access = f"at-{state.grants}-{secrets.token_hex(8)}"
        state.issued.append(access)
        state.valid.add(access)
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        if state.expires_in is not None:
            answer["expires_in"] = state.expires_in
        if form.get("scope"):
            answer["scope"] = form["scope"]
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return Starlette(routes=[Route("/token", token, methods=["POST"])])


@dataclass
class Receiver:
    """State of the webhook receiver: what arrived, what it checks, what it answers."""

    expect: str | None = None  # "hmac" | "basic" | "bearer" | None
    tokens: TokenEndpoint | None = None  # for "bearer": which tokens are valid
    fail_first: int = 0  # answer `fail_status` to this many calls first
    fail_status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    echo: bool = False  # answer with the request's headers and body (redaction tests)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def authorised(self, headers: dict[str, str], body: bytes) -> bool:
        if self.expect == "hmac":
            try:
                signing.verify(
                    secrets=[HMAC_SECRET],
                    timestamp=headers.get("x-pagefree-timestamp"),
                    signature=headers.get("x-pagefree-signature"),
                    body=body,
                    now=time.time(),
                )
            except signing.SignatureError:
                return False
            return True
        if self.expect == "basic":
            pair = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
            return headers.get("authorization") == f"Basic {pair}"
        if self.expect == "bearer":
            given = headers.get("authorization", "")
            valid = self.tokens.valid if self.tokens is not None else set()
            return given.startswith("Bearer ") and given[7:] in valid
        return True


def webhook_receiver(state: Receiver) -> Starlette:
    """Any method on `/hook` (and `/redirect`, which answers 302): records every request."""

    async def hook(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        ok = state.authorised(headers, body)
        state.requests.append(
            {"method": request.method, "headers": headers, "body": body, "authorised": ok}
        )
        if state.delay:
            await asyncio.sleep(state.delay)
        if not ok:
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        if state.fail_first > 0:
            state.fail_first -= 1
            extra = {"Retry-After": state.retry_after} if state.retry_after else None
            answer: dict[str, Any] = {"error": f"answering {state.fail_status}"}
            if state.echo:
                answer |= {"headers": headers, "body": body.decode()}
            return JSONResponse(answer, status_code=state.fail_status, headers=extra)
        if state.echo:
            return JSONResponse({"headers": headers, "body": body.decode()}, status_code=200)
        return JSONResponse({"received": len(state.requests)}, status_code=202)

    async def redirect(request: Request) -> Response:
        state.requests.append({"method": request.method, "path": "/redirect"})
        return Response(status_code=302, headers={"Location": "/hook"})

    return Starlette(
        routes=[
            Route("/hook", hook, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/redirect", redirect, methods=["GET", "POST"]),
        ]
    )
