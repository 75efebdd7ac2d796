"""What every context's wiring shares: the database, keys, audit trail, clock, catalog and
feature flags."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

import httpx

from clinicflow.bootstrap._keys import open_keys
from clinicflow.catalog import Catalog
from clinicflow.catalog.repository import SqlCatalogUnitOfWork
from clinicflow.catalog.service import LaunchState
from clinicflow.flags import FlagService
from clinicflow.flags.repository import SqlFlagsUnitOfWork
from clinicflow.infra import audit
from clinicflow.infra.audit_trail import AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.live_keys import LiveKeyRing
from clinicflow.infra.telemetry import instrument_engine, instrument_http_client, setup_tracing
from clinicflow.infra.unit_of_work import Factory
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock


@dataclass(frozen=True)
class Core:
    settings: Settings
    clock: Clock
    db: Database
    keys: KeyRing
    http: httpx.AsyncClient
    trail: AuditTrail
    launches: LaunchState
    loaded: Catalog  # the catalog as configured
    # `loaded` with the services launched at run time (POST /v1/services/{key}/launch) read
    # as active: every context sees the one launched set, cached per process.
    catalog: Catalog
    flags: FlagService  # read by payments (PayPal backup) and the waitlist (auto offers)


def open_core(
    settings: Settings,
    *,
    clock: Clock,
    catalog: Catalog,
    http: httpx.AsyncClient | None,
    keys: LiveKeyRing | None = None,
    db: Database | None = None,
) -> Core:
    db = db or Database(settings.database_url, echo=settings.sql_echo)
    # Refuses to start when stored data needs keys the file lacks (or the file is gone).
    keys = keys or open_keys(settings.database_url, settings.resolved_keys_file)
    audit.use_key(db, keys.audit_key)
    http = http or httpx.AsyncClient(timeout=10, verify=_tls())
    # Traces (every process builds here: serve, worker, CLI); idempotent per process.
    setup_tracing(settings)
    instrument_engine(db.engine)
    instrument_http_client(http)
    launches = LaunchState(
        uow=Factory(db, SqlCatalogUnitOfWork), ttl_seconds=settings.launch_cache_seconds
    )
    return Core(
        settings=settings,
        clock=clock,
        db=db,
        keys=keys,
        http=http,
        trail=AuditTrail(db=db, clock=clock),
        launches=launches,
        loaded=catalog,
        catalog=launches.catalog(catalog),
        flags=FlagService(uow=Factory(db, SqlFlagsUnitOfWork), clock=clock),
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """The outbound TLS context (certifi's CAs), loaded once per process: each load costs more
    than the rest of a container's build."""
    return httpx.create_ssl_context()
