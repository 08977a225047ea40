"""Apply a PagerDuty account to PageFree: create what is new, update what was imported before.

Every imported object is remembered in `import_mappings` (source, kind, external id → row), so
a re-run updates the same rows and never duplicates them; an object that already exists by
its natural key (a user's e-mail, a team's, schedule's or policy's name) is adopted. Each
object is written in a savepoint: one that PageFree refuses is skipped with the reason, the
rest goes on. The caller commits (or, for a dry run, rolls back).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.catalog import service as catalog
from app.catalog.models import ServiceUpdate
from app.config import Settings
from app.errors import DomainError, NotFound
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicy, EscalationPolicyUpdate
from app.identity import service as identity
from app.identity.models import Team, TeamUpdate, UserUpdate
from app.importer import convert
from app.importer.models import ImportMapping
from app.importer.source import Account
from app.ingest import service as ingest
from app.ingest.models import IntegrationCreate, IntegrationType
from app.notify import service as notify
from app.notify.models import NotificationRuleUpdate
from app.problems import Problem
from app.schedules import overrides as override_ops
from app.schedules import service as schedules
from app.schedules.models import Schedule, ScheduleOverride, ScheduleUpdate

SOURCE = "pagerduty"
Tick = Callable[[str], None]
ACTOR = Actor(type="system", id=None, via="import")


@dataclass(frozen=True)
class KeyChange:
    """An integration's old PagerDuty key and the new PageFree key its senders switch to."""

    service: str
    integration: str
    old_key: str
    new_key: str
    url: str


@dataclass
class Summary:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)  # imported before, kept as is
    skipped: list[convert.Skip] = field(default_factory=list)
    keys: list[KeyChange] = field(default_factory=list)


