"""Calls to outside systems through a connection: Jira Cloud REST v3, Linear GraphQL, OAuth2.

OAuth2 grants and their token cache are in `app.connections.oauth2`.

Every URL is checked with `app.netguard` right before the call (it was checked when saved,
but a name may resolve elsewhere by now). No redirects are followed; answers are bounded.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import NAMESPACE_URL, uuid5

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
LINEAR_ISSUE = "query Issue($id: String!) { issue(id: $id) { id identifier url } }"
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


def jira_label(idempotency_key: str) -> str:
    """Return the label that marks the Jira issue a step's key created (`pagefree-<hash>`)."""
    return "pagefree-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def linear_issue_id(idempotency_key: str) -> str:
    """Return the client-chosen Linear issue id (a UUID) for a step's idempotency key."""
    return str(uuid5(NAMESPACE_URL, f"pagefree:linear-issue:{idempotency_key}"))


async def jira_create_issue(
    settings: Settings,
    cfg: JiraConfig,
    *,
    project_key: str,
    issue_type: str,
    summary: str,
    description: str,
    idempotency_key: str | None = None,
    retry: bool = False,
) -> tuple[str, str]:
    """Create a Jira Cloud issue (REST v3, basic auth e-mail + API token); return key and URL.

    Jira ignores `Idempotency-Key` (sent anyway), so with a key the issue also gets the label
    `jira_label(key)`, and a `retry` (a later attempt of the same step) first searches for an
    issue with that label (`POST /rest/api/3/search/jql`) and returns it instead of creating
    a second one: an attempt that timed out after Jira created the issue is not repeated.
    """
    base = _jira_base(cfg)
    auth = httpx.BasicAuth(cfg.email, cfg.api_token)
    headers = {"Accept": "application/json"}
    fields: dict[str, Any] = {
        "project": {"key": project_key},
        "issuetype": {"name": issue_type},
        "summary": summary[:255],
        "description": adf(description),
    }
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
        label = jira_label(idempotency_key)
        fields["labels"] = [label]
        if retry:
            found = await _jira_find(settings, base, auth, label)
            if found is not None:
                return found, f"{base}/browse/{found}"
    request = httpx.Request(
        "POST", f"{base}/rest/api/3/issue", json={"fields": fields}, headers=headers
    )
    response = await _send(settings, "config.base_url", request, "Jira", auth)
    if response.status_code != 201:
        raise ProviderFailed(f"Jira answered {response.status_code}: {_excerpt(response)}")
    key = str(response.json().get("key", ""))
    if not key:
        raise ProviderFailed("Jira answered without an issue key")
    return key, f"{base}/browse/{key}"


async def _jira_find(settings: Settings, base: str, auth: httpx.Auth, label: str) -> str | None:
    """Return the key of the issue labelled `label`, if any (enhanced JQL search)."""
    request = httpx.Request(
        "POST",
        f"{base}/rest/api/3/search/jql",
        json={
            "jql": f'labels = "{label}" ORDER BY created ASC',
            "fields": ["key"],
            "maxResults": 1,
        },
        headers={"Accept": "application/json"},
    )
    response = await _send(settings, "config.base_url", request, "Jira", auth)
    if response.status_code != 200:
        raise ProviderFailed(f"Jira answered {response.status_code}: {_excerpt(response)}")
    issues = response.json().get("issues") or []
    return str(issues[0]["key"]) if issues and issues[0].get("key") else None


async def linear_create_issue(
    settings: Settings,
    cfg: LinearConfig,
    *,
    team_id: str,
    title: str,
    description: str,
    idempotency_key: str | None = None,
) -> tuple[str, str]:
    """Create a Linear issue with the `issueCreate` mutation; return identifier and URL.

    With a key, the call carries `Idempotency-Key` and the issue a client-chosen id
    (`linear_issue_id(key)`, a UUID `IssueCreateInput.id` accepts). Linear refuses a second
    issue with an id it holds, so a retried create cannot make a duplicate; when the create
    is refused (or a retry cannot tell), the issue with that id is looked up and returned.
    """
    data: dict[str, Any] = {"teamId": team_id, "title": title, "description": description}
    headers: dict[str, str] = {}
    if idempotency_key is not None:
        data["id"] = linear_issue_id(idempotency_key)
        headers["Idempotency-Key"] = idempotency_key
    try:
        answer = await _linear(settings, cfg, LINEAR_ISSUE_CREATE, {"input": data}, headers)
    except ProviderFailed:
        if "id" not in data:
            raise
        existing = await _linear_issue(settings, cfg, data["id"], headers)
        if existing is None:
            raise
        return existing
    created = (answer.get("data") or {}).get("issueCreate") or {}
    issue = created.get("issue") or {}
    if not created.get("success") or not issue.get("url"):
        raise ProviderFailed("Linear did not create the issue")
    return str(issue.get("identifier") or issue.get("id")), str(issue["url"])


async def _linear_issue(
    settings: Settings, cfg: LinearConfig, issue_id: str, headers: dict[str, str]
) -> tuple[str, str] | None:
    """Return identifier and URL of the issue with `issue_id`, None if Linear has none."""
    try:
        answer = await _linear(settings, cfg, LINEAR_ISSUE, {"id": issue_id}, headers)
    except ProviderFailed:
        return None  # Linear answers an unknown id with an "Entity not found" error
    issue = (answer.get("data") or {}).get("issue") or {}
    if not issue.get("url"):
        return None
    return str(issue.get("identifier") or issue.get("id")), str(issue["url"])


async def _linear(
    settings: Settings,
    cfg: LinearConfig,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    # Personal API keys go as they are; OAuth access tokens would carry "Bearer ".
    request = httpx.Request(
        "POST",
        str(cfg.api_url),
        json={"query": query, "variables": variables},
        headers={
            "Authorization": cfg.api_key,
            "Content-Type": "application/json",
            **(headers or {}),
        },
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
