"""A stand-in runbook runner: verifies PageFree's signature the documented way, records calls."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.ingest.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

SECRET = "runner-secret-0123456789abcdef"


@dataclass
class Runner:
    """Answers with the statuses in `script` in turn (the last one repeated)."""

    script: list[int] = field(default_factory=lambda: [200])
    requests: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def run(request: Request) -> JSONResponse:
            body = await request.body()
            try:
                verify(
                    secrets=[SECRET],
                    timestamp=request.headers.get(TIMESTAMP_HEADER),
                    signature=request.headers.get(SIGNATURE_HEADER),
                    body=body,
                    now=time.time(),
                )
            except SignatureError as exc:
                self.rejected.append(str(exc))
                return JSONResponse({"error": str(exc)}, status_code=401)
            self.requests.append(
                {
                    "at": time.monotonic(),
                    "path": request.url.path,
                    "method": request.method,
                    "body": body.decode(),
                    "headers": dict(request.headers),
                }
            )
            status = self.script[min(len(self.requests), len(self.script)) - 1]
            return JSONResponse({"ran": len(self.requests), "status": status}, status_code=status)

        return Starlette(routes=[Route("/{path:path}", run, methods=["GET", "POST", "PUT"])])
