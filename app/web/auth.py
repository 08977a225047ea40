"""Web sign-in: server-side sessions behind an HTTP-only cookie, and CSRF tokens for forms."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.errors import Forbidden
from app.identity.models import Role, User
from app.problems import Problem
from app.web.models import WebSession

SESSION_COOKIE = "pf_session"
# Before sign-in there is no session to hold a CSRF token: a double-submit cookie guards the form.
LOGIN_CSRF_COOKIE = "pf_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_RANK = {Role.observer: 0, Role.responder: 1, Role.admin: 2}


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    """Return a fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


async def start_session(
    *, session: AsyncSession, settings: Settings, user: User, method: str
) -> tuple[str, WebSession]:
    """Create a browser session for `user`; return the cookie value and the row."""
    if user.deactivated_at is not None:
        raise Forbidden("this account is deactivated; ask an admin")
    raw = new_token()
    now = utcnow()
    # Sessions abandoned by closing the browser are swept here, one user at a time.
    await session.execute(
        delete(WebSession).where(
            col(WebSession.user_id) == user.id,
            (col(WebSession.expires_at) <= now) | (col(WebSession.idle_expires_at) <= now),
        )
    )
    row = WebSession(
        id_hash=_hash(raw),
        user_id=user.id,
        csrf_token=new_token(),
        method=method,
        last_seen_at=now,
        expires_at=now + settings.web_session_ttl,
        idle_expires_at=now + settings.web_idle_timeout,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=Actor(type="user", id=user.id, via="web"),
        action="web_session.create",
        entity_type="user",
        entity_id=user.id,
        after={"method": method},
    )
    return raw, row


async def end_session(*, session: AsyncSession, raw: str | None) -> None:
    """Delete the session behind a cookie value (sign-out); unknown values are ignored."""
    if raw:
        await session.execute(delete(WebSession).where(col(WebSession.id_hash) == _hash(raw)))


async def lookup(
    *, session: AsyncSession, settings: Settings, raw: str | None, now: datetime | None = None
) -> tuple[WebSession, User] | None:
    """Return the live session and its user for a cookie value, sliding the idle timeout."""
    if not raw:
        return None
    row = await session.get(WebSession, _hash(raw))
    now = now or utcnow()
    if row is None:
        return None
    if row.expires_at <= now or row.idle_expires_at <= now:
        await session.delete(row)
        return None
    user = await session.get(User, row.user_id)
    if user is None or user.deactivated_at is not None:
        return None
    # One write a minute at most: a page load must not always be a write.
    if row.last_seen_at is None or (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        row.idle_expires_at = min(row.expires_at, now + settings.web_idle_timeout)
    return row, user


def set_session_cookie(response: Response, settings: Settings, raw: str) -> None:
    """Attach the session cookie: HTTP-only, SameSite=Lax, Secure on https."""
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(settings.web_session_ttl.total_seconds()),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, secure=settings.secure_cookies, samesite="lax", path="/"
    )


class Viewer:
    """The signed-in person looking at a page, with their session's CSRF token."""

    def __init__(self, user: User, web_session: WebSession) -> None:
        self.user = user
        self.session = web_session

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def can(self, role: Role) -> bool:
        """Return whether the viewer has at least `role`."""
        return _RANK[Role(self.user.role)] >= _RANK[role]

    @property
    def can_act(self) -> bool:
        """Return whether the viewer may act on incidents (responders and admins)."""
        return self.can(Role.responder)

    @property
    def is_admin(self) -> bool:
        """Return whether the viewer may change configuration."""
        return self.can(Role.admin)

    @property
    def actor(self) -> Actor:
        return Actor(type="user", id=self.user.id, via="web")


class SignInRequired(Exception):
    """Raised when a page needs a signed-in viewer; the web UI redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def login_redirect_target(request: Request) -> str:
    """Return the login URL that comes back to this page after sign-in."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"


async def get_viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer:
    """Authenticate the request's session cookie; check CSRF on every unsafe method."""
    found = await lookup(
        session=session, settings=settings, raw=request.cookies.get(SESSION_COOKIE)
    )
    if found is None:
        await session.commit()  # keep the removal of an expired session
        raise SignInRequired(login_redirect_target(request))
    row, user = found
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await check_csrf(request, row.csrf_token)
    return Viewer(user, row)


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse an unsafe request whose CSRF token (form field or header) is missing or wrong."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, expected):
        raise Problem(
            403,
            "Forbidden",
            "the form has expired or did not come from this site; reload the page and try again",
            type_="/problems/csrf",
        )


def require(role: Role) -> Callable[[Viewer], Coroutine[Any, Any, Viewer]]:
    """Return a dependency that lets through viewers with at least `role`."""

    async def _check(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
        if not viewer.can(role):
            raise Problem(
                403, "Forbidden", f"this needs the {role.value} role", type_="/problems/forbidden"
            )
        return viewer

    return _check


WebViewer = Annotated[Viewer, Depends(get_viewer)]
WebResponder = Annotated[Viewer, Depends(require(Role.responder))]
WebAdmin = Annotated[Viewer, Depends(require(Role.admin))]


def safe_next(value: str | None) -> str:
    """Return a local path to go to after sign-in; anything else (other sites) becomes `/`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
