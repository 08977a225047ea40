"""Public reads of status pages: HTML, Statuspage v2 JSON and an Atom feed; rate limited."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.config import Settings
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.errors import Invalid, NotFound, RateLimited
from app.ingest.ratelimit import Rate, RateLimiter
from app.statuspages import partners, snapshot, subscribers, v2
from app.statuspages import service as pages
from app.statuspages.models import PublicSubscribe, StatusPage, Visibility
from app.statuspages.render import env
from app.web import auth as web_auth

router = APIRouter(tags=["status pages (public)"])

# Readers may cache a public page this long: well inside the 60 s promise of freshness.
PUBLIC_CACHE = "public, max-age=15, stale-while-revalidate=15"
PRIVATE_CACHE = "private, no-store"
# The page loads only our stylesheet: no scripts at all, no frames, forms only to us.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _limiter(request: Request, settings: Settings) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "status_limiter", None)
    if limiter is None:
        limiter = RateLimiter(settings.redis_url, prefix="pagefree:status-rl:")
        request.app.state.status_limiter = limiter
    return limiter


async def _limit(request: Request, settings: Settings) -> None:
    client = request.client.host if request.client else "unknown"
    rate = Rate(per_second=settings.status_rate_per_second, burst=settings.status_rate_burst)
    wait = await _limiter(request, settings).hit("status", client, rate)
    if wait > 0:
        raise RateLimited("too many requests for status pages", retry_after=int(wait) + 1)


async def _may_read(
    request: Request, session: SessionDep, settings: Settings, page: StatusPage
) -> bool:
    """Public pages: anyone. Private: signed-in staff, or a partner granted the page (audited)."""
    if page.visibility == Visibility.public:
        return True
    staff = await web_auth.lookup(
        session=session, settings=settings, raw=request.cookies.get(web_auth.SESSION_COOKIE)
    )
    if staff is not None:
        return True
    partner = await partners.partner_of(session=session, raw=request.cookies.get(partners.COOKIE))
    if partner is None or page.id not in partner.status_page_ids:
        return False
    client = request.client.host if request.client else "unknown"
    await partners.record_view(
        session=session, partner=partner, page=page, path=request.url.path, client=client
    )
    return True


async def readable(
    request: Request, session: SessionDep, settings: Settings, slug: str
) -> snapshot.Snapshot:
    """Return what this reader may see of the page, or NotFound (a private page is not told)."""
    await _limit(request, settings)
    page = await pages.get_by_slug(session=session, slug=slug)
    if not await _may_read(request, session, settings, page):
        raise NotFound(f"there is no status page {slug!r}")
    return await snapshot.load(session, page, base_url=settings.base_url, now=utcnow())


def _cached(
    request: Request, s: snapshot.Snapshot, body: bytes, media_type: str, **headers: str
) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    cache = PUBLIC_CACHE if s.page.visibility == Visibility.public else PRIVATE_CACHE
    common = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff", **headers}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers=common)


def _json(request: Request, s: snapshot.Snapshot, data: dict[str, Any]) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return _cached(
        request,
        s,
        body,
        "application/json",
        **{"Access-Control-Allow-Origin": "*"} if s.page.visibility == Visibility.public else {},
    )


def render_page(s: snapshot.Snapshot, *, preview: bool = False) -> str:
    """Return the public HTML of a snapshot."""
    return env.get_template("page.html").render(
        s=s,
        st=s.status,
        components=v2.components(s),
        base=f"/status/{s.page.slug}",
        preview=preview,
    )


@router.get("/status/{slug}", response_class=HTMLResponse)
async def status_page(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str
) -> Response:
    """The public status page: server-rendered, no JavaScript, cacheable."""
    try:
        s = await readable(request, session, settings, slug)
    except NotFound:
        # The same answer for an unknown slug and a private page: existence is not told.
        body = env.get_template("not_found.html").render(slug=slug)
        return HTMLResponse(body, status_code=404, headers={"Content-Security-Policy": PAGE_CSP})
    html = render_page(s).encode()
    return _cached(
        request,
        s,
        html,
        "text/html; charset=utf-8",
        **{"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "no-referrer"},
    )


@router.get("/status/{slug}/history.atom")
async def history_atom(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str
) -> Response:
    """An Atom feed of the page's incidents and maintenances, newest first."""
    s = await readable(request, session, settings, slug)
    entries = sorted(
        s.incidents + s.maintenances,
        key=lambda i: i.updated_at or i.created_at or s.now,
        reverse=True,
    )
    body = env.get_template("history.atom").render(s=s, entries=entries).encode()
    return _cached(request, s, body, "application/atom+xml; charset=utf-8")


