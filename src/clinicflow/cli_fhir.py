"""`clinicflow fhir client …`: the SMART Backend Services clients of the FHIR API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from clinicflow.fhir.smart.views import SmartClient
from clinicflow.settings import Settings

fhir_app = typer.Typer(help="The FHIR R4 API (/fhir/R4).", no_args_is_help=True)
client_app = typer.Typer(
    help="SMART Backend Services clients: each signs its token requests with its own key.",
    no_args_is_help=True,
)
fhir_app.add_typer(client_app, name="client")


@client_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="who the client is (an EHR, a partner)")],
    scope: Annotated[
        str,
        typer.Option(
            help="space-separated: system/Appointment.read system/Slot.read "
            "system/Appointment.write system/Patient.read"
        ),
    ],
    jwks_url: Annotated[
        str | None, typer.Option(help="where the client publishes its public keys")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="a file holding its public key as a JWK or JWKS")
    ] = None,
) -> None:
    """Register a client; prints its client id (the `iss` and `sub` of its assertions)."""
    jwks = public_key.read_text(encoding="utf-8") if public_key is not None else None
    client = asyncio.run(_add(Settings(), name, scope, jwks_url, jwks))
    typer.echo(client.id)


async def _add(
    settings: Settings, name: str, scope: str, jwks_url: str | None, jwks: str | None
) -> SmartClient:
    from clinicflow.bootstrap import build
    from clinicflow.fhir.smart.service import as_jwks

    container = build(settings)
    try:
        registered = as_jwks(jwks) if jwks is not None else None
        return await container.smart.clients.add(name, scope, jwks_url=jwks_url, jwks=registered)
    finally:
        await container.aclose()


@client_app.command("list")
def list_() -> None:
    """One line per client: id, name, scopes, where its keys are, revoked or not."""
    for c in asyncio.run(_list(Settings())):
        keys = c.jwks_url or "registered key"
        state = "revoked" if c.revoked_at else "active"
        typer.echo(f"{c.id}  {c.name}  {' '.join(c.scopes)}  {keys}  {state}")


async def _list(settings: Settings) -> list[SmartClient]:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        return await container.smart.clients.listed()
    finally:
        await container.aclose()


@client_app.command("revoke")
def revoke(client_id: str) -> None:
    """Refuse the client's assertions and the tokens it holds, from now."""
    asyncio.run(_revoke(Settings(), client_id))
    typer.echo(f"revoked {client_id}")


async def _revoke(settings: Settings, client_id: str) -> None:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        await container.smart.clients.revoke(client_id)
    finally:
        await container.aclose()
