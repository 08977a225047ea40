"""OpenID Connect single sign-on (authorization code flow with PKCE, via Authlib)."""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

import structlog
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.deps import SessionDep, SettingsDep
from app.identity import service as identity
from app.identity.models import User
from app.problems import Problem
from app.web import auth
from app.web.render import WebRoute, error_page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
log = structlog.get_logger("pagefree.web.oidc")

# The flow's state, nonce and PKCE verifier live in a short-lived HTTP-only cookie between the
# redirect to the provider and the callback; the callback checks `state` against it.
FLOW_COOKIE = "pf_oidc"
FLOW_SECONDS = 600


def _client(request: Request, settings: Settings) -> StarletteOAuth2App:
    """Return the app's OIDC client (created once; it caches discovery and keys)."""
    client = getattr(request.app.state, "oidc_client", None)
    if client is None:
        if not settings.oidc_enabled:
            raise Problem(404, "Not found", "single sign-on is not configured")
        oauth = OAuth()
        secret = settings.oidc_client_secret
        client = oauth.register(
            "oidc",
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=(settings.oidc_issuer or "").rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
        )
        request.app.state.oidc_client = client
    return client


def _redirect_uri(settings: Settings) -> str:
    return f"{settings.base_url}/login/oidc/callback"


def _sso_failed(detail: str) -> Problem:
    return Problem(401, "Single sign-on failed", detail, type_="/problems/sso")


@router.get("/login/oidc")
async def start(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """Send the browser to the identity provider."""
    client = _client(request, settings)
    try:
        flow = await client.create_authorization_url(_redirect_uri(settings))
    except Exception as exc:  # the provider's discovery document is unreachable or broken
        log.warning("oidc discovery failed", error=type(exc).__name__)
        raise Problem(
            503, "Single sign-on unavailable", "the identity provider did not answer"
        ) from exc
    data = {
        "state": flow["state"],
        "nonce": flow.get("nonce"),
        "verifier": flow.get("code_verifier"),
        "next": auth.safe_next(next),
    }
    response = see_other(flow["url"])
    response.set_cookie(
        FLOW_COOKIE,
        base64.urlsafe_b64encode(json.dumps(data).encode()).decode(),
        max_age=FLOW_SECONDS,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",  # the provider's redirect back is a cross-site top-level navigation
        path="/login/oidc",
    )
    return response


def _flow(request: Request) -> dict[str, Any]:
    raw = request.cookies.get(FLOW_COOKIE)
    if not raw:
        raise _sso_failed("the sign-in took too long or cookies are blocked; try again")
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        raise _sso_failed("the sign-in state is damaged; try again") from None
    if not isinstance(data, dict):
        raise _sso_failed("the sign-in state is damaged; try again")
    return data


async def _account_of(session: AsyncSession, subject: str, email: str) -> User | None:
    """Return the user this provider identity signs in as, binding `sub` at the first sign-in.

    Matching by e-mail alone lets anyone who gets an address at the provider take over the
    account that has it (nOAuth); once bound, only the same `sub` signs in as the user.
    """
    bound = await session.scalar(select(User).where(col(User.oidc_subject) == subject))
    if bound is not None:
        return bound
    user = await identity.get_user_by_email(session=session, email=email)
    if user is None:
        return None
    if user.oidc_subject is not None:
        log.warning("oidc subject mismatch", user_id=str(user.id))
        raise _sso_failed("this PageFree account is bound to another identity; ask an admin")
    user.oidc_subject = subject
    await audit.record(
        session=session,
        actor=Actor(type="user", id=user.id, via="web"),
        action="user.oidc_bind",
        entity_type="user",
        entity_id=user.id,
        after={"oidc_subject": subject[:255]},
    )
    return user


@router.get("/login/oidc/callback")
async def callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """Finish sign-in: check state, swap the code for tokens, verify the ID token."""
    if error:
        raise _sso_failed(f"the identity provider answered: {error[:100]}")
    flow = _flow(request)
    if not code or not state or not hmac.compare_digest(str(flow.get("state")), state):
        raise _sso_failed("the answer does not belong to this sign-in; try again")
    client = _client(request, settings)
    try:
        token = await client.fetch_access_token(
            redirect_uri=_redirect_uri(settings), code=code, code_verifier=flow.get("verifier")
        )
        claims = await client.parse_id_token(token, nonce=flow.get("nonce"))
    except Exception as exc:  # any failure of the exchange or of the token's checks
        log.warning("oidc callback failed", error=type(exc).__name__)
        raise _sso_failed("the identity provider's answer could not be verified") from exc
    email = claims.get("email") if claims else None
    subject = str(claims.get("sub") or "") if claims else ""
    verified = claims.get("email_verified") is True if claims else False
    if not email or not 0 < len(subject) <= 255 or not (verified or settings.oidc_trust_email):
        raise _sso_failed("the identity provider did not give a verified e-mail address")
    user = await _account_of(session, subject, str(email))
    if user is None:
        await audit.record(
            session=session,
            actor=Actor.system(via="web"),
            action="web_session.failed",
            entity_type="user",
            entity_id="unknown",
            after={"email": str(email).lower()[:320], "method": "oidc"},
        )
        # Answered, not raised, so that the audit event of the refused sign-in is kept.
        return error_page(
            request,
            403,
            "No PageFree account",
            f"there is no PageFree user with the e-mail address {email}; ask an admin",
        )
    await auth.end_session(session=session, raw=request.cookies.get(auth.SESSION_COOKIE))
    raw, _ = await auth.start_session(session=session, settings=settings, user=user, method="oidc")
    response = see_other(auth.safe_next(flow.get("next")))
    auth.set_session_cookie(response, settings, raw)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response
