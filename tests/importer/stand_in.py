"""A local stand-in for PagerDuty's REST API v2: token auth, offset pagination with `more`,
`include[]`, one 429 on demand, and a 401 for any other key. Shapes as PagerDuty documents."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE_CAP = 2  # smaller than the client asks for, so every list spans several pages


def ref(kind: str, id_: str, summary: str = "") -> dict[str, Any]:
    return {
        "id": id_,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"https://api.pagerduty.com/{kind}s/{id_}",
    }


@dataclass
class Account:
    users: list[dict[str, Any]] = field(default_factory=list)
    contact_methods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notification_rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    teams: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    overrides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    policies: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    integrations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    oncalls: list[dict[str, Any]] = field(default_factory=list)


class StandIn:
    def __init__(self, account: Account, key: str, tls: ssl.SSLContext) -> None:
        self.account, self.key = account, key
        self.requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = []
        self.rate_limit_once: set[str] = set()  # paths answered 429 once
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # PagerDuty's client speaks only https.
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                stand_in.requests.append(("GET", parts.path, query, dict(self.headers)))
                if self.headers.get("Authorization") != f"Token token={stand_in.key}":
                    return self._send(401, {"error": {"message": "Unauthorized", "code": 2006}})
                if parts.path in stand_in.rate_limit_once:
                    stand_in.rate_limit_once.discard(parts.path)
                    return self._send(
                        429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
                    )
                answer = stand_in.answer(parts.path, query)
                if answer is None:
                    return self._send(404, {"error": {"message": "Not Found", "code": 2100}})
                self._send(200, answer)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    # --- PagerDuty's answers -----------------------------------------------------------------

    def answer(self, path: str, q: dict[str, list[str]]) -> dict[str, Any] | None:
        a = self.account
        includes = set(q.get("include[]", []))
        teams = set(q.get("team_ids[]", []))

        def in_team(obj: dict[str, Any]) -> bool:
            return not teams or any(t["id"] in teams for t in obj.get("teams", []))

        if path == "/users":
            rows = [self._user(u, includes) for u in a.users if in_team(u)]
            return self._page("users", rows, q)
        if path == "/teams":
            return self._page("teams", a.teams, q)
        if path.startswith("/teams/") and path.endswith("/members"):
            return self._page("members", a.members.get(path.split("/")[2], []), q)
        if path == "/schedules":
            rows = [
                {k: v for k, v in s.items() if k != "schedule_layers"}
                for s in a.schedules
                if in_team(s)
            ]
            return self._page("schedules", rows, q)
        if path.startswith("/schedules/") and path.endswith("/overrides"):
            sid = path.split("/")[2]
            return {"overrides": a.overrides.get(sid, [])}
        if path.startswith("/schedules/"):
            found = [s for s in a.schedules if s["id"] == path.split("/")[2]]
            return {"schedule": found[0]} if found else None
        if path == "/escalation_policies":
            return self._page("escalation_policies", [p for p in a.policies if in_team(p)], q)
        if path == "/oncalls":
            wanted = set(q.get("escalation_policy_ids[]", []))
            rows = [o for o in a.oncalls if o["escalation_policy"]["id"] in wanted]
            return self._page("oncalls", rows, q)
        if path == "/services":
            rows = [self._service(s, includes) for s in a.services if in_team(s)]
            return self._page("services", rows, q)
        return None

    def _user(self, u: dict[str, Any], includes: set[str]) -> dict[str, Any]:
        cms = self.account.contact_methods.get(u["id"], [])
        rules = self.account.notification_rules.get(u["id"], [])
        return {
            **u,
            "contact_methods": cms
            if "contact_methods" in includes
            else [ref("contact_method", c["id"], c.get("label", "")) for c in cms],
            "notification_rules": rules
            if "notification_rules" in includes
            else [ref("notification_rule", r["id"]) for r in rules],
        }

    def _service(self, s: dict[str, Any], includes: set[str]) -> dict[str, Any]:
        ints = self.account.integrations.get(s["id"], [])
        return {
            **s,
            "integrations": ints
            if "integrations" in includes
            else [ref("integration", i["id"], i["name"]) for i in ints],
        }

    def _page(
        self, name: str, rows: list[dict[str, Any]], q: dict[str, list[str]]
    ) -> dict[str, Any]:
        offset = int(q.get("offset", ["0"])[0])
        limit = min(int(q.get("limit", ["25"])[0]), PAGE_CAP)
        chunk = rows[offset : offset + limit]
        return {
            name: chunk,
            "limit": limit,
            "offset": offset,
            "total": None,
            "more": offset + limit < len(rows),
        }
