"""The FHIR API's wiring: its SMART clients and tokens (the routes read the contexts' own
use cases, provided as the API's are)."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.bootstrap.core import Core
from clinicflow.fhir.smart.api import TOKEN_PATH
from clinicflow.fhir.smart.repository import SqlSmartUnitOfWork
from clinicflow.fhir.smart.service import SmartClients, SmartTokens
from clinicflow.infra.unit_of_work import Factory


@dataclass(frozen=True)
class SmartParts:
    clients: SmartClients
    tokens: SmartTokens


def wire_fhir(core: Core) -> SmartParts:
    uow = Factory(core.db, SqlSmartUnitOfWork)
    return SmartParts(
        clients=SmartClients(uow=uow, clock=core.clock),
        # The assertion's `aud` is this URL, as the smart-configuration document gives it.
        tokens=SmartTokens(
            uow=uow,
            clock=core.clock,
            http=core.http,
            token_url=core.settings.public_url.rstrip("/") + TOKEN_PATH,
        ),
    )
