"""My profile: name, time zone, password, API tokens, contact methods and notification rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, RateLimited
from app.identity import service as identity
from app.identity.models import ApiTokenCreate, ApiTokenCreated, UserUpdate
from app.notify import sendlimits
from app.notify import service as notify
from app.notify.models import (
    ContactMethod,
    ContactMethodCreate,
    ContactType,
    NotificationRuleCreate,
    Urgency,
)
from app.notify.verification import send_code
from app.problems import Problem, as_problem, problem_of
from app.web.auth import Viewer, WebViewer
from app.web.forms import errors_of, roll_back
from app.web.render import WebRoute, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# Push subscriptions are added by the browser itself (see app/web/push.py), not by this form.
FORM_TYPES = [
    (ContactType.email, "E-mail"),
    (ContactType.sms, "SMS"),
    (ContactType.voice, "Voice call"),
    (ContactType.slack, "Slack direct message"),
]
DONE = {
    "saved": "Profile saved.",
    "method-added": "Contact method added. Send it a code to verify it.",
    "code-sent": "Code sent. Enter it below to verify the contact method.",
    "verified": "Contact method verified: pages can reach you there.",
    "method-deleted": "Contact method deleted (with its rules).",
    "rule-added": "Notification rule added.",
    "rule-deleted": "Notification rule deleted.",
    "push-on": "Push notifications are on for this browser.",
    "push-off": "Push notifications are off for this browser.",
}


def describe(method: ContactMethod) -> str:
    """Return a contact method as people read it (never a push subscription's keys)."""
    if method.type == ContactType.push:
        where = method.label or "a browser"
        return f"Push to {where}"
    label = f" ({method.label})" if method.label else ""
    return f"{dict(FORM_TYPES).get(ContactType(method.type), method.type)} {method.address}{label}"


def push_key(request: Request) -> str | None:
    """Return the VAPID public key when web push is configured on this server, else None."""
    settings = request.app.state.settings
    channels = getattr(request.app.state, "channels", None)
    if settings.vapid_public_key and channels is not None and channels.push is not None:
        return str(settings.vapid_public_key)
    return None


async def _render(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    *,
    new_token: ApiTokenCreated | None = None,
    done: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    form: str = "",
    errors: list[dict[str, Any]] | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    tokens = await identity.list_tokens(session=session, user_id=viewer.user.id)
    methods = await notify.list_methods(session=session, user_id=viewer.user.id)
    rules = await notify.list_rules(session=session, user_id=viewer.user.id)
    return page(
        request,
        "profile.html",
        viewer,
        status_code=status_code,
        tokens=tokens,
        new_token=new_token,
        done=DONE.get(done or ""),
        error=error,
        # The refused form ("details", "token", "method" or "rule"), its field errors and
        # what was typed in it (never a password), shown at its fields.
        form=form,
        errors=errors or [],
        typed=typed or {},
        methods=methods,
        described={m.id: describe(m) for m in methods},
        rules=rules,
        form_types=FORM_TYPES,
        vapid_key=push_key(request),
    )


async def _refused(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    exc: Problem | DomainError | ValidationError,
    *,
    form: str = "",
    typed: dict[str, str] | None = None,
    loose_field: str = "",
) -> HTMLResponse:
    """Show the profile again with what was wrong, with the problem's status (never a 500).

    With `form`, the errors are shown at that form's fields (one naming no field at
    `loose_field`) and the form keeps `typed`.
    """
    status = 422 if isinstance(exc, ValidationError) else problem_of(exc).status
    if not form:
        if isinstance(exc, ValidationError):
            error = "; ".join(f"{e['field'] or 'input'}: {e['message']}" for e in errors_of(exc))
        else:
            shown = problem_of(exc)
            error = f"{shown.title}: {shown.detail}"
        return await _render(request, session, viewer, error=error, status_code=status)
    errors = [{**e, "field": e["field"] or loose_field} for e in errors_of(exc)]
    return await _render(
        request, session, viewer, status_code=status, form=form, errors=errors, typed=typed
    )


def _one_error(form: str, field: str, message: str, typed: dict[str, str]) -> dict[str, Any]:
    """`_render`'s arguments for a form refused for one field (422)."""
    return {
        "status_code": 422,
        "form": form,
        "errors": [{"field": field, "message": message}],
        "typed": typed,
    }


@router.get("/profile", response_class=HTMLResponse)
async def profile_page(
    request: Request, session: SessionDep, viewer: WebViewer, done: str | None = None
) -> Response:
    """Show my profile, API tokens, contact methods, rules and push."""
    return await _render(request, session, viewer, done=done)


@router.post("/profile")
async def update_profile(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebViewer,
    name: Annotated[str, Form(max_length=200)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    current_password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Change my name, time zone or password (a new one ends my other sessions)."""
    typed = {"name": name, "timezone": timezone}  # passwords are never shown again
    try:
        changes = UserUpdate(
            name=name.strip(),
            timezone=timezone.strip(),
            **(
                {"password": password, "current_password": current_password or None}
                if password
                else {}
            ),
        )
        await identity.update_user(
            session=session,
            user_id=viewer.user.id,
            user_in=changes,
            actor=viewer.actor,
            oidc_enabled=settings.oidc_enabled,
            keep_web_session=viewer.session.id_hash,
        )
    except (DomainError, ValidationError) as exc:
        await roll_back(session, viewer)
        return await _refused(
            request, session, viewer, exc, form="details", typed=typed, loose_field="password"
        )
    return see_other("/profile?done=saved")


@router.post("/profile/tokens", response_class=HTMLResponse)
async def create_token(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create an API token for me; its secret is shown this once."""
    try:
        token_in = ApiTokenCreate(name=name.strip())
    except ValidationError as exc:
        return await _refused(request, session, viewer, exc, form="token", typed={"name": name})
    created = await identity.create_token(
        session=session, user_id=viewer.user.id, token_in=token_in, actor=viewer.actor
    )
    return await _render(request, session, viewer, new_token=created)


@router.post("/profile/tokens/{token_id}/revoke")
async def revoke_token(session: SessionDep, viewer: WebViewer, token_id: UUID) -> Response:
    """Revoke one of my API tokens."""
    await identity.revoke_token(
        session=session, user_id=viewer.user.id, token_id=token_id, actor=viewer.actor
    )
    return see_other("/profile")


# --- contact methods ---------------------------------------------------------------------------


@router.post("/profile/contact-methods", response_class=HTMLResponse)
async def add_method(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    type: Annotated[str, Form(max_length=16)] = "",
    address: Annotated[str, Form(max_length=4000)] = "",
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add an unverified contact method of mine (e-mail, SMS, voice or Slack)."""
    typed = {"type": type, "address": address, "label": label}
    if type not in {t.value for t, _ in FORM_TYPES}:
        return await _render(
            request,
            session,
            viewer,
            **_one_error("method", "type", "choose one from the list", typed),
        )
    try:
        method_in = ContactMethodCreate(
            type=ContactType(type), address=address, label=label.strip() or None
        )
    except ValidationError as exc:
        # The address check is the model's own: an error naming no field is the address's.
        return await _refused(
            request, session, viewer, exc, form="method", typed=typed, loose_field="address"
        )
    await notify.create_method(
        session=session,
        user_id=viewer.user.id,
        method_in=method_in,
        may_preverify=False,
        actor=viewer.actor,
    )
    return see_other("/profile?done=method-added#methods")


@router.post("/profile/contact-methods/{method_id}/send-code", response_class=HTMLResponse)
async def send_method_code(
    request: Request, session: SessionDep, viewer: WebViewer, method_id: UUID
) -> Response:
    """Send a new verification code through the method's own channel."""
    try:
        # A savepoint: a code that could not be sent is not kept (nor audited as sent).
        async with session.begin_nested():
            method, code = await notify.new_verification_code(
                session=session,
                user_id=viewer.user.id,
                method_id=method_id,
                actor=viewer.actor,
                limiter=sendlimits.limiter_of(request.app),
            )
            await send_code(request.app.state.channels, method, code)
    except RateLimited as exc:
        refused = await _refused(request, session, viewer, as_problem(exc))
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except (Problem, DomainError) as exc:
        return await _refused(request, session, viewer, exc)
    return see_other("/profile?done=code-sent#methods")


@router.post("/profile/contact-methods/{method_id}/verify", response_class=HTMLResponse)
async def verify_method(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    method_id: UUID,
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Verify one of my contact methods with the code it received."""
    try:
        await notify.verify_method(
            session=session,
            user_id=viewer.user.id,
            method_id=method_id,
            code=code.strip(),
            actor=viewer.actor,
        )
    except (Problem, DomainError) as exc:
        # The page is an answer, so the session commits: the wrong try stays spent.
        return await _refused(request, session, viewer, exc)
    return see_other("/profile?done=verified#methods")


@router.post("/profile/contact-methods/{method_id}/delete")
async def delete_method(session: SessionDep, viewer: WebViewer, method_id: UUID) -> Response:
    """Delete one of my contact methods and the rules that use it."""
    await notify.delete_method(
        session=session, user_id=viewer.user.id, method_id=method_id, actor=viewer.actor
    )
    return see_other("/profile?done=method-deleted#methods")


# --- notification rules ------------------------------------------------------------------------


@router.post("/profile/notification-rules", response_class=HTMLResponse)
async def add_rule(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    contact_method_id: Annotated[str, Form(max_length=64)] = "",
    delay_minutes: Annotated[str, Form(max_length=16)] = "0",
    urgency: Annotated[str, Form(max_length=16)] = Urgency.high.value,
) -> Response:
    """Add a rule: reach me on a contact method some minutes after I am paged."""
    typed = {
        "contact_method_id": contact_method_id,
        "delay_minutes": delay_minutes,
        "urgency": urgency,
    }
    try:
        minutes = float(delay_minutes.strip() or "0")
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 1440:  # also refuses NaN
        return await _render(
            request,
            session,
            viewer,
            **_one_error("rule", "delay_minutes", "0 to 1440 minutes", typed),
        )
    try:
        rule_in = NotificationRuleCreate.model_validate(
            {
                "contact_method_id": contact_method_id,
                "delay": timedelta(minutes=minutes),
                "urgency": urgency,
            }
        )
        await notify.create_rule(
            session=session, user_id=viewer.user.id, rule_in=rule_in, actor=viewer.actor
        )
    except (Problem, DomainError, ValidationError) as exc:
        await roll_back(session, viewer)
        return await _refused(
            request, session, viewer, exc, form="rule", typed=typed, loose_field="delay_minutes"
        )
    return see_other("/profile?done=rule-added#rules")


@router.post("/profile/notification-rules/{rule_id}/delete")
async def delete_rule(session: SessionDep, viewer: WebViewer, rule_id: UUID) -> Response:
    """Delete one of my notification rules."""
    await notify.delete_rule(
        session=session, user_id=viewer.user.id, rule_id=rule_id, actor=viewer.actor
    )
    return see_other("/profile?done=rule-deleted#rules")
