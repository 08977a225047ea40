"""Runbook pages: an admin adds a draft, another approves it, edits make drafts, deprecation."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests.runbooks import helpers
from tests.runbooks.standin import SECRET
from tests.web.conftest import browser_for

URL = "http://127.0.0.1:9/run"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_targets": True})


async def test_four_eyes_in_the_web_ui(web_app: FastAPI, sessionmaker: SessionMaker) -> None:
    author = await browser_for(web_app, sessionmaker, Role.admin)
    approver = await browser_for(web_app, sessionmaker, Role.admin)
    await author.get("/runbooks")
    r = await author.post(
        "/runbooks",
        {
            "name": "Restart unit",
            "definition": json.dumps(helpers.definition(URL)),
            "secret": SECRET,
        },
    )
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    own = await author.get(path)
    assert "another admin approves" in own.text and "Approve v1" not in own.text
    assert SECRET not in own.text
    other = await approver.get(path)
    assert "Approve v1" in other.text
    r = await approver.post(f"{path}/approve", {"version": "1"})
    assert r.status_code == 303, r.text
    page = await approver.get(path)
    assert '<span class="badge" id="rb-status">approved</span>' in page.text

    edited = helpers.definition(URL, retries=1)
    r = await approver.post(path, {"definition": json.dumps(edited), "description": "d"})
    assert r.status_code == 303, r.text
    page = await author.get(path)
    assert "Approve v2" in page.text and "version 1" in page.text  # v1 still runs
    bad = await author.post(path, {"definition": '{"url": 3}'})
    assert bad.status_code == 422
    r = await author.post(f"{path}/deprecate")
    assert r.status_code == 303, r.text
    page = await author.get(path)
    assert '<span class="badge" id="rb-status">deprecated</span>' in page.text


async def test_responders_see_runbooks_but_cannot_change_them(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    responder = await browser_for(web_app, sessionmaker, Role.responder)
    page = await responder.get("/runbooks")
    assert page.status_code == 200 and "Add a runbook" not in page.text
    r = await responder.post(
        "/runbooks",
        {"name": "x", "definition": json.dumps(helpers.definition(URL)), "secret": SECRET},
    )
    assert r.status_code == 403
