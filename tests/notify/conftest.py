"""Provider stand-ins for notification tests: moto's server for SES/SNS, local HTTP servers
for Twilio, Slack, Teams and a web-push service; Settings that point the real SDKs at them."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import Message, ses_backends
from moto.sns.models import sns_backends
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import Channels, build_channels
from tests.notify.standins import Request, SlackStandIn, StandIn, TeamsStandIn, TwilioStandIn
from workflows.registry import WORKFLOWS

REGION = "us-east-1"
FROM_EMAIL = "pagefree@example.com"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-auth-token"
SLACK_TOKEN = "xoxb-test-token"
LINK_SECRET = "link-secret-for-tests"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode: the real boto3 SES/SNS clients talk HTTP to it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3's own variables pointed at moto; the sender address verified in SES."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    boto3.client("ses").verify_email_identity(EmailAddress=FROM_EMAIL)
    return moto_server


def ses_sent(to: str) -> list[Any]:
    """Return the `SendEmail` messages moto's SES accepted for `to`.

    The backend is shared by the whole run: status pages' `SendRawEmail` messages (whose
    destinations are a plain list) may sit there too and are not these.
    """
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        m
        for m in backend.sent_messages
        if isinstance(m, Message) and to in m.destinations["ToAddresses"]
    ]


def sns_sms(number: str) -> list[str]:
    """Return the SMS texts moto's SNS accepted for `number`."""
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [text for (phone, text) in backend.sms_messages.values() if phone == number]


@dataclass
class PushSubscription:
    """A browser's push subscription: its keys decrypt what the push service received."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def info(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )  # type: ignore[no-any-return]


class PushService(StandIn):
    """A web-push service: POST /push/{id}; 201 Created, or 410 Gone for expired ids."""

    def __init__(self) -> None:
        super().__init__(self._handle)
        self.gone: set[str] = set()

    def _handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        sub_id = req.path.rsplit("/", 1)[-1]
        if sub_id in self.gone:
            return 410, {}, b"push subscription has expired"
        return 201, {"location": f"{self.url}/messages/{sub_id}"}, b""

    def subscription(self, sub_id: str) -> PushSubscription:
        return PushSubscription(
            ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{self.url}/push/{sub_id}"
        )


def vapid_keys() -> tuple[str, str]:
    """Return a VAPID key pair (private: base64url raw scalar, public: base64url point)."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw), b64url(public)


@dataclass
class Providers:
    twilio: TwilioStandIn
    slack: SlackStandIn
    teams: TeamsStandIn
    push: PushService
    vapid_public: str


@pytest.fixture
def providers() -> Iterator[Providers]:
    twilio = TwilioStandIn(TWILIO_SID, TWILIO_TOKEN).start()
    slack = SlackStandIn(SLACK_TOKEN).start()
    teams = TeamsStandIn().start()
    push = PushService().start()
    p = Providers(twilio, slack, teams, push, "")
    yield p
    for s in (twilio, slack, teams, push):
        s.stop()


@pytest.fixture
def notify_settings(settings: Settings, providers: Providers, aws: str) -> Settings:
    """The test settings with every provider configured and pointed at its stand-in."""
    private, public = vapid_keys()
    providers.vapid_public = public
    return settings.model_copy(
        update={
            "public_url": "https://pagefree.example.com",
            "ses_from_address": FROM_EMAIL,
            "sns_sms_enabled": True,
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": _secret(TWILIO_TOKEN),
            "twilio_from_number": "+15550001111",
            "twilio_api_url": providers.twilio.url,
            "slack_bot_token": _secret(SLACK_TOKEN),
            "slack_api_url": providers.slack.url + "/api/",
            "vapid_private_key": _secret(private),
            "vapid_public_key": public,
            "vapid_subject": "mailto:ops@example.com",
            "link_secret": _secret(LINK_SECRET),
            "allow_private_targets": True,  # the stand-ins listen on 127.0.0.1
        }
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def with_chat_channels(settings: Settings, providers: Providers) -> Settings:
    """The settings plus a Teams webhook and a Slack page channel (pages are announced)."""
    return settings.model_copy(
        update={
            "teams_webhook_url": _secret(providers.teams.url + "/webhook"),
            "slack_page_channel": "C0PAGES",
        }
    )


@pytest.fixture
def channels(notify_settings: Settings) -> Channels:
    return build_channels(notify_settings)


@pytest.fixture
async def notify_worker(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    channels: Channels,
) -> AsyncIterator[Worker]:
    """A worker whose activities send through the stand-ins."""
    async with Worker(
        ts_env.client,
        task_queue=notify_settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, notify_settings, channels),
    ) as w:
        yield w


@pytest.fixture
async def notify_api(
    notify_settings: Settings, database_url: str, ts_env: WorkflowEnvironment
) -> AsyncIterator[Any]:
    """An HTTP client on the API built with the stand-in providers and the test Temporal."""
    import httpx

    from api import create_app
    from app.temporal import LazyClient

    app = create_app(notify_settings, database_url=database_url)
    app.state.temporal = LazyClient(notify_settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