def _v2(path: str, build: Callable[[snapshot.Snapshot], dict[str, Any]], doc: str) -> None:
    async def endpoint(
        request: Request, session: SessionDep, settings: SettingsDep, slug: str
    ) -> Response:
        s = await readable(request, session, settings, slug)
        return _json(request, s, build(s))

    endpoint.__doc__ = doc
    router.add_api_route(
        f"/status/{{slug}}/api/v2/{path}", endpoint, methods=["GET"], name=f"status_v2_{path}"
    )


_v2(
    "summary.json",
    v2.summary_json,
    "Statuspage v2 summary: page, components, incidents, maintenances, status.",
)
_v2("status.json", v2.status_json, "Statuspage v2 status: the page indicator and its description.")
_v2("components.json", v2.components_json, "Statuspage v2 components.")
_v2("incidents.json", v2.incidents_json, "Statuspage v2 incidents: the 50 most recent.")
_v2(
    "incidents/unresolved.json",
    lambda s: v2.incidents_json(s, unresolved=True),
    "Statuspage v2 unresolved incidents.",
)
_v2(
    "scheduled-maintenances.json",
    v2.maintenances_json,
    "Statuspage v2 scheduled maintenances: the 50 most recent.",
)
_v2(
    "scheduled-maintenances/upcoming.json",
    lambda s: v2.maintenances_json(s, "upcoming"),
    "Statuspage v2 upcoming maintenances.",
)
_v2(
    "scheduled-maintenances/active.json",
    lambda s: v2.maintenances_json(s, "active"),
    "Statuspage v2 maintenances in progress.",
)


# --- subscribing: double opt-in by e-mail; links are consumed by POST only ------------------


def _message(
    title: str,
    text: str,
    *,
    status: int = 200,
    action: str | None = None,
    button: str = "",
    back: str | None = None,
) -> HTMLResponse:
    body = env.get_template("message.html").render(
        title=title, text=text, action=action, button=button, back=back
    )
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Content-Security-Policy": PAGE_CSP,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


async def _subscribe_input(request: Request) -> PublicSubscribe:
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("application/json"):
            return PublicSubscribe.model_validate(await request.json())
        form = await request.form()
        return PublicSubscribe(
            email=str(form.get("email", "")),
            component_ids=[UUID(str(v)) for v in form.getlist("component_ids")],
        )
    except (ValidationError, ValueError) as exc:
        raise Invalid(
            "send an e-mail address", errors=[{"field": "email", "message": str(exc)[:200]}]
        ) from None


@router.post("/status/{slug}/subscribe", status_code=202)
async def subscribe(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str
) -> Response:
    """Ask for updates by e-mail: a confirmation link is sent; nothing more until it is used."""
    s = await readable(request, session, settings, slug)
    wanted = await _subscribe_input(request)
    await subscribers.subscribe_email(
        session=session, page=s.page, email=wanted.email, component_ids=wanted.component_ids
    )
    text = "If the address is right, a confirmation link is on its way. Follow it to subscribe."
    if "text/html" in request.headers.get("accept", ""):
        return _message("Check your inbox", text, status=202, back=f"/status/{slug}")
    return Response(
        json.dumps({"status": "pending_confirmation", "message": text}),
        status_code=202,
        media_type="application/json",
    )


@router.get("/status/{slug}/subscribe/confirm/{token}", response_class=HTMLResponse)
async def confirm_page(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str, token: str
) -> Response:
    """Show the confirm button; mail scanners that fetch the link confirm nothing."""
    await _limit(request, settings)
    return _message(
        "Confirm your subscription",
        "Press the button to get this page's updates by e-mail.",
        action=f"/status/{slug}/subscribe/confirm/{token}",
        button="Confirm subscription",
    )


