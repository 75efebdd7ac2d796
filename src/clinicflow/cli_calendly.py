"""`clinicflow calendly …`: connect the clinic's Calendly account."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import typer
from rich.console import Console

from clinicflow.settings import Settings

calendly_app = typer.Typer(help="Calendly: webhook subscriptions.", no_args_is_help=True)
console = Console()
WEBHOOK_PATH = "/v1/webhooks/calendly"


@calendly_app.command("subscribe")
def subscribe(
    scope: Annotated[
        str,
        typer.Option(
            help="organization (every member's page bookings; needs an owner or admin token) "
            "or user (the token's own user, or --user)"
        ),
    ] = "organization",
    user: Annotated[str | None, typer.Option(help="with --scope user: a Calendly user URI")] = None,
    url: Annotated[
        str | None,
        typer.Option(help=f"the callback URL; default CLINICFLOW_PUBLIC_URL + {WEBHOOK_PATH}"),
    ] = None,
) -> None:
    """Subscribe the clinic's webhook to invitee.created and invitee.canceled, signed with
    CLINICFLOW_CALENDLY_WEBHOOK_SIGNING_KEY. Run once; running it again finds the
    subscription for the URL and changes nothing."""
    if scope not in ("organization", "user"):
        raise typer.BadParameter("give organization or user", param_hint="--scope")
    settings = Settings()
    if settings.calendly_token is None or settings.calendly_webhook_signing_key is None:
        console.print(
            "set CLINICFLOW_CALENDLY_TOKEN and CLINICFLOW_CALENDLY_WEBHOOK_SIGNING_KEY first"
        )
        raise typer.Exit(2)
    target = url or settings.public_url.rstrip("/") + WEBHOOK_PATH
    made = asyncio.run(
        _subscribe(settings, target, "user" if scope == "user" else "organization", user)
    )
    console.print(f"Calendly will post invitee events to {target}: {made}", highlight=False)


async def _subscribe(
    settings: Settings, url: str, scope: Literal["organization", "user"], user: str | None
) -> str:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        subscriptions = container.calendly.subscriptions
        key = settings.calendly_webhook_signing_key
        assert subscriptions is not None
        assert key is not None
        return await subscriptions.subscribe(url, key.get_secret_value(), scope, user)
    finally:
        await container.aclose()
