"""Inputs and outputs of the status-page workflows, and their pure timing rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

ADVANCE_MAINTENANCE = "advance_maintenance"
ANNOUNCE_MAINTENANCE = "announce_maintenance"


class MaintenanceInput(BaseModel):
    maintenance_id: str
    page_id: str
    scheduled_for: datetime
    scheduled_until: datetime
    remind_before: timedelta | None = None


class AdvanceMaintenance(BaseModel):
    maintenance_id: str
    to: str  # in_progress | completed


class MaintenanceAnnouncement(BaseModel):
    maintenance_id: str
    kind: str  # reminder | started | completed


class Step(BaseModel):
    """One timer of a maintenance: wait until `at`, then do `action`."""

    at: datetime
    action: str  # remind | start | complete


def maintenance_steps(inp: MaintenanceInput, now: datetime) -> list[Step]:
    """Return the steps still ahead at `now`, in order; a start or end in the past runs at once.

    The reminder is dropped when its moment has passed (a reminder after the start would be
    noise); start and completion always run, so a worker that was down catches up.
    """
    steps: list[Step] = []
    if inp.remind_before is not None:
        remind_at = inp.scheduled_for - inp.remind_before
        if remind_at > now:
            steps.append(Step(at=remind_at, action="remind"))
    steps.append(Step(at=inp.scheduled_for, action="start"))
    steps.append(Step(at=inp.scheduled_until, action="complete"))
    return steps


# --- the page workflow: recompute on signals, announce component changes once they held ------

SYNC_PAGE = "sync_page"
ANNOUNCE_COMPONENTS = "announce_components"
SERVICES_CHANGED = "services_changed"
SAFETY_RECOMPUTE = timedelta(seconds=60)


class PendingChange(BaseModel):
    """A component seen in a new status since `since`, not yet announced."""

    status: str
    since: datetime


class StatusPageInput(BaseModel):
    page_id: str
    debounce: timedelta = timedelta(minutes=2)
    # Carried across continue-as-new: what subscribers were last told, and changes on hold.
    announced: dict[str, str] | None = None
    pending: dict[str, PendingChange] = {}
    incident_ids: list[str] = []


class SyncPage(BaseModel):
    page_id: str
    incident_ids: list[str]


class PageObserved(BaseModel):
    exists: bool
    statuses: dict[str, str] = {}  # component id → status now


class ComponentChange(BaseModel):
    component_id: str
    status: str


class AnnounceComponents(BaseModel):
    page_id: str
    key: str
    changes: list[ComponentChange]


def debounce(
    announced: dict[str, str],
    pending: dict[str, PendingChange],
    observed: dict[str, str],
    now: datetime,
    period: timedelta,
) -> tuple[dict[str, PendingChange], dict[str, str]]:
    """Return (changes still on hold, changes to announce now).

    A component's change is announced once it has held for `period`; one that goes back to
    the announced status before then is dropped (a flap nobody hears of). Components not
    announced yet (new ones) are not changes: the caller takes them as the baseline.
    """
    held: dict[str, PendingChange] = {}
    due: dict[str, str] = {}
    for cid, status in observed.items():
        told = announced.get(cid)
        if told is None or status == told:
            continue
        change = pending.get(cid)
        if change is None or change.status != status:
            change = PendingChange(status=status, since=now)
        if now - change.since >= period:
            due[cid] = status
        else:
            held[cid] = change
    return held, due


def next_wake(pending: dict[str, PendingChange], now: datetime, period: timedelta) -> timedelta:
    """Return how long to sleep: until the first change on hold is due, at most the safety net."""
    waits = [c.since + period - now for c in pending.values()]
    return max(timedelta(0), min([SAFETY_RECOMPUTE, *waits]))


# --- delivering an announcement to its subscribers -----------------------------------------

PLAN_DELIVERIES = "plan_deliveries"
SEND_DELIVERIES = "send_deliveries"


class DeliverInput(BaseModel):
    announcement_id: str


class DeliveryBatch(BaseModel):
    sent: int
    failed: int
    more_due: bool
    next_retry_at: datetime | None = None


# --- partners: magic-link e-mails and the audit trail's retention --------------------------

SEND_PARTNER_LINK = "send_partner_link"
PURGE_PARTNER_AUDIT = "purge_partner_audit"
PURGE_EVERY = timedelta(days=1)


class PartnerLinkInput(BaseModel):
    login_id: str


class RetentionInput(BaseModel):
    rounds: int = 0
