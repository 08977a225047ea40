"""Runbooks: versions made by edits, four-eyes approval, rollback and deprecation, audited."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.connections import crypto, providers
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, Forbidden, NotFound
from app.runbooks import definition as rules
from app.runbooks.models import (
    Definition,
    Runbook,
    RunbookCreate,
    RunbookPublic,
    RunbookStatus,
    RunbookUpdate,
    RunbookVersion,
    VersionPublic,
    VersionStatus,
)


def version_public(version: RunbookVersion) -> VersionPublic:
    """Return the API view of a version."""
    return VersionPublic(
        version=version.version,
        status=VersionStatus(version.status),
        definition=Definition.model_validate(version.definition),
        content_hash=version.content_hash,
        author_id=version.author_id,
        approver_id=version.approver_id,
        approved_at=version.approved_at,
        created_at=version.created_at,
    )


async def public(session: AsyncSession, runbook: Runbook) -> RunbookPublic:
    """Return the API view: the newest version's definition, never the secret."""
    newest = await get_version(session=session, runbook=runbook, version=runbook.version)
    return RunbookPublic(
        id=runbook.id,
        name=runbook.name,
        description=runbook.description,
        status=RunbookStatus(runbook.status),
        version=runbook.version,
        approved_version=runbook.approved_version,
        definition=Definition.model_validate(newest.definition),
        secret_set=bool(runbook.secret),
        created_at=runbook.created_at,
        updated_at=runbook.updated_at,
    )


def secret_of(settings: Settings, runbook: Runbook) -> str:
    """Return a runbook's HMAC secret (decrypted), for signing a call."""
    return str(crypto.unseal(settings, runbook.secret)["secret"])


async def get(*, session: AsyncSession, runbook_id: UUID) -> Runbook:
    """Return a runbook or raise NotFound."""
    runbook = await session.get(Runbook, runbook_id)
    if runbook is None:
        raise NotFound(f"runbook {runbook_id} does not exist")
    return runbook


async def get_version(*, session: AsyncSession, runbook: Runbook, version: int) -> RunbookVersion:
    """Return one version of a runbook, or raise Conflict (approve/rollback name versions)."""
    row = await session.scalar(
        select(RunbookVersion).where(
            col(RunbookVersion.runbook_id) == runbook.id, col(RunbookVersion.version) == version
        )
    )
    if row is None:
        raise Conflict(f"runbook {runbook.id} has no version {version}")
    return row


async def list_runbooks(*, session: AsyncSession) -> list[Runbook]:
    """Return every runbook by name."""
    return list((await session.scalars(select(Runbook).order_by(col(Runbook.name)))).all())


async def runnable(*, session: AsyncSession) -> list[Runbook]:
    """Return the runbooks that have a version to run, by name."""
    query = (
        select(Runbook)
        .where(
            col(Runbook.approved_version).is_not(None),
            col(Runbook.status) != RunbookStatus.deprecated,
        )
        .order_by(col(Runbook.name))
    )
    return list((await session.scalars(query)).all())


async def list_versions(*, session: AsyncSession, runbook_id: UUID) -> list[RunbookVersion]:
    """Return a runbook's versions, newest first."""
    await get(session=session, runbook_id=runbook_id)
    query = (
        select(RunbookVersion)
        .where(col(RunbookVersion.runbook_id) == runbook_id)
        .order_by(col(RunbookVersion.version).desc())
    )
    return list((await session.scalars(query)).all())


async def _check_definition(settings: Settings, definition: Definition) -> None:
    rules.check(definition)
    await providers.check(settings, definition.url, "definition.url")


async def _new_draft(
    session: AsyncSession, runbook: Runbook, definition: Definition, actor: Actor
) -> RunbookVersion:
    """Add the next version as a draft; a draft that was never approved is superseded."""
    if runbook.version > 0:
        pending = await get_version(session=session, runbook=runbook, version=runbook.version)
        if pending.status == VersionStatus.draft:
            pending.status = VersionStatus.superseded
            session.add(pending)
    runbook.version += 1
    runbook.status = RunbookStatus.draft
    version = RunbookVersion(
        runbook_id=runbook.id,
        version=runbook.version,
        status=VersionStatus.draft,
        definition=definition.model_dump(mode="json"),
        content_hash=rules.content_hash(definition),
        author_id=_user_id(actor),
    )
    session.add(version)
    return version


def _user_id(actor: Actor) -> UUID | None:
    return actor.id if isinstance(actor.id, UUID) else None


