"""Sign-in with e-mail and password (the break-glass path), and sign-out."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse

from app.audit import service as audit
from app.audit.models import Actor
from app.deps import SessionDep, SettingsDep
from app.identity import service as identity
from app.ingest.ratelimit import Rate, RateLimiter
from app.problems import Problem
from app.web import auth
from app.web.render import WebRoute, page, see_other

# Password guessing: a burst of 10 tries per e-mail address from one client address, then one
# every 30 s; per client address 60, then one a second. Keyed on e-mail and client together so
# that nobody can lock a user out from elsewhere (behind a proxy, uvicorn must be told to trust
# its X-Forwarded-For: FORWARDED_ALLOW_IPS, docs/deployment.md). Counted by every API process
# together through Redis when REDIS_URL is set (else in each process); a Redis outage falls
# back to in-process counts.
PER_EMAIL = Rate(per_second=1 / 30, burst=10)
PER_CLIENT = Rate(per_second=1.0, burst=60)
LIMIT_PREFIX = "pagefree:login:"


def limiter_lifespan(
    attr: str, prefix: str
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A router lifespan keeping a limiter at `app.state.<attr>`, counting under `prefix` (in
    Redis when REDIS_URL is set); its Redis pool is closed on the way out."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = RateLimiter(app.state.settings.redis_url, prefix=prefix)
        setattr(app.state, attr, limiter)
        try:
            yield
        finally:
            await limiter.close()

    return lifespan


def client_of(request: Request) -> str:
    """The client's address as limits count it (behind a proxy: FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


# The sign-in limiter lives with the app.
lifespan = limiter_lifespan("login_limiter", LIMIT_PREFIX)


router = APIRouter(route_class=WebRoute, include_in_schema=False, lifespan=lifespan)


async def _limited(request: Request, email: str) -> float:
    """Seconds to wait before this sign-in may be tried, or 0."""
    limiter: RateLimiter = request.app.state.login_limiter
    client = client_of(request)
    # The address is hashed: Redis keys are no place for e-mail addresses.
    who = hashlib.sha256(f"{email}\n{client}".encode()).hexdigest()[:32]
    wait = await limiter.hit("email", who, PER_EMAIL)
    return max(wait, await limiter.hit("client", client, PER_CLIENT))


# Verifying against a fixed hash when the e-mail is unknown keeps both answers equally slow.
_DUMMY_HASH = identity.hash_password("not-a-real-password-just-for-timing")


def _login_page(
    request: Request,
    next_path: str,
    error: str | None = None,
    status_code: int = 200,
    email: str = "",
) -> HTMLResponse:
    """The sign-in form; a refused one keeps the e-mail address typed (never the password)."""
    token = auth.new_token()
    response = page(
        request,
        "login.html",
        None,
        status_code=status_code,
        login_csrf=token,
        next=next_path,
        error=error,
        email=email,
    )
    settings = request.app.state.settings
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, session: SessionDep, settings: SettingsDep, next: str | None = None
) -> Response:
    """Show the sign-in form (or go on if already signed in)."""
    found = await auth.lookup(
        session=session, settings=settings, raw=request.cookies.get(auth.SESSION_COOKIE)
    )
    if found is not None:
        return see_other(auth.safe_next(next))
    return _login_page(request, auth.safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the e-mail and password; start a session on success."""
    expected = request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise Problem(
            403,
            "Forbidden",
            "the sign-in form has expired; reload the page and try again",
            type_="/problems/csrf",
        )
    wait = await _limited(request, email.strip().lower())
    if wait > 0:
        refused = _login_page(
            request,
            auth.safe_next(next),
            f"Too many sign-in attempts; try again in {int(wait) + 1} seconds.",
            status_code=429,
            email=email,
        )
        refused.headers["Retry-After"] = str(int(wait) + 1)
        return refused
    user = await identity.get_user_by_email(session=session, email=email.strip())
    # Unknown and single-sign-on-only accounts are checked against a dummy hash: every answer
    # costs one argon2 verification (no timing difference), in a thread (not on the loop).
    stored = user.password_hash if user is not None else None
    ok = await asyncio.to_thread(identity.verify_password, stored or _DUMMY_HASH, password)
    if user is None or stored is None or not ok:
        await audit.record(
            session=session,
            actor=Actor.system(via="web"),
            action="web_session.failed",
            entity_type="user",
            entity_id=user.id if user else "unknown",
            after={"email": email.strip().lower()[:320]},
        )
        return _login_page(
            request,
            auth.safe_next(next),
            "Wrong e-mail address or password.",
            status_code=401,
            email=email,
        )
    if settings.oidc_enabled and not user.break_glass:
        # The identity provider decides who signs in; passwords are for break-glass accounts.
        return _login_page(
            request,
            auth.safe_next(next),
            f"Sign in with {settings.oidc_provider_name}: passwords are for break-glass "
            "accounts only.",
            status_code=403,
            email=email,
        )
    # A new id at every sign-in (no session fixation); the browser's old session ends.
    await auth.end_session(session=session, raw=request.cookies.get(auth.SESSION_COOKIE))
    raw, _ = await auth.start_session(
        session=session, settings=settings, user=user, method="password"
    )
    response = see_other(auth.safe_next(next))
    auth.set_session_cookie(response, settings, raw)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(viewer: auth.WebViewer, session: SessionDep, settings: SettingsDep) -> Response:
    """End the session and clear what this browser cached of the app."""
    await session.delete(viewer.session)
    await audit.record(
        session=session,
        actor=viewer.actor,
        action="web_session.end",
        entity_type="user",
        entity_id=viewer.user.id,
    )
    response = see_other("/login")
    auth.clear_session_cookie(response, settings)
    # The offline copy of the incident list must not outlive the session.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
