"""A stand-in for the Slack Web API on 127.0.0.1, speaking Slack's wire format.

The real slack_sdk client talks to it through `base_url` (SLACK_API_URL). It records every
call (method, arguments, token) and answers in Slack's JSON shape; `response_url` posts
(answers to slash commands) are recorded under the method name "response_url".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class SlackStandIn:
    """Records calls; `users` answers users.info; `down` makes chat.* calls fail (503)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    down: bool = False
    # When given, chat.* calls hang (as in a Slack incident) until the event is set.
    hold: asyncio.Event | None = None
    held: tuple[str, ...] = ("chat.",)  # the methods `hold` holds (by prefix)
    taken_names: set[str] = field(default_factory=set)
    refuse: dict[str, str] = field(default_factory=dict)  # channel -> Slack error for chat.*
    base: str = ""
    _seq: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"{self.base}/respond/{key}"

    def add_user(self, user_id: str, email: str, **extra: Any) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": email.split("@")[0],
            "deleted": False,
            "is_bot": False,
            "is_email_confirmed": True,
            "profile": {"email": email, "real_name": email.split("@")[0]},
            **extra,
        }

    def to(self, method: str) -> list[Call]:
        """Return the calls of one method, in order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[Call]:
        """Wait until `method` was called at least `count` times; return those calls."""
        deadline = time.monotonic() + timeout
        while len(self.to(method)) < count:
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"{method} x{count} not called within {timeout}s: {seen}")
            await asyncio.sleep(0.02)
        return self.to(method)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or args.pop("token", None)
        call = Call(method, args, token)
        self.calls.append(call)
        if token != BOT_TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.hold is not None and method.startswith(self.held):
            await self.hold.wait()
        if method.startswith("chat.") and str(args.get("channel")) in self.refuse:
            return web.json_response({"ok": False, "error": self.refuse[str(args["channel"])]})
        if self.down and method.startswith("chat."):
            return web.json_response({"ok": False, "error": "fatal_error"}, status=503)
        call.answer = self._answer(method, args)
        return web.json_response(call.answer)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "pagefree",
                "team_id": "T0001",
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method == "users.info":
            member = self.users.get(str(args.get("user")))
            if member is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": member}
        if method == "chat.postMessage":
            self._seq += 1
            ts = f"1795300000.{self._seq:06d}"
            # Posting to a user id opens (or reuses) the app's IM channel with them.
            channel = str(args["channel"])
            channel = "D" + channel[1:] if channel.startswith(("U", "W")) else channel
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"type": "message", "text": args.get("text"), "ts": ts},
            }
        if method == "conversations.create":
            name = str(args["name"])
            if name in self.taken_names:
                return {"ok": False, "error": "name_taken"}
            self.taken_names.add(name)
            return {"ok": True, "channel": {"id": f"CINC{len(self.taken_names)}", "name": name}}
        if method == "conversations.invite":
            return {"ok": True, "channel": {"id": args["channel"]}}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": args["channel"],
                "ts": args["ts"],
                "text": args.get("text"),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1795300099.000001"}
        if method == "views.open":
            view = args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": {"id": f"V{len(self.calls):04d}", **view}}
        return {"ok": False, "error": "unknown_method"}

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", await request.json(), None))
        return web.Response(text="ok")


def sign(body: str, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    """Return the headers Slack sends with a request body: timestamp and v0 signature."""
    ts = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def block_actions_body(payload: dict[str, Any]) -> str:
    """Return an interactivity request body: the payload JSON, form-encoded as `payload`."""
    return urlencode({"payload": json.dumps(payload)})


def view_submission_payload(
    view: dict[str, Any], values: dict[str, Any], *, user: str
) -> dict[str, Any]:
    """Return the payload Slack posts when `user` submits a modal with these state values."""
    return {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy-verification-token",
        "trigger_id": "123.456.def",
        "view": {
            "id": view.get("id", "V0001"),
            "team_id": "T0001",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view.get("private_metadata", ""),
            "blocks": view.get("blocks", []),
            "state": {"values": values},
            "hash": "1795300000.abcdef",
        },
        "response_urls": [],
    }


def slash_command_body(text: str, *, user_id: str, response_url: str) -> str:
    """Return the form body Slack posts for `/oncall <text>`."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C0OPS",
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/oncall",
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "123.456.abc",
        }
    )
