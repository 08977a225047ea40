"""With separate owner and app roles, the app role can append to the audit log but not
silence it: no dropping its append-only trigger, no updates or deletes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command

from app.audit.grants import APP_ROLE_ENV
from app.db import alembic_config


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def app_role(database_url: str) -> Iterator[str]:
    name = f"pf_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" NOLOGIN')
    yield name
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{name}"')
        conn.execute(f'DROP ROLE "{name}"')


def _as(conn: psycopg.Connection, role: str, sql: str) -> None:
    with conn.transaction():
        conn.execute(f'SET LOCAL ROLE "{role}"')
        conn.execute(sql)


def test_the_migrations_grant_the_app_role_insert_and_select_only_on_the_audit_log(
    database_url: str, app_role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run 0009 again, by the owner, with the app role named (a fresh install does the same).
    monkeypatch.setenv(APP_ROLE_ENV, app_role)
    cfg = alembic_config(database_url)
    command.downgrade(cfg, "0008")
    command.upgrade(cfg, "heads")
    insert = (
        "INSERT INTO audit_events (actor_type, action, entity_type, entity_id) "
        "VALUES ('system', 'test.event', 'test', 'x')"
    )
    with psycopg.connect(_libpq(database_url)) as conn:
        _as(conn, app_role, insert)
        _as(conn, app_role, "SELECT count(*) FROM audit_events")
        _as(conn, app_role, "UPDATE teams SET name = name")  # other tables: read and write
        for forbidden in (
            "DROP TRIGGER audit_events_append_only ON audit_events",
            "ALTER TABLE audit_events DISABLE TRIGGER ALL",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "UPDATE audit_events SET action = 'x'",
            "DELETE FROM alembic_version",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _as(conn, app_role, forbidden)
        # The owner still can (one role for everything remains possible), inside a rollback.
        with pytest.raises(psycopg.errors.RaiseException):
            with conn.transaction():
                conn.execute("DELETE FROM audit_events")  # the trigger refuses even the owner
