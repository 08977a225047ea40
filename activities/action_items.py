"""The action-item reminder activity: tell the assignee by Slack DM or e-mail, once per due date."""

from __future__ import annotations

import asyncio
from html import escape

from sqlalchemy import select
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity.models import User
from app.notify.channels import Channels, DeliveryError
from app.notify.models import ContactMethod, ContactType
from app.postmortems.models import ActionItem, ActionItemStatus, Postmortem
from workflows.action_item_types import RemindIn


class ActionItemActivities:
    """Reminders through the channel registry."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings, channels: Channels):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.channels = channels

    async def _address(self, user: User, kind: ContactType) -> str | None:
        async with self.sessionmaker() as session:
            address = await session.scalar(
                select(col(ContactMethod.address))
                .where(
                    col(ContactMethod.user_id) == user.id,
                    col(ContactMethod.type) == kind.value,
                    col(ContactMethod.verified).is_(True),
                )
                .order_by(col(ContactMethod.created_at))
                .limit(1)
            )
        if address:
            return str(address)
        return user.slack_user_id if kind == ContactType.slack else user.email

    @activity.defn
    async def remind_action_item(self, inp: RemindIn) -> str:
        """Remind the assignee of an overdue item; return how (or why not)."""
        async with self.sessionmaker() as session:
            item = await session.get(ActionItem, inp.action_item_id)
            if item is None or item.due_at != inp.due_at:
                # Not yet committed by the API, or changed since: retried, then given up.
                raise ApplicationError("the action item is not (yet) as signalled", type="Stale")
            if item.status == ActionItemStatus.completed.value:
                return "completed"
            if item.reminded_at is not None and item.reminded_at >= inp.due_at:
                return "already reminded"
            user = await session.get(User, item.assignee_id)
            pm = await session.get(Postmortem, item.postmortem_id)
            assert user is not None and pm is not None
            title, pm_title = item.title, pm.title
        link = f"{self.settings.base_url}/postmortems/{pm.id}"
        text = f"Action item overdue: {title} (due {item.due_date}, from “{pm_title}”). {link}"
        channel = await self._send(user, title, text)
        async with self.sessionmaker() as session:
            row = await session.get(ActionItem, inp.action_item_id)
            if row is not None:
                row.reminded_at = utcnow()
                session.add(row)
                await session.commit()
        return channel

    async def _send(self, user: User, title: str, text: str) -> str:
        slack_id = await self._address(user, ContactType.slack) if self.channels.slack else None
        try:
            if self.channels.slack and slack_id:
                await asyncio.to_thread(self.channels.slack.post, target=slack_id, text=text)
                return "slack"
            email = await self._address(user, ContactType.email)
            if self.channels.email and email:
                await asyncio.to_thread(
                    self.channels.email.send_email,
                    to=email,
                    subject=f"[PageFree] Action item overdue: {title[:120]}",
                    text=text,
                    html=f"<p>{escape(text)}</p>",
                )
                return "email"
        except DeliveryError as exc:
            raise ApplicationError(
                str(exc), type="DeliveryError", non_retryable=exc.permanent
            ) from exc
        activity.logger.warning("no channel to remind user %s of an action item", user.id)
        return "no channel"
