"""What a caller may do on the FHIR API before any use case runs: a client (a SMART token)
needs the SMART scope of what it reads or writes; staff and patients are decided by the use
cases, as on the API. Anonymous callers reach only what the API offers them (the catalog,
open times, holds and bookings)."""

from __future__ import annotations

from clinicflow.shared.actor import Actor
from clinicflow.shared.errors import Forbidden


def needs(actor: Actor, scope: str) -> None:
    if actor.kind == "client" and scope not in actor.scopes:
        raise Forbidden(f"this access token lacks the scope {scope}; ask for it at the token URL")
