"""The bench's own users, escalation policies and services, created through the HTTP API."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class BenchService:
    """A service created for one figure, and the users its policy pages."""

    id: str
    routing_key: str
    name: str
    user_ids: list[str]


class Fixtures:
    """Creates bench objects with a run-unique suffix, so a configured stack can be reused."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.suffix = uuid.uuid4().hex[:6]

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # The API answers 201 before its transaction commits (see docs/benchmarks.md), so an
        # object just created may not be visible yet: retry "does not exist" for a moment.
        for _ in range(20):
            response = await self.client.post(f"/api/v1/{path}", json=body)
            if response.status_code != 422 or "does not exist" not in response.text:
                break
            await asyncio.sleep(0.1)
        if response.status_code != 201:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    async def user(self, label: str) -> str:
        """Create a responder; return its id."""
        body = {
            "name": f"Bench {label} {self.suffix}",
            "email": f"bench-{label}-{self.suffix}@example.com",
            "role": "responder",
        }
        return str((await self._post("users", body))["id"])

    async def service(self, tag: str, levels: list[tuple[str, str]]) -> BenchService:
        """Create a policy of (delay, user id) levels and a service on it."""
        policy = await self._post(
            "escalation-policies",
            {
                "name": f"bench {tag} {self.suffix}",
                "levels": [
                    {"delay": delay, "targets": [{"type": "user", "id": user}]}
                    for delay, user in levels
                ],
            },
        )
        routing_key = f"bench-{tag}-{self.suffix}"
        svc = await self._post(
            "services",
            {
                "name": f"Bench {tag} {self.suffix}",
                "escalation_policy_id": policy["id"],
                "routing_key": routing_key,
            },
        )
        return BenchService(
            id=str(svc["id"]),
            routing_key=routing_key,
            name=svc["name"],
            user_ids=[user for _, user in levels],
        )
