"""Database engine and sessions (SQLAlchemy async over psycopg 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.errors import Conflict

ROOT = Path(__file__).resolve().parent.parent

SessionMaker = async_sessionmaker[AsyncSession]


def utcnow() -> datetime:
    """Return the current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def table(model: type[Any]) -> Table:
    """Return a model's Core table. Writes on it skip the ORM's bulk-insert machinery (on the
    incident's hot path that was ~5% of the worker's CPU, docs/benchmarks.md stop 24)."""
    found = inspect(model).local_table
    assert isinstance(found, Table)
    return found


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the async engine for `url` (a `postgresql+psycopg://` URL)."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    """Create the session factory; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def session_scope(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """Yield a session that commits on success and rolls back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Return the Alembic configuration for `url`."""

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Apply every migration up to head."""
    from alembic import command

    command.upgrade(alembic_config(url), "heads")


def head_revisions() -> set[str]:
    """Return the newest migration revision(s) in the source tree."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads())


class NotMigratedError(RuntimeError):
    """The database schema is older than the code."""


async def check_migrated(engine: AsyncEngine) -> None:
    """Refuse to run on a database whose schema is not at the code's head revision."""
    heads = head_revisions()
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        current: set[str] = set()
        if exists:
            current = set(await conn.scalars(text("SELECT version_num FROM alembic_version")))
    if current != heads:
        raise NotMigratedError(
            f"the database is at migration {', '.join(sorted(current)) or 'none'} but the code "
            f"needs {', '.join(sorted(heads))}: run `pagefree migrate` first"
        )


async def name_taken(
    session: AsyncSession, model: Any, name: str, except_id: object | None = None
) -> bool:
    """Return whether another row of `model` has this name, case-insensitively."""
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if except_id is not None:
        query = query.where(model.id != except_id)
    return await session.scalar(query) is not None


async def flush_unique(session: AsyncSession, detail: str) -> None:
    """Flush; a unique constraint that refuses (a concurrent writer won) becomes a conflict."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(detail) from exc
