"""Cap request bodies of the receivers that check a signature over the whole body.

Twilio's and Slack's signatures cover the full body, so their handlers read all of it before
they can tell a forged request from a real one: without a cap, anyone can make the API buffer
any amount. Here the body of such a path is read up to its limit before the route runs, and
anything larger is answered 413 without calling the route. (The alert receivers stream their
bodies against per-format limits themselves: app/ingest/receive.py.)
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KB = 1024
# Path prefix → largest body accepted. Twilio's callbacks are a few KB of form fields; Slack's
# interactivity payloads carry the message's blocks.
RECEIVER_LIMITS: tuple[tuple[str, int], ...] = (
    ("/webhooks/", 64 * KB),
    ("/slack/", 512 * KB),
    ("/ack/", 16 * KB),
)


class BodyLimit:
    """ASGI middleware: buffer a capped path's body up to its limit, else answer 413."""

    def __init__(self, app: ASGIApp, limits: tuple[tuple[str, int], ...] = RECEIVER_LIMITS) -> None:
        self.app = app
        self.limits = limits

    def _limit(self, path: str) -> int | None:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > limit:
                await _too_large(send, limit)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    problem = {
        "type": "/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"the body is larger than {limit // KB} KB",
    }
    body = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
