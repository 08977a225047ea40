"""A small stand-in OpenID Connect provider: discovery, authorize, token (PKCE), JWKS."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, HTTPException
from fastapi.responses import RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "pagefree-web"
CLIENT_SECRET = "s3cret-of-the-client"


@dataclass
class Provider:
    """What the provider will say: who signs in, and how (tests change these)."""

    issuer: str = ""
    email: str = "sso@example.com"
    email_verified: bool | None = True  # None: the claim is left out
    sub: str = "user-1"
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    # Sign with this key instead (a forged token), or put this nonce in the token.
    signing_key: RSAKey | None = None
    nonce_override: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build(p: Provider) -> FastAPI:
    """Return the provider's app."""
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": p.issuer,
            "authorization_endpoint": f"{p.issuer}/authorize",
            "token_endpoint": f"{p.issuer}/token",
            "jwks_uri": f"{p.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return KeySet([p.key]).as_dict(private=False)

    @app.get("/authorize")
    async def authorize(
        client_id: str,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
        code_challenge_method: str,
        response_type: str,
        scope: str,
    ) -> RedirectResponse:
        assert client_id == CLIENT_ID and response_type == "code" and "openid" in scope
        assert code_challenge_method == "S256"
        code = secrets.token_urlsafe(16)
        p.codes[code] = {"nonce": nonce, "challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    @app.post("/token")
    async def token(
        grant_type: Annotated[str, Form()],
        code: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()],
        authorization: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {expected}":
            raise HTTPException(401, "invalid_client")
        grant = p.codes.pop(code, None)
        if grant_type != "authorization_code" or grant is None:
            raise HTTPException(400, "invalid_grant")
        if grant["redirect_uri"] != redirect_uri or _challenge(code_verifier) != grant["challenge"]:
            raise HTTPException(400, "invalid_grant")
        now = int(time.time())
        claims = {
            "iss": p.issuer,
            "sub": p.sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": p.nonce_override or grant["nonce"],
            "email": p.email,
            "email_verified": p.email_verified,
        }
        if p.email_verified is None:
            del claims["email_verified"]
        key = p.signing_key or p.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return {
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    return app
