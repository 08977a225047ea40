"""Calls to outside systems through a connection: Jira Cloud REST v3, Linear GraphQL, OAuth2.

OAuth2 grants and their token cache are in `app.connections.oauth2`.

Every URL is checked with `app.netguard` right before the call (it was checked when saved,
but a name may resolve elsewhere by now). No redirects are followed; answers are bounded.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.config import Settings
from app.connections import oauth2
from app.connections.models import (
    BasicConfig,
    ConnectionTest,
    HmacConfig,
    JiraConfig,
    LinearConfig,
    OAuth2Config,
)
from app.connections.pinning import pinned
from app.errors import Conflict
from app.netguard import IPAddress, check_url

TIMEOUT = httpx.Timeout(10.0)
LINEAR_ISSUE_CREATE = """
mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { id identifier url } }
}
"""
LINEAR_VIEWER = "query { viewer { id name } }"


class ProviderFailed(Conflict):
    """The outside system refused or could not be reached (409 naming its answer)."""


async def check(settings: Settings, url: str, field: str) -> list[IPAddress]:
    """Refuse URLs PageFree must not call (plain http only where private targets are allowed)."""
    schemes = ("https", "http") if settings.allow_private_targets else ("https",)
    return await check_url(
        url, field=field, schemes=schemes, allow_private=settings.allow_private_targets
    )


def _excerpt(response: httpx.Response) -> str:
    return response.text[:300].replace("\n", " ")


async def _send(
    settings: Settings,
    field: str,
    request: httpx.Request,
    what: str,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    addresses = await check(settings, str(request.url), field)
    # Connect to the address just checked, not to a second DNS answer (rebinding).
    target, host, extensions = pinned(str(request.url), addresses)
    request.url = httpx.URL(target)
    request.headers.update(host)
    request.extensions.update(extensions)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            return await client.send(request, auth=auth)
    except httpx.HTTPError as exc:
        raise ProviderFailed(f"{what} is unreachable: {type(exc).__name__}") from None


def adf(text: str) -> dict[str, Any]:
    """Return plain text as an Atlassian Document Format document (one paragraph per line)."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines()
        if line.strip()
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _jira_base(cfg: JiraConfig) -> str:
    return str(cfg.base_url).rstrip("/")


async def jira_create_issue(
    settings: Settings,
    cfg: JiraConfig,
    *,
    project_key: str,
    issue_type: str,
    summary: str,
    description: str,
) -> tuple[str, str]:
    """Create a Jira Cloud issue (REST v3, basic auth e-mail + API token); return key and URL."""
    base = _jira_base(cfg)
    fields: dict[str, Any] = {
        "project": {"key": project_key},
        "issuetype": {"name": issue_type},
        "summary": summary[:255],
        "description": adf(description),
    }
    request = httpx.Request(
        "POST",
        f"{base}/rest/api/3/issue",
        json={"fields": fields},
        headers={"Accept": "application/json"},
    )
    auth = httpx.BasicAuth(cfg.email, cfg.api_token)
    response = await _send(settings, "config.base_url", request, "Jira", auth)
    if response.status_code != 201:
        raise ProviderFailed(f"Jira answered {response.status_code}: {_excerpt(response)}")
    key = str(response.json().get("key", ""))
    if not key:
        raise ProviderFailed("Jira answered without an issue key")
    return key, f"{base}/browse/{key}"


async def linear_create_issue(
    settings: Settings, cfg: LinearConfig, *, team_id: str, title: str, description: str
) -> tuple[str, str]:
    """Create a Linear issue with the `issueCreate` mutation; return identifier and URL."""
    answer = await _linear(
        settings,
        cfg,
        LINEAR_ISSUE_CREATE,
        {"input": {"teamId": team_id, "title": title, "description": description}},
    )
    created = (answer.get("data") or {}).get("issueCreate") or {}
    issue = created.get("issue") or {}
    if not created.get("success") or not issue.get("url"):
        raise ProviderFailed("Linear did not create the issue")
    return str(issue.get("identifier") or issue.get("id")), str(issue["url"])


async def _linear(
    settings: Settings, cfg: LinearConfig, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    # Personal API keys go as they are; OAuth access tokens would carry "Bearer ".
    request = httpx.Request(
        "POST",
        str(cfg.api_url),
        json={"query": query, "variables": variables},
        headers={"Authorization": cfg.api_key, "Content-Type": "application/json"},
    )
    response = await _send(settings, "config.api_url", request, "Linear")
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        raise ProviderFailed(
            f"Linear answered {response.status_code}: {_excerpt(response)}"
        ) from None
    errors = answer.get("errors") or []
    if response.status_code != 200 or errors:
        message = "; ".join(str(e.get("message", "")) for e in errors) or _excerpt(response)
        raise ProviderFailed(f"Linear answered {response.status_code}: {message[:300]}")
    return answer


async def test_connection(settings: Settings, cfg: Any) -> ConnectionTest:
    """Try the connection's credentials where the provider has a harmless call for it."""
    try:
        if isinstance(cfg, JiraConfig):
            request = httpx.Request(
                "GET",
                f"{_jira_base(cfg)}/rest/api/3/myself",
                headers={"Accept": "application/json"},
            )
            auth = httpx.BasicAuth(cfg.email, cfg.api_token)
            response = await _send(settings, "config.base_url", request, "Jira", auth)
            if response.status_code != 200:
                return ConnectionTest(ok=False, detail=f"Jira answered {response.status_code}")
            who = response.json().get("displayName") or response.json().get("emailAddress")
            return ConnectionTest(ok=True, detail=f"signed in to Jira as {who}")
        if isinstance(cfg, LinearConfig):
            answer = await _linear(settings, cfg, LINEAR_VIEWER, {})
            viewer = (answer.get("data") or {}).get("viewer") or {}
            return ConnectionTest(ok=True, detail=f"signed in to Linear as {viewer.get('name')}")
        if isinstance(cfg, OAuth2Config):
            # The same grant a webhook step makes (RFC 6749 §4.4), not cached: a real check.
            try:
                token = await oauth2.fetch_token(settings, cfg)
            except oauth2.TokenFailure as exc:
                return ConnectionTest(ok=False, detail=exc.message)
            lifetime = f", valid {token.expires_in:g} s" if token.expires_in is not None else ""
            return ConnectionTest(
                ok=True, detail=f"the token endpoint issued a Bearer token{lifetime}"
            )
    except ProviderFailed as exc:
        return ConnectionTest(ok=False, detail=exc.detail)
    if isinstance(cfg, HmacConfig):
        return ConnectionTest(
            ok=True,
            detail="an HMAC secret is stored; there is nothing to reach: it signs webhook "
            "steps' calls (X-PageFree-Signature) when they run",
        )
    assert isinstance(cfg, BasicConfig)
    return ConnectionTest(
        ok=True,
        detail=f"basic credentials for {cfg.username!r} are stored; there is nothing to reach: "
        "the webhook step's target checks them when it runs",
    )
