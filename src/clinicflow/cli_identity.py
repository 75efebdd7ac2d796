"""`clinicflow users|apikeys|oauth …`: staff accounts, API keys and OAuth signing keys.

One-time secrets (a new API key, a TOTP URI) go to stdout unwrapped, so they can be piped or
copied whole; every note around them goes to stderr.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from clinicflow.bootstrap import Container, build
from clinicflow.identity import CACHE_FOR, ApiKeyView
from clinicflow.identity.tables import signing_keys
from clinicflow.settings import Settings
from clinicflow.shared.actor import STAFF_ROLES
from clinicflow.shared.errors import DomainError

users_app = typer.Typer(help="Staff accounts: passwords, TOTP, access.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for integrations.", no_args_is_help=True)
oauth_app = typer.Typer(help="The keys that sign OAuth access tokens.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()
T = TypeVar("T")
Cell = str | bool | datetime | tuple[str, ...] | None
ROLES = ", ".join(sorted(r.value for r in STAFF_ROLES))


def _run(work: Callable[[Container], Awaitable[T]]) -> T:
    settings = Settings()

    async def go() -> T:
        container = build(settings)
        try:
            return await work(container)
        finally:
            await container.aclose()

    try:
        return asyncio.run(go())
    except DomainError as exc:
        # soft_wrap keeps the message on one line whatever the terminal width.
        console.print(f"[red]✗[/] {exc.detail}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else "-"


def _table(title: str, columns: list[str], rows: Iterable[Sequence[Cell]]) -> None:
    # Folded, never truncated: an id cut to "fARPgq…" cannot be pasted into the next command.
    table = Table(title=f"{title} (times in UTC)", box=box.SIMPLE_HEAD)
    for n, name in enumerate(columns):
        table.add_column(name, overflow="fold", no_wrap=n == 0)
    for row in rows:
        table.add_row(*map(_cell, row))
    out.print(table)


def _cell(value: Cell) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | None):
        return _when(value)
    return " ".join(value) if isinstance(value, tuple) else value


RoleName = Annotated[str, typer.Option("--role", help=f"One of {ROLES}.")]
PractitionerKey = Annotated[str | None, typer.Option("--practitioner", help="Their calendar key.")]
WithTotp = Annotated[bool, typer.Option("--totp/--no-totp", help="Enrol TOTP (always for admin).")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Password from stdin.")]


@users_app.command("create")
def users_create(
    username: str,
    role: RoleName,
    calendar: PractitionerKey = None,
    totp: WithTotp = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a staff account; prints its id and, with TOTP, the authenticator URI (once)."""
    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    made = _run(
        lambda c: c.identity.users.create(
            username, role, password, practitioner=calendar, with_totp=totp
        )
    )
    user = made.user
    console.print(f"[green]created {user.role} {user.username!r}[/], id {user.id}")
    if made.totp_uri:
        _show_totp(made.totp_uri)


def _show_totp(uri: str) -> None:
    console.print("[yellow]shown once[/]: add this URI to an authenticator app before signing in")
    typer.echo(uri)


@users_app.command("list")
def users_list() -> None:
    """Every staff account with its role, state, last sign-in and failures since."""
    found = _run(lambda c: c.identity.users.list())
    columns = ["username", "role", "practitioner", "active", "totp", "last login", "failed since"]
    rows: list[list[Cell]] = [
        [
            u.username,
            u.role,
            u.practitioner,
            u.active,
            u.totp_enrolled,
            u.last_login_at,
            str(u.failed_logins),
        ]
        for u in found
    ]
    _table("staff accounts", columns, rows)


@users_app.command("totp")
def users_totp(username: str) -> None:
    """Replace the user's TOTP secret (lost phone); the old codes stop working."""
    _show_totp(_run(lambda c: c.identity.users.enrol_totp(username)))


