"""Local stand-ins that speak each provider's wire format, on 127.0.0.1 and a free port.

Twilio's REST API (Messages, Calls), Slack's Web API (chat.postMessage), a Teams incoming
webhook and a web-push service. Each records what it received; `fail` makes it answer errors.
SES and SNS are moto's server (see conftest.py).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Handler = Callable[["Request"], tuple[int, dict[str, str], bytes]]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandIn:
    """A threaded HTTP server that hands every request to `handler` and records it."""

    handler: Handler
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def start(self) -> StandIn:
        outer = self

        class _H(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                req = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                outer.requests.append(req)
                if outer.delay:
                    time.sleep(outer.delay)
                status, headers, body = outer.handler(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


class TwilioStandIn(StandIn):
    """Twilio REST API 2010-04-01: POST Accounts/{sid}/Messages.json and Calls.json."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__(self._handle)
        self.account_sid, self.auth_token = account_sid, auth_token
        # None: succeed; (status, code): answer Twilio's error JSON.
        self.fail: tuple[int, int] | None = None
        self.fail_times: int | None = None  # fail only this many times, then succeed

    def sent(self, kind: str = "Messages") -> list[dict[str, str]]:
        return [r.form for r in self.requests if r.path.endswith(f"/{kind}.json")]

    def _handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if self.fail and (self.fail_times is None or self.fail_times > 0):
            if self.fail_times is not None:
                self.fail_times -= 1
            status, code = self.fail
            return _json(
                status,
                {"code": code, "message": f"stand-in error {code}", "status": status,
                 "more_info": f"https://www.twilio.com/docs/errors/{code}"},
            )  # fmt: skip
        form = req.form
        kind = "SM" if req.path.endswith("/Messages.json") else "CA"
        sid = kind + uuid.uuid4().hex
        return _json(
            201,
            {"sid": sid, "account_sid": self.account_sid, "to": form.get("To"),
             "from": form.get("From"), "body": form.get("Body"), "status": "queued",
             "direction": "outbound-api", "api_version": "2010-04-01"},
        )  # fmt: skip


class SlackStandIn(StandIn):
    """Slack Web API: chat.postMessage (form or JSON body), bearer token checked."""

    def __init__(self, token: str) -> None:
        super().__init__(self._handle)
        self.token = token
        self.error: str | None = None

    def posts(self) -> list[dict[str, Any]]:
        out = []
        for r in self.requests:
            if r.headers.get("content-type", "").startswith("application/json"):
                out.append(r.json())
            else:
                out.append(r.form)
        return out

    def _handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return _json(200, {"ok": False, "error": "invalid_auth"})
        if self.error:
            return _json(200, {"ok": False, "error": self.error})
        return _json(200, {"ok": True, "channel": "D0123", "ts": f"{time.time():.6f}"})


class TeamsStandIn(StandIn):
    """A Teams incoming webhook: answers "1" to a valid message card post."""

    def __init__(self) -> None:
        super().__init__(lambda req: (200, {"content-type": "text/plain"}, b"1"))
