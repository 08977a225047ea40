"""Tests that deliver: SES (moto) and Slack stand-ins, providers configured, the feeder running."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from email.message import Message

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.statuspages.feeder import Feeder
from tests.notify.conftest import FROM_EMAIL, REGION, SLACK_TOKEN, aws, moto_server  # noqa: F401
from tests.notify.standins import SlackStandIn


@pytest.fixture
def slack() -> AsyncIterator[SlackStandIn]:
    stand_in = SlackStandIn(SLACK_TOKEN).start()
    yield stand_in  # type: ignore[misc]
    stand_in.stop()


@pytest.fixture
def settings(settings: Settings, aws: str, slack: SlackStandIn) -> Settings:  # noqa: F811
    """SES through moto, Slack through its stand-in, webhooks to local stand-ins allowed."""
    return settings.model_copy(
        update={
            "ses_from_address": FROM_EMAIL,
            "allow_private_targets": True,
            "slack_bot_token": SecretStr(SLACK_TOKEN),
            "slack_api_url": slack.url + "/",
        }
    )


@pytest.fixture
async def feeding(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    sessionmaker: SessionMaker,
    database_url: str,
) -> AsyncIterator[Feeder]:
    """The feeder running as in the worker: NOTIFYs start the delivery workflows."""
    feeder = Feeder(
        client=ts_env.client,
        settings=settings,
        sessionmaker=sessionmaker,
        database_url=database_url,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(feeder.run(stop))
    await asyncio.sleep(0.3)  # LISTENing
    yield feeder
    stop.set()
    await task


def mails_to(address: str) -> list[Message]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    raw = [m.raw_data for m in backend.sent_messages if address in getattr(m, "destinations", [])]
    return [email.message_from_string(r) for r in raw if isinstance(r, str)]


def header(message: Message, name: str) -> str:
    return "".join(str(message[name]).split())  # unfold
