"""Runbook fixtures: stand-ins on loopback (private targets allowed), two admins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import Login, login
from tests.live_server import serve
from tests.runbooks.standin import Runner


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Tests reach their stand-in runner on loopback: private targets allowed."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
async def author(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
async def approver(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def runner() -> Runner:
    return Runner()


@pytest.fixture
async def runner_url(runner: Runner) -> AsyncIterator[str]:
    async with serve(runner.app()) as url:
        yield f"{url}/run/restart"
