"""The incident's Slack card names upstream services with open incidents, as its page does."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog import dependencies
from app.config import Settings
from app.db import SessionMaker
from app.slack.blocks import IncidentCard, incident_blocks
from tests import incident_helpers as h
from tests.catalog.test_dependencies import open_incident as write_open_incident
from tests.slack.conftest import Org, open_incident
from tests.slack_stand_in import SlackStandIn


def _card(status: str, causes: list[tuple[str, int, str]]) -> IncidentCard:
    return IncidentCard(
        incident_id="i",
        number=3,
        title="5xx",
        status=status,
        severity="critical",
        urgency="high",
        service_name="web",
        escalation_level=1,
        url="https://pf/incidents/i",
        temporal_url="https://t/i",
        probable_causes=causes,
    )


def _texts(blocks: list[dict[str, object]]) -> str:
    return repr(blocks)


def test_the_card_says_probably_caused_by_only_while_open() -> None:
    causes = [("db <primary>", 2, "https://pf/?service_id=d")]
    shown = _texts(incident_blocks(_card("triggered", causes)))
    assert "Probably caused by <https://pf/?service_id=d|db &lt;primary&gt;> (2 open)" in shown
    assert "Probably caused by" not in _texts(incident_blocks(_card("resolved", causes)))
    assert "Probably caused by" not in _texts(incident_blocks(_card("triggered", [])))


async def test_the_posted_card_names_the_upstream_service_with_an_open_incident(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    pol = await h.policy(sessionmaker, settings, [h.level(300, org.alice)])
    db = await h.service(sessionmaker, pol)
    async with sessionmaker() as session:
        await dependencies.add_dependency(
            session=session, service_id=org.service.id, depends_on=db.id, actor=h.SYSTEM
        )
        await session.commit()
    await write_open_incident(sessionmaker, db.id, "db-down")
    _, _, _ = await open_incident(ts_env, settings, org, slack_api)
    posted = slack_api.to("chat.postMessage")[0].args
    assert f"Probably caused by <{settings.base_url}/?service_id={db.id}|{db.name}> (1 open)" in (
        repr(posted["blocks"])
    )