@users_app.command("reset-password")
def users_reset_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Give the user a new password and end their open sessions. A random one is printed
    (once) unless --password-stdin gives it."""
    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = secrets.token_urlsafe(15)
    _run(lambda c: c.identity.users.reset_password(username, password))
    console.print(f"[green]password of {username!r} replaced[/]; their sessions were ended")
    if not password_stdin:
        console.print("[yellow]shown once[/]: give it to them by a safe channel")
        typer.echo(password)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Stop the account signing in and end its open sessions."""
    _run(lambda c: c.identity.users.set_active(username, False))
    console.print(f"[green]disabled[/] {username!r}; their sessions were ended")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Let a disabled account sign in again."""
    _run(lambda c: c.identity.users.set_active(username, True))
    console.print(f"[green]enabled[/] {username!r}")


Hours = Annotated[float, typer.Option(min=0, help="Hours from now.")]


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    owner: Annotated[str, typer.Option(help="Who answers for the key.")],
    scope: Annotated[list[str], typer.Option(help="A scope to grant; repeat for more.")],
    tier: Annotated[
        str, typer.Option(help="Rate-limit tier: one of CLINICFLOW_RATE_LIMITS' key tiers.")
    ] = "standard",
) -> None:
    """Issue an API key; the full key is printed once and never stored."""
    tiers = key_tiers(Settings())
    if tier not in tiers:
        console.print(
            f"[red]✗[/] tier {tier!r} is not configured; use one of {', '.join(tiers)} "
            "(CLINICFLOW_RATE_LIMITS defines them)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    view, full = _run(lambda c: c.identity.apikeys.create(name, owner, scope, tier))
    _show_key(view, full)


def key_tiers(settings: Settings) -> list[str]:
    """The rate-limit tiers an API key may have: every configured tier but those of callers
    without a key (anonymous) and of sessions (patient, staff)."""
    return sorted(set(settings.rate_limits) - {"anonymous", "patient", "staff"})


def _show_key(view: ApiKeyView, full: str) -> None:
    console.print(
        f"[green]API key {view.id}[/] for {view.owner} ({', '.join(view.scopes) or 'no scopes'})"
        "\n[yellow]the key below is shown once: only its digest is stored, so it cannot be "
        "shown again[/]"
    )
    typer.echo(full)


@apikeys_app.command("list")
def apikeys_list() -> None:
    """Every API key (never its secret) and whether it still works."""
    found, now = _run(_keys_and_now)
    columns = ["id", "name", "owner", "scopes", "tier", "created", "last used", "state"]
    rows = [
        [k.id, k.name, k.owner, k.scopes, k.tier, k.created_at, k.last_used_at, _state(k, now)]
        for k in found
    ]
    _table("API keys", columns, rows)


async def _keys_and_now(c: Container) -> tuple[list[ApiKeyView], datetime]:
    return await c.identity.apikeys.list(), c.clock.now()


def _state(key: ApiKeyView, now: datetime) -> str:
    if key.revoked_at is None:
        state = "active"
    else:
        state = ("revoked " if key.revoked_at <= now else "revokes ") + _when(key.revoked_at)
    return state + (f", replaced by {key.replaced_by}" if key.replaced_by else "")


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: str, after_hours: Hours = 0) -> None:
    """Stop a key working, now or after a delay (an earlier revocation is kept)."""
    view = _run(lambda c: c.identity.apikeys.revoke(key_id, after=timedelta(hours=after_hours)))
    console.print(f"[green]API key {view.id}[/] stops working at {_when(view.revoked_at)} UTC")


@apikeys_app.command("rotate")
def apikeys_rotate(key_id: str, grace_hours: Hours = 24) -> None:
    """A new key with the same owner, scopes and tier; the old one works for the grace period."""

    async def work(c: Container) -> tuple[ApiKeyView, str, ApiKeyView]:
        new, full = await c.identity.apikeys.rotate(key_id, timedelta(hours=grace_hours))
        return new, full, await c.identity.apikeys.get(key_id)

    new, full, old = _run(work)
    _show_key(new, full)
    until = _when(old.revoked_at)
    console.print(f"old key {old.id} keeps working until {until} UTC: deploy the new key first")


@oauth_app.command("rotate-key")
def oauth_rotate_key() -> None:
    """Sign new tokens with a fresh key; earlier keys keep verifying until retired."""

    async def work(c: Container) -> tuple[str, timedelta]:
        # Servers may sign with the old key until their cache expires; its tokens then live on.
        lifetime = timedelta(minutes=c.settings.access_token_minutes)
        return await c.identity.tokens.rotate(), CACHE_FOR + lifetime

    kid, wait = _run(work)
    console.print(
        f"[green]new signing key {kid}[/]; previous keys stay published and keep verifying the "
        f"tokens they signed. Retire one (`clinicflow oauth retire-key KID`) no sooner than "
        f"{wait.total_seconds() // 60:.0f} minutes from now."
    )


@oauth_app.command("retire-key")
def oauth_retire_key(kid: str) -> None:
    """Unpublish an older signing key (put `--` before a kid that starts with '-')."""
    _run(lambda c: c.identity.tokens.retire(kid))
    console.print(f"[green]retired {kid}[/]; tokens it signed no longer verify")


@oauth_app.command("keys")
def oauth_keys() -> None:
    """The published signing keys, newest (the one that signs) last."""
    found = _run(_published)
    rows: list[list[Cell]] = [
        [kid, alg, at, n == len(found)] for n, (kid, alg, at) in enumerate(found, start=1)
    ]
    _table("keys published at /.well-known/jwks.json", ["kid", "alg", "created", "signs"], rows)


async def _published(c: Container) -> list[tuple[str, str, datetime]]:
    query = (
        select(signing_keys.c.kid, signing_keys.c.algorithm, signing_keys.c.created_at)
        .where(signing_keys.c.retired_at.is_(None))
        .order_by(signing_keys.c.created_at, signing_keys.c.kid)
    )
    async with c.db.read() as conn:
        return [(r.kid, r.algorithm, r.created_at) for r in await conn.execute(query)]