async def _record(
    session: AsyncSession,
    runbook: Runbook,
    action: str,
    actor: Actor,
    before: RunbookPublic | None,
) -> RunbookPublic:
    runbook.updated_at = utcnow()
    session.add(runbook)
    await session.flush()
    after = await public(session, runbook)
    await audit.record(
        session=session,
        actor=actor,
        action=f"runbook.{action}",
        entity_type="runbook",
        entity_id=runbook.id,
        before=before,
        after=after,
    )
    return after


async def create(
    *, session: AsyncSession, settings: Settings, runbook_in: RunbookCreate, actor: Actor
) -> RunbookPublic:
    """Store a runbook as version 1, a draft; its target is checked against SSRF."""
    await _check_definition(settings, runbook_in.definition)
    if await name_taken(session, Runbook, runbook_in.name):
        raise Conflict(f"a runbook named {runbook_in.name!r} exists")
    runbook = Runbook(
        name=runbook_in.name,
        description=runbook_in.description,
        status=RunbookStatus.draft,
        version=0,
        secret=crypto.seal(settings, {"secret": runbook_in.secret}),
    )
    session.add(runbook)
    await flush_unique(session, f"a runbook named {runbook_in.name!r} exists")
    await _new_draft(session, runbook, runbook_in.definition, actor)
    return await _record(session, runbook, "create", actor, None)


async def update(
    *,
    session: AsyncSession,
    settings: Settings,
    runbook_id: UUID,
    runbook_in: RunbookUpdate,
    actor: Actor,
) -> RunbookPublic:
    """Rename, describe, change the secret; a new definition is a new draft version."""
    runbook = await get(session=session, runbook_id=runbook_id)
    before = await public(session, runbook)
    if runbook_in.name is not None and runbook_in.name != runbook.name:
        if await name_taken(session, Runbook, runbook_in.name, runbook.id):
            raise Conflict(f"a runbook named {runbook_in.name!r} exists")
        runbook.name = runbook_in.name
    if runbook_in.description is not None:
        runbook.description = runbook_in.description
    if runbook_in.secret is not None:
        runbook.secret = crypto.seal(settings, {"secret": runbook_in.secret})
    if runbook_in.definition is not None and runbook_in.definition != before.definition:
        await _check_definition(settings, runbook_in.definition)
        await _new_draft(session, runbook, runbook_in.definition, actor)
    await flush_unique(session, "a runbook with that name exists")
    return await _record(session, runbook, "update", actor, before)


async def approve(
    *, session: AsyncSession, settings: Settings, runbook_id: UUID, version: int, actor: Actor
) -> RunbookPublic:
    """Approve the pending draft; its author may not (four eyes). It runs from now on."""
    runbook = await get(session=session, runbook_id=runbook_id)
    before = await public(session, runbook)
    row = await get_version(session=session, runbook=runbook, version=version)
    if row.status != VersionStatus.draft:
        raise Conflict(f"version {version} is {row.status}, not a draft awaiting approval")
    if row.author_id is not None and row.author_id == _user_id(actor):
        raise Forbidden("the author of a version cannot approve it; ask another admin")
    # The target may resolve elsewhere now than when it was saved.
    await providers.check(settings, Definition.model_validate(row.definition).url, "definition.url")
    row.status = VersionStatus.approved
    row.approver_id = _user_id(actor)
    row.approved_at = utcnow()
    session.add(row)
    runbook.approved_version = version
    runbook.status = RunbookStatus.approved
    return await _record(session, runbook, "approve", actor, before)


async def rollback(
    *, session: AsyncSession, settings: Settings, runbook_id: UUID, version: int, actor: Actor
) -> RunbookPublic:
    """Make an old version's definition the new draft (it needs approval again)."""
    runbook = await get(session=session, runbook_id=runbook_id)
    before = await public(session, runbook)
    old = await get_version(session=session, runbook=runbook, version=version)
    definition = Definition.model_validate(old.definition)
    await _check_definition(settings, definition)
    await _new_draft(session, runbook, definition, actor)
    return await _record(session, runbook, "rollback", actor, before)


async def deprecate(*, session: AsyncSession, runbook_id: UUID, actor: Actor) -> RunbookPublic:
    """Stop the runbook: no version runs until a new one is approved."""
    runbook = await get(session=session, runbook_id=runbook_id)
    before = await public(session, runbook)
    if runbook.status == RunbookStatus.deprecated:
        raise Conflict("the runbook is deprecated already")
    runbook.status = RunbookStatus.deprecated
    runbook.approved_version = None
    return await _record(session, runbook, "deprecate", actor, before)
