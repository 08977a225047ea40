"""Ingestion writes a trigger's row before it signals, so the workflow carries no payload;
if PostgreSQL cannot take the row, the alert goes whole as before (never lost)."""

from __future__ import annotations

from app.db import make_engine, make_sessionmaker
from app.incidents import service as incidents
from tests import incident_helpers as h
from tests.integration.conftest import _free_port
from workflows.incident_rules import split_stored
from workflows.incident_types import AlertRef


async def test_alerts_go_whole_when_their_rows_cannot_be_written() -> None:
    engine = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none")
    alert = h.alert(details={"raw": {"x": 1}})
    resolve = h.alert(action="resolve")
    sent = await incidents.stage_alerts(make_sessionmaker(engine), [alert, resolve])
    assert sent == [alert, resolve] and not sent[0].stored and sent[0].details
    await engine.dispose()


def test_stored_alerts_are_written_by_id_and_the_others_whole() -> None:
    whole = h.alert(details={"raw": {"x": 1}})
    stored = h.alert(alert_key="fp1", stored=True)
    assert split_stored([whole, stored]) == ([whole], [AlertRef(id=stored.id, alert_key="fp1")])
