"""`pagefree import pagerduty`: read a PagerDuty account and create or update it in PageFree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from app import devstack, netguard
from app.config import Settings, get_settings
from app.db import NotMigratedError, check_migrated, make_engine, make_sessionmaker
from app.errors import DomainError
from app.importer import compare, service, source

import_cli = typer.Typer(help="Import an on-call set-up from another tool.", no_args_is_help=True)


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


@import_cli.command("pagerduty")
def pagerduty_cmd(
    api_key: Annotated[
        str, typer.Option(envvar="PAGERDUTY_API_KEY", help="A REST API key (read access is enough)")
    ],
    api_url: Annotated[str, typer.Option(help="The REST API's base URL (proxies, tests)")] = (
        source.DEFAULT_URL
    ),
    dry_run: Annotated[bool, typer.Option(help="Print the plan; change nothing")] = False,
    team: Annotated[
        str | None, typer.Option(help="Only this team (id or name) and what it owns")
    ] = None,
    allow_private_url: Annotated[
        bool, typer.Option(help="Allow an --api-url on a loopback or private address")
    ] = False,
) -> None:
    """Import users, teams, schedules, escalation policies and services; re-runs update."""
    console = Console(stderr=False, highlight=False)
    settings = get_settings()
    try:
        asyncio.run(
            netguard.check_url(
                api_url,
                field="--api-url",
                allow_private=allow_private_url,
            )
        )
    except DomainError as exc:
        raise _fail(console, f"--api-url refused: {exc.detail}") from None
    client = source.client(api_key, api_url, backoff=_backoff())
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        reading = bar.add_task("reading PagerDuty", total=None)
        try:
            account = source.read(
                client,
                team=team,
                step=lambda what: bar.update(reading, description=f"reading {what}"),
            )
        except source.SourceError as exc:
            raise _fail(console, str(exc)) from None
        bar.remove_task(reading)
        writing = bar.add_task("importing", total=account.count())

        def tick(what: str) -> None:
            bar.update(writing, advance=1, description=f"importing {what}"[:60])

        try:
            summary = asyncio.run(_apply(settings, account, dry_run=dry_run, tick=tick))
        except (OSError, OperationalError, devstack.StackError, NotMigratedError) as exc:
            raise _fail(console, f"cannot use the database: {_first_line(exc)}") from None
    _report(console, summary, dry_run=dry_run)


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _backoff() -> float | None:
    import os

    value = os.environ.get("PAGEFREE_IMPORT_BACKOFF")  # tests shorten the client's 429 wait
    return float(value) if value else None


async def _apply(
    settings: Settings, account: source.Account, *, dry_run: bool, tick: service.Tick
) -> service.Summary:
    engine = make_engine(devstack.database_url(settings), pool_size=2)
    try:
        await check_migrated(engine)
        async with make_sessionmaker(engine)() as session:
            summary = await service.apply(
                session=session, settings=settings, account=account, tick=tick
            )
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
            return summary
    finally:
        await engine.dispose()


def _report(console: Console, summary: service.Summary, *, dry_run: bool) -> None:
    kinds = sorted(
        {*summary.created, *summary.updated, *summary.unchanged, *(s.kind for s in summary.skipped)}
    )
    table = Table(title="PagerDuty import" + (" (dry run: nothing was changed)" if dry_run else ""))
    for column in ("kind", "created", "updated", "unchanged", "skipped"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in kinds:
        skipped = sum(1 for s in summary.skipped if s.kind == kind)
        counts = (summary.created[kind], summary.updated[kind], summary.unchanged[kind], skipped)
        table.add_row(kind, *map(str, counts))
    console.print(table)
    if summary.skipped:
        console.print("[bold]Skipped or changed on the way:[/bold]")
        for s in summary.skipped:
            console.print(f"  {s.kind} {s.name} ({s.external_id}): {s.reason}", markup=False)
    if summary.keys:
        keys = Table(title="Integration keys: switch each sender from the old key to the new one")
        for column in ("service", "integration", "PagerDuty key", "PageFree key", "URL"):
            keys.add_column(column)
        for k in summary.keys:
            new = "(created on the real run)" if dry_run else k.new_key
            keys.add_row(k.service, k.integration, k.old_key, new, k.url)
        console.print(keys)


@import_cli.command("pagerduty-compare")
def compare_cmd(
    api_key: Annotated[str, typer.Option(envvar="PAGERDUTY_API_KEY", help="A REST API key")],
    at: Annotated[
        str | None, typer.Option(help="The instant to compare, ISO 8601 (default: now)")
    ] = None,
    api_url: Annotated[str, typer.Option(help="The REST API's base URL")] = source.DEFAULT_URL,
    allow_private_url: Annotated[
        bool, typer.Option(help="Allow an --api-url on a loopback or private address")
    ] = False,
) -> None:
    """For every imported service, who each level reaches at `at`: PagerDuty beside PageFree.

    Exits 3 when they differ anywhere.
    """
    console = Console(highlight=False)
    try:
        parsed = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise _fail(console, f"--at: not an ISO 8601 instant: {at!r}") from None
    instant = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    try:
        asyncio.run(netguard.check_url(api_url, field="--api-url", allow_private=allow_private_url))
    except DomainError as exc:
        raise _fail(console, f"--api-url refused: {exc.detail}") from None
    client = source.client(api_key, api_url, backoff=_backoff())
    try:
        rows = asyncio.run(_compare(get_settings(), client, instant))
    except source.SourceError as exc:
        raise _fail(console, str(exc)) from None
    except (OSError, OperationalError, devstack.StackError, NotMigratedError) as exc:
        raise _fail(console, f"cannot use the database: {_first_line(exc)}") from None
    table = Table(title=f"On call at {instant.isoformat()}: PagerDuty beside PageFree")
    for column in ("service", "level", "PagerDuty", "PageFree", ""):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.service,
            str(r.level),
            ", ".join(r.pagerduty) or "nobody",
            ", ".join(r.pagefree) or "nobody",
            "same" if r.same else "DIFFERENT",
        )
    console.print(table)
    if any(not r.same for r in rows):
        raise typer.Exit(3)


async def _compare(
    settings: Settings, client: object, at: datetime
) -> list[compare.LevelComparison]:
    engine = make_engine(devstack.database_url(settings), pool_size=2)
    try:
        await check_migrated(engine)
        async with make_sessionmaker(engine)() as session:
            policies = await compare.imported_policies(session)
            found = await asyncio.to_thread(source.oncalls, client, sorted(policies), at)
            return await compare.compare(session=session, oncalls=found, at=at)
    finally:
        await engine.dispose()