@router.post("/status/{slug}/subscribe/confirm/{token}", response_class=HTMLResponse)
async def confirm(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str, token: str
) -> Response:
    """Confirm the subscription (the link is single use)."""
    await _limit(request, settings)
    try:
        page = await pages.get_by_slug(session=session, slug=slug)
        await subscribers.confirm(session=session, page=page, token=token)
    except NotFound:
        return _message("Link not valid", "This link is not valid any more.", status=404)
    return _message(
        "Subscribed", "You will get this page's updates by e-mail.", back=f"/status/{slug}"
    )


@router.get("/status/{slug}/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_page(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str, token: str
) -> Response:
    """Show the unsubscribe button."""
    await _limit(request, settings)
    return _message(
        "Unsubscribe",
        "Press the button to stop getting this page's updates.",
        action=f"/status/{slug}/unsubscribe/{token}",
        button="Unsubscribe",
    )


@router.post("/status/{slug}/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str, token: str
) -> Response:
    """Unsubscribe: the button, or a mail client's RFC 8058 one-click POST."""
    await _limit(request, settings)
    try:
        page = await pages.get_by_slug(session=session, slug=slug)
        await subscribers.unsubscribe(session=session, page=page, token=token)
    except NotFound:
        return _message("Link not valid", "This link is not valid any more.", status=404)
    return _message("Unsubscribed", "You will get no more updates from this page.")


# --- partners: magic-link sign-in to private pages -----------------------------------------

LOGIN_PER_CLIENT = Rate(per_second=1 / 30, burst=10)
LOGIN_PER_ADDRESS = Rate(per_second=1 / 120, burst=3)
LOGIN_ANSWER = "If this address may read this page, a sign-in link is on its way (15 minutes)."


async def _login_input(request: Request) -> str:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            body = None
        value = body.get("email") if isinstance(body, dict) else None
    else:
        value = (await request.form()).get("email")
    if not isinstance(value, str) or not value.strip():
        raise Invalid("send an e-mail address", errors=[{"field": "email", "message": "required"}])
    return value


@router.post("/status/{slug}/login", status_code=202)
async def partner_login(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str
) -> Response:
    """Ask for a sign-in link; the answer is the same whether the address or page is known."""
    address = await _login_input(request)
    client = request.client.host if request.client else "unknown"
    limiter = _limiter(request, settings)
    key = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    for scope, ident, rate in (
        ("partner-login-client", client, LOGIN_PER_CLIENT),
        ("partner-login-address", key, LOGIN_PER_ADDRESS),
    ):
        wait = await limiter.hit(scope, ident, rate)
        if wait > 0:
            raise RateLimited("too many sign-in requests", retry_after=int(wait) + 1)
    try:
        page = await pages.get_by_slug(session=session, slug=slug)
        await partners.request_login(session=session, page=page, email=address)
    except NotFound:
        pass
    except Invalid:
        pass  # an unusable address gets the same answer: nothing is sent either way
    if "text/html" in request.headers.get("accept", ""):
        return _message("Check your inbox", LOGIN_ANSWER, status=202)
    return Response(
        json.dumps({"status": "accepted", "message": LOGIN_ANSWER}),
        status_code=202,
        media_type="application/json",
    )


@router.get("/partner/login/{token}", response_class=HTMLResponse)
async def partner_link_page(request: Request, settings: SettingsDep, token: str) -> Response:
    """Show the sign-in button: prefetching the link signs nobody in."""
    await _limit(request, settings)
    return _message(
        "Sign in",
        "Press the button to sign in to the status page.",
        action=f"/partner/login/{token}",
        button="Sign in",
    )


@router.post("/partner/login/{token}")
async def partner_sign_in(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> Response:
    """Consume the link (single use, 15 minutes) and set the partner session cookie."""
    await _limit(request, settings)
    client = request.client.host if request.client else "unknown"
    try:
        raw, page = await partners.sign_in(session=session, token=token, client=client)
    except NotFound:
        return _message(
            "Link not valid", "This link is not valid any more; ask for a new one.", status=404
        )
    response = Response(status_code=303, headers={"Location": f"/status/{page.slug}"})
    response.set_cookie(
        partners.COOKIE,
        raw,
        max_age=int(partners.SESSION_TTL.total_seconds()),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path=partners.COOKIE_PATH,
    )
    return response