class Importer:
    """One import run on one database session."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.summary = Summary()
        self.ids: dict[str, dict[str, UUID]] = {}  # kind → PagerDuty id → PageFree id

    # --- the mapping ----------------------------------------------------------------------

    async def mapped(self, kind: str, external_id: str) -> UUID | None:
        row = await self.session.get(ImportMapping, (SOURCE, kind, external_id))
        return row.local_id if row else None

    async def remember(self, kind: str, external_id: str, local_id: UUID) -> None:
        now = datetime.now(UTC)
        await self.session.execute(
            insert(ImportMapping)
            .values(source=SOURCE, kind=kind, external_id=external_id, local_id=local_id)
            .on_conflict_do_update(
                index_elements=["source", "kind", "external_id"],
                set_={"local_id": local_id, "updated_at": now},
            )
        )
        self.ids.setdefault(kind, {})[external_id] = local_id

    async def upsert(
        self,
        kind: str,
        pd: convert.PD,
        *,
        create: Callable[[], Awaitable[UUID]],
        update: Callable[[UUID], Awaitable[object]],
        find: Callable[[], Awaitable[UUID | None]] | None = None,
        keep: bool = False,
    ) -> UUID | None:
        """Create or update one object in a savepoint; a refusal is a skip with its reason.

        With `keep`, `update` only checks that the row still exists (it is kept as it is).
        """
        external_id = pd["id"]
        try:
            async with self.session.begin_nested():
                local = await self.mapped(kind, external_id) or (await find() if find else None)
                if local is not None:
                    try:
                        await update(local)
                        (self.summary.unchanged if keep else self.summary.updated)[kind] += 1
                    except (Problem, DomainError) as exc:
                        if not _missing(exc):
                            raise
                        local = None  # mapped, but deleted in PageFree since: create again
                if local is None:
                    local = await create()
                    self.summary.created[kind] += 1
                await self.remember(kind, external_id, local)
                return local
        except (Problem, DomainError, ValidationError) as exc:
            self.skip(kind, pd, _reason(exc))
            return None

    def skip(self, kind: str, pd: convert.PD, reason: str) -> None:
        self.summary.skipped.append(convert.Skip(kind, pd["id"], convert._name(pd), reason))

    def ids_of(self, kind: str) -> dict[str, UUID]:
        return self.ids.setdefault(kind, {})

    # --- users, their contact methods and rules -------------------------------------------

    async def user(self, pd: convert.PD) -> None:
        c = convert.user(pd)
        self.summary.skipped += c.skips
        if c.value is None:
            return
        user_in = c.value

        async def create() -> UUID:
            return (
                await identity.create_user(session=self.session, user_in=user_in, actor=ACTOR)
            ).id

        async def update(local: UUID) -> None:
            change = UserUpdate(name=user_in.name, timezone=user_in.timezone, role=user_in.role)
            await identity.update_user(
                session=self.session, user_id=local, user_in=change, actor=ACTOR
            )

        async def find() -> UUID | None:
            found = await identity.get_user_by_email(session=self.session, email=user_in.email)
            return found.id if found else None

        local = await self.upsert("user", pd, create=create, update=update, find=find)
        if local is None:
            return
        for method in pd.get("contact_methods") or []:
            await self.contact_method(local, method)
        for rule in pd.get("notification_rules") or []:
            await self.notification_rule(local, rule)

    async def contact_method(self, user_id: UUID, pd: convert.PD) -> None:
        c = convert.contact_method(pd)
        self.summary.skipped += c.skips
        if c.value is None:
            return
        method_in = c.value

        async def create() -> UUID:
            return (
                await notify.create_method(
                    session=self.session,
                    user_id=user_id,
                    method_in=method_in,
                    may_preverify=True,
                    actor=ACTOR,
                )
            ).id

        async def update(local: UUID) -> None:
            await notify.get_method(session=self.session, user_id=user_id, method_id=local)

        await self.upsert("contact_method", pd, create=create, update=update, keep=True)

    async def notification_rule(self, user_id: UUID, pd: convert.PD) -> None:
        c = convert.notification_rule(pd, self.ids_of("contact_method"))
        self.summary.skipped += c.skips
        if c.value is None:
            return
        rule_in = c.value

        async def create() -> UUID:
            return (
                await notify.create_rule(
                    session=self.session, user_id=user_id, rule_in=rule_in, actor=ACTOR
                )
            ).id

        async def update(local: UUID) -> None:
            change = NotificationRuleUpdate(**rule_in.model_dump())
            await notify.update_rule(
                session=self.session, user_id=user_id, rule_id=local, rule_in=change, actor=ACTOR
            )

        await self.upsert("notification_rule", pd, create=create, update=update)

    # --- teams, schedules, policies, services ---------------------------------------------

    async def team(self, pd: convert.PD, members: list[convert.PD]) -> None:
        c = convert.team(pd, members, self.ids_of("user"))
        self.summary.skipped += c.skips
        if c.value is None:
            return
        team_in = c.value

        async def create() -> UUID:
            return (
                await identity.create_team(session=self.session, team_in=team_in, actor=ACTOR)
            ).id

        async def update(local: UUID) -> None:
            change = TeamUpdate(
                name=team_in.name, description=team_in.description, members=team_in.members
            )
            await identity.update_team(
                session=self.session, team_id=local, team_in=change, actor=ACTOR
            )

        await self.upsert(
            "team", pd, create=create, update=update, find=lambda: self._by_name(Team, team_in.name)
        )

    async def schedule(self, pd: convert.PD, overrides: list[convert.PD]) -> None:
        c = convert.schedule(pd, self.ids_of("user"), datetime.now(UTC))
        self.summary.skipped += c.skips
        if c.value is None:
            return
        schedule_in = c.value

        async def create() -> UUID:
            return (
                await schedules.create_schedule(
                    session=self.session, schedule_in=schedule_in, actor=ACTOR
                )
            ).id

        async def update(local: UUID) -> None:
            change = ScheduleUpdate(
                name=schedule_in.name,
                description=schedule_in.description,
                timezone=schedule_in.timezone,
                layers=schedule_in.layers,
            )
            await schedules.update_schedule(
                session=self.session, schedule_id=local, schedule_in=change, actor=ACTOR
            )

        local = await self.upsert(
            "schedule",
            pd,
            create=create,
            update=update,
            find=lambda: self._by_name(Schedule, schedule_in.name),
        )
        if local is not None:
            for o in overrides:
                await self.override(local, o)

    async def override(self, schedule_id: UUID, pd: convert.PD) -> None:
        c = convert.override(pd, self.ids_of("user"))
        self.summary.skipped += c.skips
        if c.value is None:
            return
        override_in = c.value

        async def create() -> UUID:
            return (
                await override_ops.create_override(
                    session=self.session,
                    schedule_id=schedule_id,
                    override_in=override_in,
                    actor=ACTOR,
                )
            ).id

        async def exists(local: UUID) -> None:
            if await self.session.get(ScheduleOverride, local) is None:
                raise NotFound(f"override {local} no longer exists")

        await self.upsert("override", pd, create=create, update=exists, keep=True)

    async def policy(self, pd: convert.PD) -> None:
        c = convert.policy(pd, self.ids_of("user"), self.ids_of("schedule"))
        self.summary.skipped += c.skips
        if c.value is None:
            return
        policy_in = c.value

        async def create() -> UUID:
            return (
                await escalation.create_policy(
                    session=self.session, policy_in=policy_in, actor=ACTOR, settings=self.settings
                )
            ).id

        async def update(local: UUID) -> None:
            change = EscalationPolicyUpdate(**policy_in.model_dump())
            await escalation.update_policy(
                session=self.session,
                policy_id=local,
                policy_in=change,
                actor=ACTOR,
                settings=self.settings,
            )

        await self.upsert(
            "escalation_policy",
            pd,
            create=create,
            update=update,
            find=lambda: self._by_name(EscalationPolicy, policy_in.name),
        )

    async def service(self, pd: convert.PD) -> None:
        c = convert.service(pd, self.ids_of("escalation_policy"), self.ids_of("team"))
        self.summary.skipped += c.skips
        if c.value is None:
            return
        service_in = c.value

        async def create() -> UUID:
            return (
                await catalog.create_service(
                    session=self.session, service_in=service_in, actor=ACTOR
                )
            ).id

        async def update(local: UUID) -> None:
            change = ServiceUpdate(**service_in.model_dump(exclude={"routing_key"}))
            await catalog.update_service(
                session=self.session, service_id=local, service_in=change, actor=ACTOR
            )

        local = await self.upsert("service", pd, create=create, update=update)
        if local is not None:
            for integration in pd.get("integrations") or []:
                await self.integration(local, service_in.name, integration)

    async def integration(self, service_id: UUID, service_name: str, pd: convert.PD) -> None:
        if pd.get("type") not in convert.EVENT_INTEGRATIONS:
            self.skip("integration", pd, f"{pd.get('type')}: only Events API integrations move")
            return
        name = convert._name(pd)[:200]

        async def create() -> UUID:
            created = await ingest.create(
                session=self.session,
                settings=self.settings,
                actor=ACTOR,
                service_id=service_id,
                integration_in=IntegrationCreate(type=IntegrationType.pagerduty, name=name),
            )
            return created.id

        async def exists(local: UUID) -> None:
            await ingest.get(session=self.session, integration_id=local)

        local = await self.upsert("integration", pd, create=create, update=exists, keep=True)
        if local is not None:
            found = ingest.public(
                await ingest.get(session=self.session, integration_id=local), self.settings
            )
            self.summary.keys.append(
                KeyChange(
                    service_name, name, str(pd.get("integration_key") or "—"), found.key, found.url
                )
            )

    async def _by_name(self, model: Any, name: str) -> UUID | None:
        found = await self.session.scalar(
            select(model.id).where(func.lower(model.name) == name.lower())
        )
        return found if isinstance(found, UUID) else None


def _missing(exc: Exception) -> bool:
    """Return whether `exc` says the mapped row is gone (deleted in PageFree since)."""
    return isinstance(exc, NotFound) or (isinstance(exc, Problem) and exc.status == 404)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return convert._why(exc)
    detail = getattr(exc, "detail", None) or getattr(exc, "title", None) or str(exc)
    return str(detail)


async def apply(
    *,
    session: AsyncSession,
    settings: Settings,
    account: Account,
    tick: Tick = lambda _: None,
) -> Summary:
    """Apply `account` in dependency order: users, teams, schedules, policies, services."""
    run = Importer(session, settings)
    for u in account.users:
        tick(f"user {u.get('name')}")
        await run.user(u)
    for t in account.teams:
        tick(f"team {t.get('name')}")
        await run.team(t, account.members.get(t["id"], []))
    for s in account.schedules:
        tick(f"schedule {s.get('name')}")
        await run.schedule(s, account.overrides.get(s["id"], []))
    for p in account.policies:
        tick(f"policy {p.get('name')}")
        await run.policy(p)
    for svc in account.services:
        tick(f"service {svc.get('name')}")
        await run.service(svc)
    return run.summary
