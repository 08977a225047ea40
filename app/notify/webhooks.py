"""Replies to pages: Twilio SMS, voice keypresses and status callbacks; e-mail action links."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import parse_qsl
from uuid import UUID

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from app.db import utcnow
from app.deps import SessionDep, SettingsDep, TemporalDep
from app.errors import DomainError
from app.incidents.models import Incident
from app.notify import delivery, inbound, messages
from app.notify.links import BadLink, LinkClaims, read_link_token
from app.notify.replies import DIGITS, SMS_HELP, parse_sms
from app.problems import Problem

router = APIRouter(tags=["notifications"])
log = structlog.get_logger("pagefree.notify")
TWIML = "application/xml"

# Twilio's message and call statuses, as the delivery log counts them.
_STATUS = {
    "accepted": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "ringing": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "in-progress": "delivered",
    "answered": "delivered",
    "completed": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "busy": "failed",
    "no-answer": "failed",
    "canceled": "failed",
}


async def _twilio_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    """Return the callback's form fields after checking `X-Twilio-Signature` (else 403)."""
    token = settings.twilio_auth_token
    if token is None:
        raise Problem(503, "Twilio is not configured", "set TWILIO_AUTH_TOKEN")
    # Twilio posts application/x-www-form-urlencoded; parsed here (no multipart dependency).
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    # Twilio signs the URL it was given: our public URL, not the one behind a proxy.
    url = settings.base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not inbound.twilio_signature_ok(
        auth_token=token.get_secret_value(),
        url=url,
        params=form,
        signature=request.headers.get("x-twilio-signature", ""),
    ):
        raise Problem(
            403, "Forbidden", "bad or missing X-Twilio-Signature", type_="/problems/signature"
        )
    return form


def _twiml(body: str) -> Response:
    return Response(body, media_type=TWIML)


@router.post("/webhooks/twilio/sms")
async def twilio_sms(
    request: Request, session: SessionDep, settings: SettingsDep, client: TemporalDep
) -> Response:
    """Act on an SMS reply such as "ack 42" from a responder's verified number."""
    form = await _twilio_form(request, settings)
    reply = parse_sms(form.get("Body", ""))
    if reply is None:
        return _twiml(messages.twiml_message(SMS_HELP))
    user = await inbound.user_by_phone(session=session, number=form.get("From", ""))
    incident = await delivery.incident_by_number(session=session, number=reply.number)
    if user is None:
        return _twiml(messages.twiml_message("This number is not a verified PageFree number."))
    if incident is None:
        return _twiml(messages.twiml_message(f"There is no incident #{reply.number}."))
    try:
        view = await inbound.act_as(
            session=session,
            client=client,
            incident=incident,
            user_id=user.id,
            action=reply.action,
            via="sms",
        )
    except DomainError as exc:
        return _twiml(messages.twiml_message(f"#{reply.number}: {exc.detail}"))
    log.info("sms reply", action=reply.action, number=reply.number, user_id=str(user.id))
    return _twiml(messages.twiml_message(f"#{reply.number} is {view['status']}."))


@router.post("/webhooks/twilio/voice")
async def twilio_voice(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    incident: UUID,
    user: UUID,
) -> Response:
    """Act on the key pressed during a page call: 1 acknowledge, 2 resolve, 3 escalate."""
    form = await _twilio_form(request, settings)
    action = DIGITS.get(form.get("Digits", ""))
    if action is None:
        return _twiml(messages.twiml_say("Unknown key. Goodbye."))
    found = await session.get(Incident, incident)
    if found is None:
        return _twiml(messages.twiml_say("This incident no longer exists. Goodbye."))
    try:
        view = await inbound.act_as(
            session=session, client=client, incident=found, user_id=user, action=action, via="voice"
        )
    except DomainError as exc:
        return _twiml(messages.twiml_say(f"{exc.detail}. Goodbye."))
    return _twiml(messages.twiml_say(f"Incident {found.number} is now {view['status']}. Goodbye."))


@router.post("/webhooks/twilio/status", status_code=204)
async def twilio_status(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Apply Twilio's delivery report for a message or call to the delivery log."""
    form = await _twilio_form(request, settings)
    sid = form.get("MessageSid") or form.get("CallSid") or ""
    raw = form.get("MessageStatus") or form.get("CallStatus") or ""
    status = _STATUS.get(raw)
    if sid and status:
        code = form.get("ErrorCode")
        await delivery.record_provider_status(
            session=session,
            provider_id=sid,
            status=status,
            error=f"Twilio {raw}" + (f" (error {code})" if code else "")
            if status == "failed"
            else None,
            at=utcnow(),
        )
    return Response(status_code=204)


def _claims(token: str, settings: SettingsDep, now: datetime) -> LinkClaims:
    secret = settings.link_secret
    if secret is None:
        raise Problem(404, "Not found", "action links are not enabled", type_="/problems/not-found")
    try:
        return read_link_token(token, secret=secret.get_secret_value(), now=now)
    except BadLink as exc:
        expired = "expired" in str(exc)
        raise Problem(
            410 if expired else 403,
            "Gone" if expired else "Forbidden",
            str(exc),
            type_="/problems/link-expired" if expired else "/problems/link-invalid",
        ) from exc


@router.get("/ack/{token}", response_class=HTMLResponse)
async def action_link_page(token: str, settings: SettingsDep) -> HTMLResponse:
    """Show what the link will do, with a button that POSTs (mail scanners only GET)."""
    claims = _claims(token, settings, utcnow())
    verb = escape(claims.action.capitalize())
    return HTMLResponse(
        "<!doctype html><meta name=viewport content='width=device-width'>"
        f"<title>{verb} incident</title><form method=post>"
        f"<p>{verb} this incident?</p><button type=submit>{verb}</button></form>"
    )


@router.post("/ack/{token}", response_class=HTMLResponse)
async def action_link_act(
    token: str, session: SessionDep, settings: SettingsDep, client: TemporalDep
) -> HTMLResponse:
    """Use the link: act once, as the person it was sent to."""
    claims = _claims(token, settings, utcnow())
    incident_id, user_id = UUID(claims.incident_id), UUID(claims.user_id)
    if not await delivery.use_link(
        session=session,
        jti=claims.jti,
        incident_id=incident_id,
        user_id=user_id,
        action=claims.action,
    ):
        raise Problem(409, "Conflict", "this link was used already", type_="/problems/link-used")
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise Problem(404, "Not found", "the incident does not exist", type_="/problems/not-found")
    view = await inbound.act_as(
        session=session,
        client=client,
        incident=incident,
        user_id=user_id,
        action=claims.action,
        via=claims.via,
    )
    done = f"Incident #{incident.number} is {escape(view['status'])}."
    return HTMLResponse(f"<!doctype html><title>Done</title><p>{done}</p>")
